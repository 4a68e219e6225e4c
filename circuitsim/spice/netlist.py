"""Netlists are plain ngspice decks in ``netlists/``; rendering one for a technology is pure text.

A source netlist uses the generic devices of the technology file (``nmos``, ``pmos``, ``mim``, geometry
in microns) and the supply parameter ``vdd_v``. :func:`render_deck` inserts, right after the title line,
the model library line for the corner, ``.temp``, ``.param vdd_v`` and the device wrapper subcircuits.
A netlist that uses standard cells says so in a comment line ``*@cells inv_1 dfrtp_1 ...`` (cell names
of the technology's cell library without its prefix, :meth:`Technology.standard_cells`): the header then
also includes those cells' SPICE files and short-name wrappers. A netlist on another supply domain of the
technology says so in ``*@domain NAME`` (e.g. ``3v3``, :meth:`Technology.for_domain`): it is rendered with
that domain's supply as ``vdd_v`` and its devices beside the core ones. The result runs by hand: ``ngspice rendered.cir``. With ``batch=STEM`` it also ends in a ``.control`` block
that runs the deck's analyses and writes their vectors with ``wrdata`` to ``STEM.data`` (one analysis) or
``STEM_<plot>.data`` (several: ``STEM_tran1.data``, ``STEM_dc1.data``), so ``ngspice -b deck.cir`` works.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from circuitsim import __version__
from circuitsim.config import project_root
from circuitsim.errors import NetlistError, TechnologyError
from circuitsim.technology import GENERIC_DEVICES, Technology

#: The last line :func:`render_deck` inserts; the source netlist's second line follows it.
HEADER_END = "* --- end of circuitsim header ---"

#: Analysis dot-commands and the ngspice plot each one creates (``tran`` -> ``tran1``, ``tran2``, ...).
_ANALYSIS_LINE = re.compile(r"^\.(tran|dc|op|ac|noise|tf|sens|pz|disto)\b", re.IGNORECASE)

#: The directive naming the standard cells a deck instantiates (a comment to ngspice).
_CELLS_LINE = re.compile(r"^\*@cells\s+(.*)$", re.IGNORECASE)

#: The directive naming the deck's supply domain (a comment to ngspice).
_DOMAIN_LINE = re.compile(r"^\*@domain\s+(\S+)\s*$", re.IGNORECASE)

_PARAM_LINE = re.compile(r"^\.param\s+([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(\S+)(.*)$", re.IGNORECASE)


def netlist_dir() -> Path:
    """The directory of shipped netlists."""
    return project_root() / "netlists"


@dataclass(frozen=True)
class Netlist:
    """A netlist source file: its name, text and SHA-256 (the text is what gets hashed)."""

    name: str
    path: Path
    text: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()

    def cells(self) -> list[str]:
        """The standard cells the deck asks for with ``*@cells`` lines, in order, each once."""
        found: list[str] = []
        for line in self.text.splitlines():
            m = _CELLS_LINE.match(line.strip())
            if m:
                found += [c for c in m.group(1).split() if c not in found]
        return found

    def domain(self) -> str:
        """The supply domain the deck names with ``*@domain NAME`` (``""``: the technology's core supply)."""
        found = [m.group(1) for m in map(_DOMAIN_LINE.match, (ln.strip() for ln in self.text.splitlines())) if m]
        if len(set(found)) > 1:
            raise NetlistError(f"netlist {self.name} names more than one supply domain ({', '.join(found)}); "
                               "a deck runs on one")
        return found[0] if found else ""

    def generic_devices(self) -> dict[str, int]:
        """{generic device (``nmos``, ``nmos_lvt``, ...) the deck instantiates: the line number of its first
        instance}; an instance line is ``x<name> <nodes> <device> [param=value ...]``."""
        found: dict[str, int] = {}
        for number, line in enumerate(self.text.splitlines(), start=1):
            tokens = line.split()
            if not tokens or tokens[0][0] not in "xX":
                continue
            names = [t for t in tokens[1:] if "=" not in t]
            device = names[-1].lower() if names else ""
            if device in GENERIC_DEVICES and device not in found:
                found[device] = number
        return found

    def declared_params(self) -> dict[str, str]:
        """``.param`` names and default values declared in the deck (lower-case names)."""
        out = {}
        for line in self.text.splitlines():
            m = _PARAM_LINE.match(line.strip())
            if m:
                out[m.group(1).lower()] = m.group(2)
        return out


def load_netlist(name_or_path: str | Path) -> Netlist:
    """Read ``netlists/<name>.cir`` or an explicit path; refuse unknown names with the valid ones."""
    candidate = Path(name_or_path)
    if candidate.is_file():
        path = candidate
    else:
        stem = candidate.name[:-4] if candidate.name.endswith(".cir") else candidate.name
        path = netlist_dir() / f"{stem}.cir"
        if not path.is_file():
            known = sorted(p.stem for p in netlist_dir().glob("*.cir"))
            raise NetlistError(
                f"netlist {str(name_or_path)!r} not found; shipped netlists: {', '.join(known) or 'none'}"
                " (or pass a path to a .cir file)"
            )
    return Netlist(path.stem, path.resolve(), _read_text(path))


def _read_text(path: Path) -> str:
    """The file's text (UTF-8); an unreadable or non-UTF-8 file is refused with the file and byte offset."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise NetlistError(f"cannot read netlist {path}: {exc.strerror or exc}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise NetlistError(
            f"netlist {path} is not UTF-8 text: byte 0x{data[exc.start]:02x} at byte offset {exc.start} "
            f"(line {line}, column {column}): {exc.reason}; save it as UTF-8 (or plain ASCII), e.g. from "
            f"Latin-1: iconv -f latin1 -t utf-8 {path} > fixed.cir"
        ) from None


def _format_param(value) -> str:
    return repr(float(value)) if isinstance(value, (int, float)) else str(value)


def _override_params(text: str, params: dict, netlist: Netlist) -> str:
    declared = netlist.declared_params()
    unknown = sorted(set(k.lower() for k in params) - set(declared))
    if unknown:
        raise NetlistError(
            f"netlist {netlist.name} declares no parameter {', '.join(unknown)}; "
            f"declared: {', '.join(sorted(declared)) or 'none'}"
        )
    wanted = {k.lower(): _format_param(v) for k, v in params.items()}
    lines = []
    for line in text.splitlines():
        m = _PARAM_LINE.match(line.strip())
        if m and m.group(1).lower() in wanted:
            line = f".param {m.group(1)}={wanted[m.group(1).lower()]}{m.group(3)}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def analysis_plots(text: str) -> list[str]:
    """The ngspice plots the deck's analysis lines create, in order: ``[".tran", ".dc"]`` -> ``["tran1", "dc1"]``."""
    counts: dict[str, int] = {}
    plots = []
    in_control = False
    for line in text.splitlines():
        stripped = line.strip().lower()
        if stripped.startswith(".control"):
            in_control = True
        elif stripped.startswith(".endc"):
            in_control = False
        elif not in_control:
            m = _ANALYSIS_LINE.match(stripped)
            if m:
                kind = m.group(1)
                counts[kind] = counts.get(kind, 0) + 1
                plots.append(f"{kind}{counts[kind]}")
    return plots


def batch_control(text: str, data_stem: str, vectors: list[str] | None = None, name: str = "deck") -> str:
    """The ``.control`` block of a batch deck: run every analysis, then ``wrdata`` each analysis's vectors
    (``vectors``, e.g. ``["v(out)", "i(vdd)"]``; default ``all``) to ``<data_stem>.data`` (one analysis) or
    ``<data_stem>_<plot>.data`` (several), and quit."""
    if re.search(r"^\s*\.control\b", text, re.IGNORECASE | re.MULTILINE):
        raise NetlistError(f"netlist {name} has its own .control block; render it without --batch")
    plots = analysis_plots(text)
    if not plots:
        raise NetlistError(f"netlist {name} has no analysis to run in batch; add .tran/.dc/.op/.ac before .end, "
                           "e.g. '.op' or '.tran 10p 10n'")
    wanted = " ".join(vectors) if vectors else "all"
    lines = [".control", "set wr_vecnames", "set wr_singlescale", "run"]
    for plot in plots:
        target = f"{data_stem}.data" if len(plots) == 1 else f"{data_stem}_{plot}.data"
        lines += [f"setplot {plot}", f"wrdata {target} {wanted}"]
    return "\n".join([*lines, "quit", ".endc"])


def _insert_before_end(body: str, block: str) -> str:
    """``block`` on its own lines before the deck's final ``.end`` (appended with an ``.end`` if none)."""
    lines = body.rstrip("\n").splitlines()
    for i in range(len(lines) - 1, -1, -1):
        if lines[i].strip().lower() == ".end":
            return "\n".join([*lines[:i], block, *lines[i:]]) + "\n"
    return "\n".join([*lines, block, ".end"]) + "\n"


def _cell_lines(netlist: Netlist, technology: Technology) -> list[str]:
    """Header lines for the deck's ``*@cells``: the library named, then its include block (none without cells)."""
    cells = netlist.cells()
    if not cells:
        return []
    library = technology.standard_cells()
    return [f"* standard cells from {library.name} (sha256 {library.sha256[:16]}): {' '.join(cells)}",
            library.include_block(cells)]


def _check_devices(netlist: Netlist, technology: Technology) -> None:
    """Refuse a netlist that instantiates a generic device the technology does not define, naming the
    device, the line and the fix."""
    for device, number in netlist.generic_devices().items():
        if device not in technology.devices:
            homes = [name for name, d in technology.domains().items() if device in (d or {}).get("devices", {})]
            if homes and not technology.domain:
                raise TechnologyError(
                    f"{netlist.name}.cir line {number} instantiates {device!r}, a device of the {homes[0]} supply "
                    f"domain of technology {technology.name}: name the domain in the deck (a line '*@domain "
                    f"{homes[0]}'), so it runs at that domain's supply")
            raise TechnologyError(
                f"{netlist.name}.cir line {number} instantiates the generic device {device!r}, which technology "
                f"{technology.name} does not define (its devices: {', '.join(technology.devices)}). Map it in the "
                f"technology file's devices: section, e.g. '{device}: {{same_as: {device.split('_')[0]}}}' to use "
                "the regular device, or a body with the PDK's own cell; or change the netlist")


def render_deck(
    netlist: Netlist,
    technology: Technology,
    corner: str,
    temp_c: float | None = None,
    *,
    mismatch: bool = False,
    vdd_v: float | None = None,
    params: dict | None = None,
    batch: str | None = None,
    vectors: list[str] | None = None,
) -> str:
    """A complete, hand-runnable ngspice deck for one technology, corner and temperature.

    ``mismatch=True`` selects the corner's mismatch section, in which every device's mismatch is
    re-drawn on each ``reset`` (Monte Carlo). Temperatures in degrees C, supply in V. ``batch`` (a file
    stem) appends the ``.control`` block of :func:`batch_control`, writing ``vectors`` (default all).
    """
    technology = technology.for_domain(netlist.domain())
    c = technology.corner(corner)
    _check_devices(netlist, technology)
    temp_c = technology.check_temperature(technology.nominal_temperature_c if temp_c is None else temp_c)
    vdd_v = technology.check_supply(technology.vdd_v if vdd_v is None else vdd_v)
    text = _override_params(netlist.text, params, netlist) if params else netlist.text
    title, _, body = text.partition("\n")
    section = c.mismatch_section if mismatch else c.section
    library = technology.model_library_path()
    lib_path = f'"{library}"' if " " in str(library) else str(library)
    header = [
        title,
        f"* rendered by circuitsim {__version__} from {netlist.name}.cir (sha256 {netlist.sha256[:16]})",
        f"* technology {technology.name} ({technology.pdk}), corner {c.name}: {c.description}; "
        f"{'mismatch (Monte Carlo) models' if mismatch else 'nominal models'}; {temp_c:g} C; VDD {vdd_v:g} V"
        + (f" ({technology.domain} supply domain)" if technology.domain else ""),
        f".lib {lib_path} {section}",
        f".temp {temp_c:g}",
        f".param vdd_v={vdd_v:g}",
        technology.wrapper_library(),
        *_cell_lines(netlist, technology),
        HEADER_END,
    ]
    if batch:
        body = _insert_before_end(body, batch_control(body, batch, vectors, netlist.name))
    return "\n".join(header) + "\n" + body

"""The ngspice session: PySpice's shared libngspice, driven directly (SPEC section 3).

One session per process (libngspice allows one instance). A deck is loaded once (one model-library load
per netlist, technology, corner and temperature); inside that load, analyses, ``alterparam`` + ``reset``
parameter sweeps and the seeded Monte Carlo loop run without reloading.

What ngspice says reaches the user. A rejected deck raises :class:`NetlistError` with ngspice's own words
and the deck line they point at. When ngspice gives up altogether ("ngspice.dll cannot recover and awaits
to be detached"; an unclosed ``{``, an ``l=`` with no value) the library is unloaded and loaded afresh, so
later decks in the same process still run (without that, the next load silently ends the process).

Trust in a result: an analysis whose output reports a singular matrix (a node with no DC path, a loop of
voltage sources) is refused, because whatever ngspice returns then (``1 mA`` into a capacitor gives
``1e9 V = I/gmin``) is an artefact of gmin, and the remedies below cannot fix it. ngspice's other warnings
of an analysis that succeeded (gmin or source stepping needed, ...) are kept in
:attr:`AnalysisRecord.warnings`; ``circuitsim spice run`` prints them with the result. A deck without an
analysis is refused rather than returning ngspice's constants as "node voltages".

Why one module of ~450 lines: everything that talks to the shared libngspice (load, reload after a fatal
error, running analyses, collecting and mapping ngspice's messages back to deck lines) must share its one
process-wide state.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field

import numpy as np

from circuitsim.errors import ConvergenceError, NetlistError, NgspiceMissingError, SpiceError
from circuitsim.spice.netlist import HEADER_END

NGSPICE_INSTALL = "apt-get update && apt-get install -y ngspice libngspice0 libngspice0-dev"

_CONVERGENCE_MARKERS = (
    "timestep too small",
    "gmin stepping failed",
    "source stepping failed",
    "iteration limit",
    "no convergence",
    "dc solution failed",
)
#: ngspice's words when it gives up on a deck; the library must then be unloaded and loaded again.
_FATAL_MARKER = "cannot recover"
#: ngspice's words for a deck without an analysis (``run`` then returns only the constants plot).
_NO_ANALYSIS_MARKER = "no job (tran, ac, op etc.) defined"
_SINGULAR_MARKER = "singular matrix"

#: Remedies for a non-converging analysis, tried in order (each on top of the previous ones).
REMEDIES = (
    ("gmin stepping (gminsteps=100)", "option gminsteps=100"),
    ("source stepping (srcsteps=100)", "option srcsteps=100"),
    ("relaxed tolerances (reltol=1e-2 abstol=1e-10 vntol=1e-4 itl1=500 itl2=200 itl4=100)",
     "option reltol=0.01 abstol=1e-10 vntol=1e-4 itl1=500 itl2=200 itl4=100"),
)
#: ngspice's documented defaults, restored after a remedy ladder so later analyses are not relaxed.
_DEFAULT_OPTIONS = "option gminsteps=10 srcsteps=10 reltol=0.001 abstol=1e-12 vntol=1e-6 itl1=100 itl2=50 itl4=10"


def _import_pyspice():
    # PySpice logs "Unsupported Ngspice version" and every stderr line at ERROR: we report errors ourselves.
    logging.getLogger("PySpice").setLevel(logging.CRITICAL)
    from PySpice.Spice.NgSpice import Shared

    return Shared


@dataclass
class AnalysisRecord:
    """What it took to get an analysis through: the remedies that were needed (empty if none)."""

    command: str
    remedies: list[str] = field(default_factory=list)
    #: ngspice's warnings of the attempt that was accepted (deduplicated, in order).
    warnings: list[str] = field(default_factory=list)


class SpiceSession:
    """A process-wide ngspice instance with error capture, load counting and convergence remedies."""

    _shared: "SpiceSession | None" = None
    _shared_pid: int | None = None
    #: Number of decks (model-library loads) this process has loaded; tests count it.
    loads = 0
    #: Number of times libngspice was unloaded and loaded again after ngspice gave up on a deck.
    reloads = 0

    @classmethod
    def shared(cls) -> "SpiceSession":
        """The session of this process (created on first use; a forked child gets its own)."""
        if cls._shared is None or cls._shared_pid != os.getpid():
            cls._shared = cls()
            cls._shared_pid = os.getpid()
        return cls._shared

    def __init__(self):
        # ngspice runs OpenMP threads by default; with two processes that costs 100x (SPEC section 3).
        os.environ.setdefault("OMP_NUM_THREADS", "1")
        shared = _import_pyspice()
        self._ffi = shared.ffi
        self._command_error = shared.NgSpiceCommandError
        try:
            self._ng = shared.NgSpiceShared.new_instance()
        except OSError as exc:
            raise NgspiceMissingError(
                f"libngspice could not be loaded ({exc}). Install it with: {NGSPICE_INSTALL} "
                "(the -dev package provides the unversioned libngspice.so that PySpice opens), or point "
                "PySpice at a custom build with NGSPICE_LIBRARY_PATH=/path/to/libngspice.so"
            ) from None
        self._configure()
        self.deck: str | None = None
        self.deck_name = ""
        #: ngspice's warnings while loading the current deck (``Warning: Model issue on line ...``).
        self.load_warnings: list[str] = []
        self.records: list[AnalysisRecord] = []

    def _configure(self) -> None:
        for cmd in ("set ngbehavior=hsa", "set ng_nomodcheck", "set num_threads=1"):
            self._ng.exec_command(cmd)

    def _reload(self) -> None:
        """Unload libngspice and load it afresh (after ngspice gave up, its state is unusable)."""
        ng = self._ng
        self.deck = None
        try:
            self._ffi.dlclose(ng._ngspice_shared)
            ng._ngspice_shared = self._ffi.dlopen(ng.library_path)
            if not isinstance(ng._ngspice_id, int):  # PySpice keeps the id as an int* after the first init
                ng._ngspice_id = int(ng._ngspice_id[0])
            ng._init_ngspice(False)
            self._configure()
        except Exception as exc:
            SpiceSession._shared = None
            raise SpiceError(
                f"libngspice could not be loaded again after ngspice gave up on {self.deck_name} ({exc}); "
                "start a new process"
            ) from None
        SpiceSession.reloads += 1

    def _exec(self, cmd: str) -> str:
        """``exec_command``, reloading libngspice if ngspice gives up on the command."""
        try:
            return self._ng.exec_command(cmd)
        except NameError as exc:  # PySpice: "ngSpice_Command ... returned 1"
            lines = self._output()
            if not any(_FATAL_MARKER in ln.lower() for ln in lines):
                raise self._command_error(str(exc)) from None
            self._reload()
            raise SpiceError(f"ngspice gave up on {cmd!r} in {self.deck_name}:\n{_tail(lines)}") from None

    # -- low level ----------------------------------------------------------------------------------
    @property
    def ngspice_version(self) -> str:
        """e.g. ``ngspice-39``."""
        text = self._ng.exec_command("version -s")
        m = re.search(r"ngspice-\S+", text)
        return m.group(0) if m else text.strip().splitlines()[0]

    def _output(self) -> list[str]:
        return [*self._ng._stdout, *self._ng._stderr]

    def command(self, cmd: str) -> str:
        """Run one ngspice command; a failure raises :class:`SpiceError` with ngspice's own words."""
        try:
            return self._exec(cmd)
        except self._command_error:
            lines = self._output()
            # PySpice treats any stderr text as failure; only real errors count here.
            if not any(_is_error(line) for line in lines):
                return "\n".join(self._ng._stdout)
            raise SpiceError(f"ngspice command {cmd!r} failed in {self.deck_name}:\n" + _tail(lines)) from None

    # -- loading --------------------------------------------------------------------------------------
    def load(self, deck: str, name: str = "netlist") -> None:
        """Load a rendered deck, replacing the previous one. A netlist error names the offending line."""
        if self.deck is not None:
            self._ng.exec_command("remcirc")
            self.deck = None
        self.deck_name = name
        self.load_warnings = []
        gave_up = False
        try:
            # PySpice drops empty lines; a comment keeps ngspice's line numbers those of the deck.
            self._ng.load_circuit("\n".join(ln if ln else "*" for ln in deck.splitlines()))
        except NameError:  # "ngSpice_Circ returned 1": ngspice gave up on the deck
            gave_up = True
        except Exception:  # PySpice raises NgSpiceCircuitError with an empty message; we read the output
            pass
        lines = self._output()
        gave_up = gave_up or any(_FATAL_MARKER in ln.lower() for ln in lines)
        if gave_up:
            self._reload()
        if gave_up or any(_is_error(ln) for ln in lines):
            raise NetlistError(_netlist_message(name, deck, lines))
        self.load_warnings = _warning_lines(lines)
        self.deck = deck
        SpiceSession.loads += 1

    def deck_param(self, name: str) -> float:
        """The value of a numeric ``.param`` of the loaded deck (the last definition wins, as in ngspice)."""
        values = re.findall(rf"^\.param\s+{re.escape(name)}\s*=\s*([-+0-9.eE]+)\s*$", self.deck or "",
                            re.MULTILINE | re.IGNORECASE)
        if not values:
            raise SpiceError(f"the loaded deck {self.deck_name} has no numeric .param {name}")
        return float(values[-1])

    def reset(self) -> None:
        """Re-initialise the circuit; in a mismatch section this re-draws every device's mismatch."""
        self.command("reset")

    def set_seed(self, seed: int) -> None:
        """Seed ngspice's random generator (the next ``reset`` draws mismatch from it)."""
        self.command(f"setseed {int(seed)}")

    # -- analyses -------------------------------------------------------------------------------------
    def analyse(self, cmd: str, *, point: str = "", tran_max_step_s: float | None = None) -> AnalysisRecord:
        """Run an analysis command (``op``, ``dc ...``, ``tran ...``, ``ac ...``) with convergence remedies.

        On non-convergence the remedies in :data:`REMEDIES` are tried in turn, then (for ``tran``) a
        max step of a tenth of the print step. ``point`` names the sweep point for the error message.
        """
        record = AnalysisRecord(cmd)
        self.command("destroy all")
        first = self._try(cmd, point)
        if first is None:
            record.warnings = self._warnings()
            return record
        attempts = [f"as given: {first}"]
        commands = [(d, opt, cmd) for d, opt in REMEDIES]
        if cmd.split()[0].lower() == "tran":
            commands.append(("smaller max step", None, _with_max_step(cmd, tran_max_step_s)))
        try:
            for description, option, analysis in commands:
                if option:
                    self.command(option)
                self.command("destroy all")
                failure = self._try(analysis, point)
                record.remedies.append(description)
                if failure is None:
                    record.warnings = self._warnings()
                    self.records.append(record)
                    return record
                attempts.append(f"{description}: {failure}")
        finally:
            self.command(_DEFAULT_OPTIONS)
        raise ConvergenceError(
            f"{cmd!r} did not converge in {self.deck_name}{' at ' + point if point else ''}. Tried:\n  "
            + "\n  ".join(attempts)
        )

    def _try(self, cmd: str, point: str = "") -> str | None:
        """Run ``cmd``; None on success, else the convergence failure text. Other errors raise, and so do
        a deck without an analysis (:class:`NetlistError`) and a singular matrix (:class:`ConvergenceError`:
        a remedy would only "converge" to the gmin-set value from the previous attempt's solution)."""
        try:
            self._exec(cmd)
            failed = False
        except self._command_error:
            failed = True
        lines = self._output()
        lower = " ".join(lines).lower()
        if _NO_ANALYSIS_MARKER in lower:
            raise NetlistError(
                f"the deck {self.deck_name} has no analysis (ngspice: \"No job (tran, ac, op etc.) defined\", "
                "so it would print only its constants); add .tran/.dc/.op/.ac to the netlist before .end, "
                "e.g. '.op' or '.tran 10p 10n'"
            )
        if _SINGULAR_MARKER in lower:
            nodes = sorted(set(re.findall(r"singular matrix:\s*check node (\S+)", lower)))
            raise ConvergenceError(
                f"{cmd!r} in {self.deck_name}{' at ' + point if point else ''} has no trustworthy solution: "
                f"ngspice reports a singular matrix{' at node ' + ', '.join(nodes) if nodes else ''}, i.e. a "
                "node with no DC path to ground (a current source into a capacitor, a node only between "
                "capacitors or MOS gates) or a loop of voltage sources; what ngspice returns then is set by "
                "gmin, not by the circuit. Give the node a DC path (e.g. a 1G resistor to ground), or start "
                "a transient from .ic values with 'uic'. ngspice said:\n"
                + _tail(_warning_lines(lines), 8)
            )
        if not failed:
            return None
        if any(marker in lower for marker in _CONVERGENCE_MARKERS):
            return "; ".join(ln.strip() for ln in lines if _is_error(ln) or "failed" in ln.lower())[-400:]
        if not any(_is_error(line) for line in lines):
            return None
        raise SpiceError(f"ngspice {cmd!r} failed in {self.deck_name}:\n" + _tail(lines))

    def _warnings(self) -> list[str]:
        """ngspice's warnings of the last command (deduplicated, in order)."""
        return _warning_lines(self._output())

    # -- results --------------------------------------------------------------------------------------
    @property
    def plot_name(self) -> str:
        """Name of the current plot (``op1``, ``tran2``, ...; ``const`` when no analysis has run)."""
        return self._ng.last_plot

    def vector(self, name: str) -> np.ndarray:
        """One vector of the current plot as a float64 array (complex128 for AC). Names as ngspice's."""
        info = self._ng._ngspice_shared.ngGet_Vec_Info(name.lower().encode("ascii"))
        if info == self._ffi.NULL or info.v_length == 0:
            names = ", ".join(self.vector_names())
            raise SpiceError(f"no vector {name!r} in the current plot of {self.deck_name}; vectors: {names}")
        n = info.v_length
        if info.v_realdata != self._ffi.NULL:
            return np.frombuffer(self._ffi.buffer(info.v_realdata, 8 * n), dtype=np.float64).copy()
        raw = np.frombuffer(self._ffi.buffer(info.v_compdata, 16 * n), dtype=np.float64)
        return raw[0::2] + 1j * raw[1::2]

    def vector_names(self) -> list[str]:
        """Names of the vectors in the current plot."""
        plot = self._ng.last_plot
        return [name.lower() for name in self._ng._convert_string_array(
            self._ng._ngspice_shared.ngSpice_AllVecs(plot.encode("ascii")))]


def _is_error(line: str) -> bool:
    low = line.strip().lower()
    if low.startswith("circuit: "):  # ngspice echoing the deck's title
        return False
    return (
        low.startswith("error")
        or "could not find a valid modelname" in low
        or "unknown subckt" in low
        or "unknown model" in low
        or "aborted" in low
    )


def _tail(lines: list[str], n: int = 12) -> str:
    return "\n".join("  " + ln.rstrip() for ln in lines[-n:])


def _dedupe(lines) -> list[str]:
    return list(dict.fromkeys(ln.strip() for ln in lines if ln.strip()))


def _warning_lines(lines: list[str]) -> list[str]:
    """ngspice's ``Warning: ...`` messages (gmin stepping runs several into one line; one that ends in a
    colon continues on the next two lines, as ``Warning: Model issue on line 26 :`` does)."""
    out = []
    for i, line in enumerate(lines):
        for fragment in re.split(r"(?=Warning|Note:|Trying gmin|Supplies reduced)", line):
            fragment = " ".join(fragment.split())
            if not fragment.lower().startswith("warning"):
                continue
            if fragment.endswith(":"):
                fragment = " ".join([fragment, *(" ".join(ln.split()) for ln in lines[i + 1:i + 3])])
            out.append(fragment)
    return _dedupe(out)


#: The headers with which ngspice names a deck line: ``Netlist line no. 23:``, ``Error on line 27 ...``.
_LINE_HEADER = re.compile(r"^(?:netlist line no\.\s*(\d+)\s*:|error on line\s+(\d+)\b)", re.IGNORECASE)
#: ngspice's lines that say nothing about the problem.
_NOISE = ("please check your input netlist", "numparam warning", _FATAL_MARKER, "note: compatibility modes",
          "circuit: ", "option scale")


def _netlist_message(name: str, deck: str, lines: list[str]) -> str:
    """ngspice's own words about the first deck line it names, plus that line of the deck."""
    deck_lines = deck.splitlines()
    number, words = _first_complaint(lines)
    if number is not None and number <= len(deck_lines):
        offending = (number, deck_lines[number - 1].strip())
        # "Error on line N or its substitute:" echoes the line; keep the echo only if it says more.
        words = [w for w in words if w.lower() != offending[1].lower()]
    else:
        offending = _offending_deck_line(deck, lines)
    if not words:
        words = _dedupe(ln for ln in lines if _is_error(ln) or ln.lower().startswith("warning, can't find"))
        if len(words) > 1:
            words = [w for w in words if _FATAL_MARKER not in w.lower()]
    text = f"ngspice rejected netlist {name}:\n  " + "\n  ".join(words[:10])
    if offending:
        text += f"\noffending {_where(name, deck_lines, offending[0])}: {offending[1]}"
    return text


def _first_complaint(lines: list[str]) -> tuple[int | None, list[str]]:
    """The first deck line number (> 0) that ngspice names and its words about it; (None, []) if none."""
    number, current, words = None, None, []
    for ln in lines:
        m = _LINE_HEADER.match(ln.strip())
        if m:
            current = int(m.group(1) or m.group(2))
            if number is None and current > 0:
                number = current
            continue
        if number is not None and current == number and not any(n in ln.lower() for n in _NOISE):
            words.append(ln)
    return number, _dedupe(words)


def _where(name: str, deck_lines: list[str], number: int) -> str:
    """``line 2 of brace.cir (line 23 of the rendered deck)``: the source line behind a rendered one."""
    try:
        header_end = deck_lines.index(HEADER_END) + 1
    except ValueError:
        return f"line {number} of the deck"
    if number == 1 or number > header_end:
        source = 1 if number == 1 else number - header_end + 1
        return f"line {source} of {name}.cir (line {number} of the rendered deck)"
    return f"line {number} of the rendered deck (circuitsim's header)"


def _offending_deck_line(deck: str, lines: list[str]):
    """The deck line of the instance ngspice names (``unknown subckt: xbad ...``), if any."""
    candidates = []
    for i, ln in enumerate(lines):
        low = ln.strip().lower()
        if low.startswith("error on line") and i + 1 < len(lines):
            candidates.append(lines[i + 1].split()[0] if lines[i + 1].split() else "")
        elif "unknown subckt:" in low:
            candidates.append(low.split("unknown subckt:")[1].split()[0])
    for token in filter(None, candidates):
        parts = token.lower().split(".")
        top = token.lower() if token.startswith(".") else parts[1] if len(parts) > 1 and len(parts[0]) == 1 \
            else parts[0]
        for number, deck_line in enumerate(deck.splitlines(), start=1):
            if deck_line.strip().lower().split(" ")[0] == top:
                return number, deck_line.strip()
    return None


def _with_max_step(cmd: str, max_step_s: float | None) -> str:
    """``tran tstep tstop [tstart [tmax]] [uic]`` with tmax set to ``max_step_s`` (default tstep/10)."""
    tokens = cmd.split()
    uic = [t for t in tokens if t.lower() == "uic"]
    nums = [t for t in tokens[1:] if t.lower() != "uic"]
    tstep = _spice_number(nums[0])
    tstart = nums[2] if len(nums) > 2 else "0"
    tmax = max_step_s if max_step_s is not None else tstep / 10
    return " ".join(["tran", nums[0], nums[1], tstart, repr(tmax), *uic])


_SUFFIX = {"t": 1e12, "g": 1e9, "meg": 1e6, "k": 1e3, "m": 1e-3, "u": 1e-6, "n": 1e-9, "p": 1e-12, "f": 1e-15}


def _spice_number(token: str) -> float:
    """Parse a SPICE number with an engineering suffix (``10p``, ``2.5n``, ``1meg``)."""
    m = re.fullmatch(r"([-+]?[0-9.]+(?:e[-+]?\d+)?)([a-z]*)", token.lower())
    if not m:
        raise ValueError(f"not a SPICE number: {token!r}")
    suffix = m.group(2)
    scale = _SUFFIX["meg"] if suffix.startswith("meg") else _SUFFIX.get(suffix[:1], 1.0) if suffix else 1.0
    return float(m.group(1)) * scale

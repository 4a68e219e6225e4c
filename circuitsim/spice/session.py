"""The ngspice session: PySpice's shared libngspice, driven directly (SPEC section 3).

One session per process (libngspice allows one instance). A deck is loaded once (one model-library load
per netlist, technology, corner and temperature); inside that load, analyses, ``alterparam`` + ``reset``
parameter sweeps and the seeded Monte Carlo loop run without reloading.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field

import numpy as np

from circuitsim.errors import ConvergenceError, NetlistError, NgspiceMissingError, SpiceError

NGSPICE_INSTALL = "apt-get update && apt-get install -y ngspice libngspice0 libngspice0-dev"

_CONVERGENCE_MARKERS = (
    "timestep too small",
    "gmin stepping failed",
    "source stepping failed",
    "iteration limit",
    "no convergence",
    "dc solution failed",
    "singular matrix",
)

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


class SpiceSession:
    """A process-wide ngspice instance with error capture, load counting and convergence remedies."""

    _shared: "SpiceSession | None" = None
    _shared_pid: int | None = None
    #: Number of decks (model-library loads) this process has loaded; tests count it.
    loads = 0

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
        for cmd in ("set ngbehavior=hsa", "set ng_nomodcheck", "set num_threads=1"):
            self._ng.exec_command(cmd)
        self.deck: str | None = None
        self.deck_name = ""
        self.records: list[AnalysisRecord] = []

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
            return self._ng.exec_command(cmd)
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
        try:
            self._ng.load_circuit(deck)
        except Exception:  # PySpice raises NgSpiceCircuitError with an empty message; we read the output
            pass
        lines = self._output()
        errors = [ln for ln in lines if _is_error(ln)]
        if errors:
            raise NetlistError(_netlist_message(name, deck, lines))
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
        first = self._try(cmd)
        if first is None:
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
                failure = self._try(analysis)
                record.remedies.append(description)
                if failure is None:
                    self.records.append(record)
                    return record
                attempts.append(f"{description}: {failure}")
        finally:
            self.command(_DEFAULT_OPTIONS)
        raise ConvergenceError(
            f"{cmd!r} did not converge in {self.deck_name}{' at ' + point if point else ''}. Tried:\n  "
            + "\n  ".join(attempts)
        )

    def _try(self, cmd: str) -> str | None:
        """Run ``cmd``; None on success, else the convergence failure text (other errors raise)."""
        try:
            self._ng.exec_command(cmd)
            return None
        except self._command_error:
            lines = self._output()
            lower = " ".join(lines).lower()
            if any(marker in lower for marker in _CONVERGENCE_MARKERS):
                return "; ".join(ln.strip() for ln in lines if _is_error(ln) or "failed" in ln.lower())[-400:]
            if not any(_is_error(line) for line in lines):
                return None
            raise SpiceError(f"ngspice {cmd!r} failed in {self.deck_name}:\n" + _tail(lines)) from None

    # -- results --------------------------------------------------------------------------------------
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
    return (
        low.startswith("error")
        or "could not find a valid modelname" in low
        or "unknown subckt" in low
        or "unknown model" in low
        or "aborted" in low
    )


def _tail(lines: list[str], n: int = 12) -> str:
    return "\n".join("  " + ln.rstrip() for ln in lines[-n:])


def _netlist_message(name: str, deck: str, lines: list[str]) -> str:
    """ngspice's error text plus the deck line it points at (found by the top-level instance name)."""
    messages = [ln.strip() for ln in lines if _is_error(ln) or ln.lower().startswith("warning, can't find")]
    offending = _offending_deck_line(deck, lines)
    text = f"ngspice rejected netlist {name}:\n  " + "\n  ".join(dict.fromkeys(messages))
    if offending:
        text += f"\noffending line {offending[0]} of the rendered deck: {offending[1]}"
    return text


def _offending_deck_line(deck: str, lines: list[str]):
    candidates = []
    for i, ln in enumerate(lines):
        low = ln.strip().lower()
        if low.startswith("error on line") and i + 1 < len(lines):
            candidates.append(lines[i + 1].split()[0] if lines[i + 1].split() else "")
        elif "unknown subckt:" in low:
            candidates.append(low.split("unknown subckt:")[1].split()[0])
    for token in candidates:
        parts = token.lower().split(".")
        top = parts[1] if len(parts) > 1 and len(parts[0]) == 1 else parts[0]
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

"""User-facing errors. Each message says what went wrong and what to do about it; the CLI prints the
message (no traceback) and exits non-zero."""


class CircuitsimError(Exception):
    """Base class of every error a user can cause or fix."""


class TechnologyError(CircuitsimError):
    """Unknown technology or corner, missing model library, supply or temperature out of range."""


class InputRangeError(CircuitsimError, ValueError):
    """A value outside the range a model or a circuit accepts."""


class SpiceError(CircuitsimError):
    """Anything that goes wrong between circuitsim and ngspice."""


class NgspiceMissingError(SpiceError):
    """libngspice cannot be loaded."""


class NetlistError(SpiceError):
    """ngspice rejected a netlist; the message carries ngspice's own words and the offending line."""


class ConvergenceError(SpiceError):
    """An analysis did not converge after every remedy was tried."""


class ArtifactError(CircuitsimError):
    """A calibration artifact is missing, incomplete, or does not match its recorded content hash."""


class UnknownBlockError(CircuitsimError):
    """A block name that is not in the registry."""

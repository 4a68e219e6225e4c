"""The one vocabulary of model modes, shared by every block, the sensor chains and the torch layers.

``Mode`` names the LeCA training modalities (ideal / hard / noisy):

- ``ideal``: the transfer without the calibrated non-idealities (identity, straight line, LeCA Eq. 3);
- ``hard``:  the calibrated deterministic transfer (SPICE LUTs: gain, offset, non-linearity, injection);
- ``noisy``: ``hard`` plus the random terms (Monte Carlo mismatch σ, kT/C and other temporal noise).

What each mode means for a block is stated in that block's docstring. Parameters accept a :class:`Mode`
or its string (``"hard"``); :meth:`Mode.parse` turns either into a ``Mode`` and refuses anything else with
the valid names. ``Mode`` is a ``str`` enum, so ``params.mode == "hard"`` still holds.

Numba kernels take the integer :attr:`Mode.code`: :data:`IDEAL_CODE` = 0, :data:`HARD_CODE` = 1,
:data:`NOISY_CODE` = 2, the same mapping in every kernel (the codes are ordered: ``code >= HARD_CODE``
means "the calibrated tables apply").
"""

from __future__ import annotations

import enum

from circuitsim.errors import InputRangeError

#: Integer codes of the modes in every numba kernel (stable: kernels are compiled against them).
IDEAL_CODE = 0
HARD_CODE = 1
NOISY_CODE = 2


class Mode(str, enum.Enum):
    """Model mode of a block or chain: ``IDEAL``, ``HARD`` or ``NOISY`` (see the module docstring)."""

    IDEAL = "ideal"
    HARD = "hard"
    NOISY = "noisy"

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)

    @property
    def code(self) -> int:
        """The integer code numba kernels take (:data:`IDEAL_CODE`, :data:`HARD_CODE`, :data:`NOISY_CODE`)."""
        return _CODES[self]

    @classmethod
    def parse(cls, value, where: str = "mode") -> "Mode":
        """``value`` (a Mode or its name, e.g. ``"hard"``) as a Mode; anything else raises
        :class:`~circuitsim.errors.InputRangeError` naming ``where`` and the valid modes."""
        if isinstance(value, cls):
            return value
        try:
            return cls(value)
        except (ValueError, TypeError):
            pass
        hint = " ('soft' is now called 'ideal')" if value == "soft" else ""
        raise InputRangeError(f"{where} must be one of {', '.join(m.value for m in cls)}, got {value!r}{hint}")


_CODES = {Mode.IDEAL: IDEAL_CODE, Mode.HARD: HARD_CODE, Mode.NOISY: NOISY_CODE}


def parse_field(params, name: str = "mode", allowed: tuple[Mode, ...] | None = None) -> None:
    """Replace the string in field ``name`` of a frozen dataclass by its :class:`Mode` (for ``__post_init__``);
    ``allowed`` narrows the valid modes (e.g. a transfer that has no random term)."""
    mode = Mode.parse(getattr(params, name), name)
    if allowed is not None and mode not in allowed:
        raise InputRangeError(f"{name} must be one of {', '.join(m.value for m in allowed)}, got {mode.value!r}")
    object.__setattr__(params, name, mode)

"""Measurements on simulated waveforms: supply energy over a window and settling time."""

from __future__ import annotations

import numpy as np

from circuitsim.errors import InputRangeError


def _window(time_s: np.ndarray, values: np.ndarray, t0_s: float, t1_s: float):
    """Samples of ``values`` on [t0, t1], with the two end points interpolated exactly.

    An end point within 0.1 % of the window length outside the simulated time (ngspice starts a ``uic``
    transient at 1e-13 s, not 0) is taken as the first / last sample.
    """
    slack = 1e-3 * (t1_s - t0_s)
    if time_s[0] - slack <= t0_s < time_s[0]:
        t0_s = time_s[0]
    if time_s[-1] < t1_s <= time_s[-1] + slack:
        t1_s = time_s[-1]
    if not time_s[0] <= t0_s < t1_s <= time_s[-1]:
        raise InputRangeError(
            f"window [{t0_s:.4g}, {t1_s:.4g}] s is not inside the simulated time "
            f"[{time_s[0]:.4g}, {time_s[-1]:.4g}] s"
        )
    inside = (time_s > t0_s) & (time_s < t1_s)
    t = np.concatenate(([t0_s], time_s[inside], [t1_s]))
    v = np.concatenate(([np.interp(t0_s, time_s, values)], values[inside], [np.interp(t1_s, time_s, values)]))
    return t, v


def supply_energy_J(time_s, branch_current_a, supply_v: float, window_s=None) -> float:
    """Energy a DC supply delivers over a window, E = ∫ V_supply · (−I_branch) dt  [J].

    ngspice reports the current flowing *into* a voltage source's positive terminal, so a source that
    delivers power has a negative branch current; hence the minus sign. ``window_s`` = (t0, t1) in s;
    the whole waveform when omitted.
    """
    time_s = np.asarray(time_s, dtype=float)
    current = np.asarray(branch_current_a, dtype=float)
    if window_s is not None:
        time_s, current = _window(time_s, current, *window_s)
    return float(np.trapezoid(-supply_v * current, time_s))


def source_energy_J(time_s, voltage_v, branch_current_a, window_s=None) -> float:
    """Energy delivered by a source whose voltage varies, E = ∫ V(t) · (−I(t)) dt  [J]."""
    time_s = np.asarray(time_s, dtype=float)
    power = -np.asarray(voltage_v, dtype=float) * np.asarray(branch_current_a, dtype=float)
    if window_s is not None:
        time_s, power = _window(time_s, power, *window_s)
    return float(np.trapezoid(power, time_s))


def settling_time_s(time_s, signal, t_start_s: float, tolerance: float, final=None, t_end_s=None) -> float:
    """Time after ``t_start_s`` at which ``signal`` enters and stays within ``tolerance`` of its final value.

    ``final`` defaults to the signal's value at ``t_end_s`` (the end of the waveform when omitted).
    Returns NaN when the signal is still outside the band at ``t_end_s`` (it has not settled).
    Units follow the inputs: seconds for time, the signal's unit for ``tolerance``.
    """
    time_s = np.asarray(time_s, dtype=float)
    signal = np.asarray(signal, dtype=float)
    t_end_s = time_s[-1] if t_end_s is None else t_end_s
    mask = (time_s >= t_start_s) & (time_s <= t_end_s)
    t, v = time_s[mask], signal[mask]
    if final is None:
        final = np.interp(t_end_s, time_s, signal)
    outside = np.nonzero(np.abs(v - final) > tolerance)[0]
    if outside.size == 0:
        return 0.0
    last = outside[-1]
    if last == len(t) - 1:
        return float("nan")
    # linear interpolation of the crossing back into the band between the last outside sample and the next
    t_a, t_b, v_a, v_b = t[last], t[last + 1], v[last], v[last + 1]
    edge = final + np.sign(v_a - final) * tolerance
    frac = 0.0 if v_b == v_a else np.clip((edge - v_a) / (v_b - v_a), 0.0, 1.0)
    return float(t_a + frac * (t_b - t_a) - t_start_s)

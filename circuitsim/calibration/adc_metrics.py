"""ADC figures of merit (SPEC 4.6): DNL/INL from a code-density test, ENOB from a coherent sine test, and
the Walden and Schreier figures of merit that place an ADC against the Murmann survey.

Definitions (codes 0 .. L−1, L levels; for an N-bit ADC L = 2^N, for the 1.5-bit mode L = 3):

- Code density with a uniform ramp over the full scale: H[k] hits of code k. The end codes are open
  (they also collect the over-range), so DNL[k] = H[k] / mean(H[1:L−1]) − 1 for k = 1 .. L−2 [LSB];
  INL = cumulative sum of DNL, end-point corrected (straight line through the first and last inner code).
- Coherent sine: M samples, J cycles with gcd(J, M) = 1, so every bin of a rectangular-window FFT holds
  either the signal or error; SNDR = P_signal / (P_total − P_dc − P_signal) over bins 1 .. M/2;
  ENOB = (SNDR_dB − 1.76) / 6.02.
- Walden: FoM_W = E_conversion / 2^ENOB  [J per conversion-step].
- Schreier: FoM_S = SNDR_dB + 10·log10(BW / P) with BW = f_s / 2 and P = E_conversion·f_s, i.e.
  SNDR_dB + 10·log10(1 / (2·E_conversion))  [dB].
"""

from __future__ import annotations

from math import gcd

import numpy as np


def ramp_inputs_v(v_lo_v: float, v_hi_v: float, levels: int, per_code: int) -> np.ndarray:
    """A uniform ramp of ``levels·per_code`` points over [v_lo, v_hi], each point at the centre of its own
    sub-interval, so an ideal quantizer with equal code widths gets exactly ``per_code`` hits per code."""
    if v_hi_v <= v_lo_v or levels < 2 or per_code < 1:
        raise ValueError("need v_hi_v > v_lo_v, levels >= 2 and per_code >= 1")
    n = levels * per_code
    return v_lo_v + (np.arange(n) + 0.5) * (v_hi_v - v_lo_v) / n


def code_density(codes, levels: int) -> tuple[np.ndarray, np.ndarray]:
    """DNL and INL (LSB) of the inner codes 1 .. L−2 from the code histogram of a uniform ramp.

    ``codes``: integer codes of one ADC instance. Returns arrays of length L−2 (codes 1 .. L−2).
    A missing code shows as DNL = −1.
    """
    if levels < 3:
        raise ValueError(f"code density needs at least 3 levels (inner codes), got {levels}")
    hist = np.bincount(np.asarray(codes, np.int64).ravel(), minlength=levels)[:levels].astype(float)
    inner = hist[1:levels - 1]
    mean = inner.mean()
    if mean == 0:
        raise ValueError("no hits on the inner codes: the ramp does not cover the full scale")
    dnl = inner / mean - 1.0
    inl = np.cumsum(dnl)
    # end-point correction: remove the straight line through the first and last inner points
    line = np.linspace(inl[0], inl[-1], inl.size)
    return dnl, inl - line


def coherent_cycles(n_samples: int, approx_cycles: int) -> int:
    """The cycle count nearest ``approx_cycles`` that is coprime with ``n_samples`` (odd for M = 2^k)."""
    for d in range(n_samples):
        for j in (approx_cycles - d, approx_cycles + d):
            if 0 < j < n_samples // 2 and gcd(j, n_samples) == 1:
                return j
    raise ValueError(f"no coprime cycle count for {n_samples} samples")


def sine_inputs_v(n_samples: int, cycles: int, amplitude_v: float, offset_v: float = 0.0) -> np.ndarray:
    """Coherent sine x[m] = offset + A·sin(2π·J·m/M + φ) with a small phase φ (no sample on a zero crossing)."""
    m = np.arange(n_samples)
    return offset_v + amplitude_v * np.sin(2 * np.pi * cycles * m / n_samples + 0.1234)


def sndr_db(samples, cycles: int) -> float:
    """SNDR (dB) of a coherently sampled sine: signal bin J against every other bin but DC (rectangular window)."""
    x = np.asarray(samples, float)
    m = x.size
    spectrum = np.abs(np.fft.rfft(x)) ** 2
    spectrum[1:] *= 2  # one-sided power (Nyquist bin doubled too; negligible for the ratio)
    if m % 2 == 0:
        spectrum[-1] /= 2
    signal = spectrum[cycles]
    noise = spectrum[1:].sum() - signal
    if noise <= 0:
        return float("inf")
    return float(10 * np.log10(signal / noise))


def enob_bits(sndr: float) -> float:
    """ENOB = (SNDR_dB − 1.76) / 6.02."""
    return (sndr - 1.76) / 6.02


def walden_fom_J(energy_per_conversion_J: float, enob: float) -> float:
    """Walden FoM = E_conversion / 2^ENOB  [J per conversion-step]."""
    return float(energy_per_conversion_J / 2.0 ** enob)


def schreier_fom_db(sndr: float, energy_per_conversion_J: float) -> float:
    """Schreier FoM = SNDR + 10·log10(BW/P) with BW = f_s/2, P = E·f_s: SNDR + 10·log10(1/(2·E))  [dB]."""
    if not energy_per_conversion_J > 0:
        return float("nan")  # no energy model: the figure is undefined, not infinite
    return float(sndr + 10 * np.log10(1.0 / (2.0 * energy_per_conversion_J)))


def transition_levels_v(codes_of, edges, v_lo_v: float, v_hi_v: float, tol_v: float) -> np.ndarray:
    """Transition levels T_k (V) of a monotone converter: for each edge k, the lowest input whose code is
    ≥ k, by bisection on [v_lo, v_hi] to a bracket of ``tol_v`` (its midpoint is returned). ``codes_of``
    maps an array of inputs to codes; all edges are bisected together, one call per step. An edge outside
    the interval (code ≥ k already at v_lo, or never by v_hi) is refused."""
    k = np.asarray(edges, np.int64).ravel()
    lo = np.full(k.size, float(v_lo_v))
    hi = np.full(k.size, float(v_hi_v))
    if np.any(np.asarray(codes_of(lo)) >= k) or np.any(np.asarray(codes_of(hi)) < k):
        raise ValueError(f"an edge of {k.tolist()} lies outside [{v_lo_v}, {v_hi_v}] V")
    for _ in range(int(np.ceil(np.log2((v_hi_v - v_lo_v) / tol_v)))):
        mid = 0.5 * (lo + hi)
        above = np.asarray(codes_of(mid)) >= k
        hi = np.where(above, mid, hi)
        lo = np.where(above, lo, mid)
    return 0.5 * (lo + hi)


def edge_linearity(edges, levels_v, lsb_v: float) -> dict:
    """DNL and INL (LSB) from measured transition levels T_k (a subset of edges k is allowed).

    LSB' = (T_hi − T_lo)/(k_hi − k_lo), the end-point line's slope per code through the lowest and highest
    measured edges (``lsb_v`` when only one edge is given), so an attenuation (gain) error and an offset count
    as neither DNL nor INL. DNL of code c = (T_{c+1} − T_c)/LSB' − 1 wherever both edges were measured;
    INL_k = (T_k − (T_lo + LSB'·(k − k_lo)))/LSB'. Returns ``lsb_V`` (LSB'), ``dnl_codes``, ``dnl_lsb``,
    ``inl_edges``, ``inl_lsb``."""
    k = np.asarray(edges, np.int64).ravel()
    t = np.asarray(levels_v, float).ravel()
    order = np.argsort(k)
    k, t = k[order], t[order]
    adjacent = np.flatnonzero(np.diff(k) == 1)
    slope = (t[-1] - t[0]) / (k[-1] - k[0]) if k[-1] > k[0] else float(lsb_v)
    dnl = (t[adjacent + 1] - t[adjacent]) / slope - 1.0
    inl = (t - (t[0] + slope * (k - k[0]))) / slope
    return {"lsb_V": float(slope), "dnl_codes": k[adjacent].tolist(), "dnl_lsb": dnl.tolist(),
            "inl_edges": k.tolist(), "inl_lsb": inl.tolist()}

"""Counter-based random numbers: every draw is a pure function of (seed, stream, frame, counter), so a numba
kernel can draw its own numbers inside ``prange`` loops, in any order, on any number of threads, and a
NumPy reference draws the very same numbers from the same counters.

Generator (the choice and its reference). The 64 random bits of counter ``n`` in the stream with key ``K``
are the n-th output of **SplitMix64** seeded with K (G. L. Steele, D. Lea, C. H. Flood, "Fast splittable
pseudorandom number generators", OOPSLA 2014; S. Vigna's ``splitmix64.c``, https://prng.di.unimi.it/):

    bits(K, n) = mix64(K + (n + 1)·γ  mod 2⁶⁴),    γ = 0x9E3779B97F4A7C15 (the golden ratio · 2⁶⁴)
    mix64(z):  z ← (z ⊕ z≫30)·0xBF58476D1CE4E5B9;  z ← (z ⊕ z≫27)·0x94D049BB133111EB;  z ⊕ z≫31

(mix64 is Stafford's "Mix13" 64-bit finaliser; the sequence passes BigCrush.) SplitMix64 is counter-based by
construction: output n needs no earlier output. A stream key is K = hash of (seed, stream name, frame) by
chained mix64 (:func:`stream_key`), so the keys of two streams are unrelated 64-bit numbers; two streams share
values only if their keys differ by d·γ with |d| below the counters they use (probability ≈ 2·N / 2⁶⁴ for N
counters, ~1e-13 for a frame's 1.6 M). A stream holds one distribution (its counters are element indices).

Variates:

- uniform u = (⌊bits/2¹²⌋ + ½)·2⁻⁵² in (0, 1): 52 random bits, never 0 or 1; exact in binary, so the numba
  and NumPy paths are **bit-identical** (integers and uniforms).
- standard normal z by the **ziggurat** of G. Marsaglia and W. W. Tsang ("The ziggurat method for generating
  random variables", J. Stat. Software 5 (8), 2000), with NumPy's 256 layers and bit layout (layer = low 8
  bits, sign = bit 8, a 52-bit integer j from bits 9-60; tables built at import by their recursion). Exact
  (rejection), one counter per normal: 98.5 % are z = ±j·w_layer from bits(K, n) alone (a product: bit-
  identical); the rest take the wedge test against exp(−z²/2) or the tail beyond r = 3.654 (Marsaglia's
  exponential method), drawing from a child stream keyed by bits(K, n). NumPy's SIMD ``exp``/``log1p`` and
  the C library's that numba calls may differ in the last bit, so normals are equal to **≤ 1e-12** (in the
  tail the value itself may differ by an ulp, measured ≤ 1e-15), and a wedge or tail test that lands within
  an ulp of its boundary (probability ~1e-16 per draw) would take another branch.
- Poisson(μ) as NumPy draws it (``numpy/random/src/distributions/distributions.c``): μ < 10
  (:data:`POISSON_PTRS_MIN_MEAN`) by the **exact** multiplication method (count uniforms until their product
  ≤ e^−μ); μ ≥ 10 by Hörmann's **PTRS** transformed rejection with squeeze (W. Hörmann, Insurance:
  Mathematics and Economics 12 (1993) 39-45), which is also exact: no approximation at any mean. Element n
  draws its uniforms from a child stream keyed bits(K, n) (counters 0, 1, 2 ...: product terms, or (U, V)
  pairs per attempt). The counts of the two paths are equal unless a last-bit difference of exp/log moves a
  product or an acceptance test across its boundary (probability ~1e-16 per draw). μ must be finite and
  ≥ 0; anything else gives −1.

Keys for a :class:`numpy.random.Generator` caller: :func:`seed_of` takes one ``rng.integers(0, 2**64,
dtype=np.uint64)`` from it (so each call with the same Generator gets new numbers, and the same freshly
seeded Generator the same numbers); an integer seed is used as it is.

Tests (tests/test_rng.py): the published SplitMix64 outputs, kernel = reference, 1 vs 2 threads and any
chunking, moments and Kolmogorov-Smirnov against scipy.stats, the Poisson CDF within the DKW sampling bound of
scipy.stats.poisson at means 3 ... 1000 around the threshold, uncorrelated streams, frames and seeds.

Numba caches a kernel (``cache=True``) without checking the functions it calls: after editing this module,
delete the ``*.nbi`` / ``*.nbc`` files under ``circuitsim/**/__pycache__`` or the kernels keep the old draws.
"""

from __future__ import annotations

import hashlib
import math

import numpy as np
from numba import njit, prange

GAMMA = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S12 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(12)
_ONE = np.uint64(1)
#: 2⁻⁵², the spacing of the uniforms.
UNIT = 2.0 ** -52
#: Means at and above this use PTRS (as NumPy); below, the multiplication method.
POISSON_PTRS_MIN_MEAN = 10.0
_MASK64 = (1 << 64) - 1
#: The frame label of instance (fixed-pattern) streams: the same for every frame of one seed.
INSTANCE = "instance"



def _ziggurat_tables(n_layers: int = 256, r: float = 3.6541528853610088):
    """Marsaglia & Tsang's ziggurat for f(x) = exp(−x²/2) with 256 layers of equal area v (NumPy's r):
    x_{N−1} = r, f(x_i) = f(x_{i+1}) + v/x_{i+1}; layer 0 is the base strip of width v/f(r) with the tail.
    Returns (ki, wi, fi): accept-at-once thresholds on the 52-bit integer j (x_{i−1}/x_i · 2⁵²), the
    scales x_i / 2⁵² of j, and f(x_i)."""
    f = lambda x: math.exp(-0.5 * x * x)  # noqa: E731
    v = r * f(r) + math.sqrt(math.pi / 2) * math.erfc(r / math.sqrt(2))
    x = [0.0] * n_layers
    x[0], x[-1] = v / f(r), r
    for i in range(n_layers - 2, 0, -1):
        x[i] = math.sqrt(-2.0 * math.log(f(x[i + 1]) + v / x[i + 1]))
    scale = 2.0 ** 52
    ki = np.array([int(r / x[0] * scale), 0] + [int(x[i - 1] / x[i] * scale) for i in range(2, n_layers)], np.uint64)
    wi = np.array([xi / scale for xi in x])
    fi = np.array([1.0] + [f(xi) for xi in x[1:]])
    return ki, wi, fi


_ZIG_R = 3.6541528853610088
_ZIG_KI, _ZIG_WI, _ZIG_FI = _ziggurat_tables(256, _ZIG_R)
_MASK52 = np.uint64((1 << 52) - 1)
_LOW8 = np.uint64(0xFF)
_S8, _S9 = np.uint64(8), np.uint64(9)
# Stirling series of NumPy's random_loggam (ln Γ(x) for the PTRS acceptance test)
_LOGGAM = np.array([8.333333333333333e-02, -2.777777777777778e-03, 7.936507936507937e-04, -5.952380952380952e-04,
                    8.417508417508418e-04, -1.917526917526918e-03, 6.410256410256410e-03, -2.955065359477124e-02,
                    1.796443723688307e-01, -1.39243221690590e+00])
_LG2PI = 1.8378770664093453


# -- keys (plain Python) ------------------------------------------------------------------------------
def _mix64_int(z: int) -> int:
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return z ^ (z >> 31)


def _label(x) -> int:
    """A 64-bit number for a stream or frame label: an int as it is (mod 2⁶⁴), a string by BLAKE2b."""
    if isinstance(x, str):
        return int.from_bytes(hashlib.blake2b(x.encode(), digest_size=8).digest(), "little")
    return int(x) & _MASK64


def stream_key(seed: int, stream: str | int, frame: int | str = INSTANCE) -> np.uint64:
    """The key K of one stream: K = mix64(mix64(mix64(seed + γ) ⊕ label(stream)) ⊕ label(frame)) (64 bit).

    ``frame`` = :data:`INSTANCE` (default) for what is fixed in one fabricated sensor (mismatch, PRNU, DSNU):
    the same numbers in every frame of a seed; an integer frame index for temporal noise."""
    g = int(GAMMA)
    k = _mix64_int((int(seed) + g) & _MASK64)
    k = _mix64_int(k ^ _label(stream))
    k = _mix64_int(k ^ ((_label(frame) + 2 * g) & _MASK64))
    return np.uint64(k)


def seed_of(rng) -> int:
    """The integer seed of a draw: ``rng`` itself if an integer in 0 .. 2⁶⁴−1, else one
    ``rng.integers(0, 2**64, dtype=np.uint64)`` from a :class:`numpy.random.Generator`."""
    if isinstance(rng, np.random.Generator):
        return int(rng.integers(0, 2**64, dtype=np.uint64))
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool) and 0 <= int(rng) <= _MASK64:
        return int(rng)
    if rng is None:
        raise ValueError("random draws need a numpy.random.Generator (rng=np.random.default_rng(seed)) or an "
                         "integer seed")
    raise TypeError(f"rng must be a numpy.random.Generator or an integer seed in 0..2**64-1, got {rng!r}")


def generator(seed: int, stream: str, frame: int | str = INSTANCE) -> np.random.Generator:
    """A NumPy Generator whose draws are a function of (seed, stream, frame) only: Philox keyed with
    :func:`stream_key` (for block wrappers that take a Generator and draw in sequence)."""
    return np.random.Generator(np.random.Philox(key=int(stream_key(seed, stream, frame))))


# -- numba scalar functions (usable inside prange loops) ---------------------------------------------
@njit(cache=True, inline="always")
def mix64(z):
    """Stafford's Mix13 finaliser of SplitMix64 (uint64 -> uint64)."""
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@njit(cache=True, inline="always")
def bits(key, n):
    """64 random bits of counter ``n`` (int ≥ 0) in stream ``key`` (uint64): SplitMix64 output n."""
    return mix64(key + (np.uint64(n) + _ONE) * GAMMA)


@njit(cache=True, inline="always")
def uniform(key, n):
    """Uniform double in (0, 1) of counter ``n``: (⌊bits/2¹²⌋ + ½)·2⁻⁵²."""
    return (float(bits(key, n) >> _S12) + 0.5) * UNIT


@njit(cache=True, inline="always")
def _layer(b):
    """(layer, 52-bit integer j, sign bit, x = ±j·w_layer) of 64 random bits (NumPy's bit layout)."""
    idx = b & _LOW8
    sign = (b >> _S8) & _ONE
    rabs = (b >> _S9) & _MASK52
    x = float(rabs) * _ZIG_WI[idx]
    return idx, rabs, sign, (-x if sign == _ONE else x)


@njit(cache=True)
def _normal_slow(child, idx, rabs, sign, x):
    """The ziggurat's rare branches (~1.2 %): the tail beyond r (Marsaglia's exponential method) or the wedge
    test against exp(−x²/2), then fresh 64-bit draws; every number from the child stream, counters 0, 1, ..."""
    j = 0
    while True:
        if idx == 0:
            while True:
                xx = -math.log1p(-uniform(child, j)) / _ZIG_R
                yy = -math.log1p(-uniform(child, j + 1))
                j += 2
                if yy + yy > xx * xx:
                    return -(_ZIG_R + xx) if sign == _ONE else _ZIG_R + xx
        elif (_ZIG_FI[idx - _ONE] - _ZIG_FI[idx]) * uniform(child, j) + _ZIG_FI[idx] < math.exp(-0.5 * x * x):
            return x
        else:
            j += 1
        idx, rabs, sign, x = _layer(bits(child, j))
        j += 1
        if rabs < _ZIG_KI[idx]:
            return x


@njit(cache=True)
def normal(key, n):
    """Standard normal of counter ``n``: the ziggurat on bits(key, n); its rare branches draw from the child
    stream keyed by those bits."""
    b = bits(key, n)
    idx, rabs, sign, x = _layer(b)
    if rabs < _ZIG_KI[idx]:
        return x
    return _normal_slow(b, idx, rabs, sign, x)


@njit(cache=True)
def loggam(x):
    """ln Γ(x) for x ≥ 1 as NumPy's ``random_loggam`` computes it (Stirling series, shifted below 7)."""
    if x == 1.0 or x == 2.0:
        return 0.0
    n = int(7.0 - x) if x < 7.0 else 0
    x0 = x + n
    x2 = (1.0 / x0) * (1.0 / x0)
    gl0 = _LOGGAM[9]
    for k in range(8, -1, -1):
        gl0 *= x2
        gl0 += _LOGGAM[k]
    gl = gl0 / x0 + 0.5 * _LG2PI + (x0 - 0.5) * math.log(x0) - x0
    for _ in range(n):
        gl -= math.log(x0 - 1.0)
        x0 -= 1.0
    return gl


@njit(cache=True)
def _poisson_mult(child, mu):
    enlam = math.exp(-mu)
    x = 0
    prod = 1.0
    while True:
        prod *= uniform(child, x)
        if prod <= enlam:
            return x
        x += 1


@njit(cache=True)
def _poisson_ptrs(child, mu):
    slam = math.sqrt(mu)
    loglam = math.log(mu)
    b = 0.931 + 2.53 * slam
    a = -0.059 + 0.02483 * b
    invalpha = 1.1239 + 1.1328 / (b - 3.4)
    vr = 0.9277 - 3.6224 / (b - 2.0)
    j = 0
    while True:
        u = uniform(child, j) - 0.5
        v = uniform(child, j + 1)
        j += 2
        us = 0.5 - abs(u)
        k = int(math.floor((2.0 * a / us + b) * u + mu + 0.43))
        if us >= 0.07 and v <= vr:
            return k
        if k < 0 or (us < 0.013 and v > us):
            continue
        if math.log(v) + math.log(invalpha) - math.log(a / (us * us) + b) <= -mu + k * loglam - loggam(k + 1.0):
            return k


@njit(cache=True)
def poisson(key, n, mu):
    """Poisson(μ) count of counter ``n``: multiplication method below μ = 10, PTRS at and above (both exact);
    −1 for μ not finite or < 0."""
    if not (mu >= 0.0 and mu < np.inf):
        return -1
    if mu == 0.0:
        return 0
    child = bits(key, n)
    if mu < POISSON_PTRS_MIN_MEAN:
        return _poisson_mult(child, mu)
    return _poisson_ptrs(child, mu)


# -- numba array fills (parallel) --------------------------------------------------------------------
@njit(parallel=True, cache=True)
def fill_uniform(key, start, out):
    """out.flat[i] = uniform(key, start + i)."""
    flat = out.reshape(-1)
    for i in prange(flat.size):
        flat[i] = uniform(key, start + i)


@njit(parallel=True, cache=True)
def fill_normal(key, start, out):
    """out.flat[i] = normal(key, start + i)."""
    flat = out.reshape(-1)
    for i in prange(flat.size):
        flat[i] = normal(key, start + i)


@njit(parallel=True, cache=True)
def fill_poisson(key, start, mu, out):
    """out.flat[i] = poisson(key, start + i, mu.flat[i]) (int64)."""
    flat, m = out.reshape(-1), mu.reshape(-1)
    for i in prange(flat.size):
        flat[i] = poisson(key, start + i, m[i])


def normals(key, shape, start: int = 0) -> np.ndarray:
    """Array of standard normals of counters start .. start + size − 1 in C order (numba, parallel)."""
    out = np.empty(shape)
    fill_normal(np.uint64(key), np.int64(start), out)
    return out


def poissons(key, mu, start: int = 0) -> np.ndarray:
    """Poisson counts (int64) of means ``mu`` at counters start + flat index (numba, parallel)."""
    mu = np.ascontiguousarray(mu, dtype=float)
    out = np.empty(mu.shape, np.int64)
    fill_poisson(np.uint64(key), np.int64(start), mu, out)
    return out


# -- NumPy references (vectorised; the same numbers from the same counters) ---------------------------
def _counters(n) -> np.ndarray:
    return np.asarray(n).astype(np.uint64)


def mix64_array(z) -> np.ndarray:
    z = np.asarray(z, dtype=np.uint64)
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


def bits_array(key, n) -> np.ndarray:
    """bits(key, n) for arrays (broadcast) of keys and counters (uint64 arithmetic wraps mod 2⁶⁴)."""
    with np.errstate(over="ignore"):
        return mix64_array(np.asarray(key, dtype=np.uint64) + (_counters(n) + _ONE) * GAMMA)


def uniform_array(key, n) -> np.ndarray:
    return ((bits_array(key, n) >> _S12).astype(np.float64) + 0.5) * UNIT


def _layer_array(b):
    idx = (b & _LOW8).astype(np.intp)
    sign = (b >> _S8) & _ONE
    rabs = (b >> _S9) & _MASK52
    x = rabs.astype(np.float64) * _ZIG_WI[idx]
    return idx, rabs, sign, np.where(sign == _ONE, -x, x)


def _normal_slow_array(child, idx, rabs, sign, x, out, where):
    """:func:`_normal_slow` for the elements ``where`` (the same counters in the same order)."""
    j = np.zeros(where.size, np.uint64)
    tail = np.zeros(where.size, bool)  # inside the tail loop (it draws until it accepts)
    while where.size:
        tail |= idx == 0
        done = np.zeros(where.size, bool)
        value = x.copy()
        t = np.flatnonzero(tail)
        xx = -np.log1p(-uniform_array(child[t], j[t])) / _ZIG_R
        yy = -np.log1p(-uniform_array(child[t], j[t] + _ONE))
        j[t] += np.uint64(2)
        ok = yy + yy > xx * xx
        value[t[ok]] = np.where(sign[t[ok]] == _ONE, -(_ZIG_R + xx[ok]), _ZIG_R + xx[ok])
        done[t[ok]] = True
        w = np.flatnonzero(~tail)
        iw = idx[w]
        y = (_ZIG_FI[iw - 1] - _ZIG_FI[iw]) * uniform_array(child[w], j[w]) + _ZIG_FI[iw]
        done[w[y < np.exp(-0.5 * x[w] * x[w])]] = True
        j[w[~done[w]]] += _ONE
        redraw = np.flatnonzero(~done & ~tail)  # a wedge rejection: a fresh 64-bit draw
        idx[redraw], rabs[redraw], sign[redraw], x[redraw] = _layer_array(bits_array(child[redraw], j[redraw]))
        j[redraw] += _ONE
        fast = redraw[rabs[redraw] < _ZIG_KI[idx[redraw]]]
        value[fast] = x[fast]
        done[fast] = True
        out[where[done]] = value[done]
        keep = ~done
        child, idx, rabs, sign, x, j, tail, where = (a[keep] for a in (child, idx, rabs, sign, x, j, tail, where))


def normal_array(key, n) -> np.ndarray:
    """Standard normals of counters ``n`` (array) in stream ``key``: :func:`normal`, vectorised."""
    b = bits_array(key, n)
    idx, rabs, sign, x = _layer_array(b.ravel())
    out = x.copy()
    slow = np.flatnonzero(rabs >= _ZIG_KI[idx])
    _normal_slow_array(b.ravel()[slow], idx[slow], rabs[slow], sign[slow], x[slow], out, slow)
    return out.reshape(np.shape(b))


def loggam_array(x) -> np.ndarray:
    """:func:`loggam` for arrays (x ≥ 1)."""
    x = np.asarray(x, dtype=np.float64)
    n = np.where(x < 7.0, (7.0 - x).astype(np.int64), 0)
    x0 = x + n
    x2 = (1.0 / x0) * (1.0 / x0)
    gl0 = np.full_like(x, _LOGGAM[9])
    for k in range(8, -1, -1):
        gl0 = gl0 * x2
        gl0 = gl0 + _LOGGAM[k]
    gl = gl0 / x0 + 0.5 * _LG2PI + (x0 - 0.5) * np.log(x0) - x0
    for step in range(1, int(n.max(initial=0)) + 1):
        m = n >= step
        gl[m] -= np.log(x0[m] - 1.0)
        x0[m] -= 1.0
    return np.where((x == 1.0) | (x == 2.0), 0.0, gl)


def _poisson_mult_array(child, mu, out, idx):
    enlam = np.exp(-mu)
    prod = np.ones_like(mu)
    x = 0
    while idx.size:
        prod = prod * uniform_array(child, x)
        done = prod <= enlam
        out[idx[done]] = x
        keep = ~done
        idx, child, prod, enlam = idx[keep], child[keep], prod[keep], enlam[keep]
        x += 1


def _poisson_ptrs_array(child, mu, out, idx):
    slam, loglam = np.sqrt(mu), np.log(mu)
    b = 0.931 + 2.53 * slam
    a = -0.059 + 0.02483 * b
    invalpha = 1.1239 + 1.1328 / (b - 3.4)
    vr = 0.9277 - 3.6224 / (b - 2.0)
    j = 0
    while idx.size:
        u = uniform_array(child, j) - 0.5
        v = uniform_array(child, j + 1)
        j += 2
        us = 0.5 - np.abs(u)
        k = np.floor((2.0 * a / us + b) * u + mu + 0.43).astype(np.int64)
        squeeze = (us >= 0.07) & (v <= vr)
        test = ~squeeze & ~((k < 0) | ((us < 0.013) & (v > us)))
        lhs = np.log(v[test]) + np.log(invalpha[test]) - np.log(a[test] / (us[test] * us[test]) + b[test])
        rhs = -mu[test] + k[test] * loglam[test] - loggam_array(k[test] + 1.0)
        accept = squeeze.copy()
        accept[test] = lhs <= rhs
        out[idx[accept]] = k[accept]
        keep = ~accept
        idx, child, mu, loglam, a, b, invalpha, vr = (t[keep] for t in (idx, child, mu, loglam, a, b, invalpha, vr))


def poisson_array(key, n, mu) -> np.ndarray:
    """Poisson counts (int64) of means ``mu`` at counters ``n`` (broadcast), as :func:`poisson`."""
    mu_b, n_b = np.broadcast_arrays(np.asarray(mu, dtype=np.float64), np.asarray(n))
    m, child = mu_b.ravel(), bits_array(key, n_b.ravel())
    out = np.where((m >= 0.0) & (m < np.inf), 0, -1).astype(np.int64)
    for sel, method in (((m > 0.0) & (m < POISSON_PTRS_MIN_MEAN), _poisson_mult_array),
                        ((m >= POISSON_PTRS_MIN_MEAN) & (m < np.inf), _poisson_ptrs_array)):
        idx = np.flatnonzero(sel)
        method(child[idx], m[idx], out, idx)
    return out.reshape(mu_b.shape)

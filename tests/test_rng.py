"""circuitsim.rng, the counter-based generator the kernels draw from: the published SplitMix64 outputs, the
numba scalars equal to their NumPy references, draws that do not depend on the thread count or how the
counters are split, the distributions against scipy.stats, and streams that do not share numbers.

Each test names the bug it is there to catch."""

import numba
import numpy as np
import pytest
from scipy import stats

from circuitsim import rng

N = 1_000_000
KEY = rng.stream_key(2024, "tests.rng", 0)
needs_two_threads = pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="numba has one thread here")


@pytest.fixture
def threads():
    """Set numba's thread count for one test and restore it afterwards."""
    before = numba.get_num_threads()
    yield numba.set_num_threads
    numba.set_num_threads(before)
    numba.set_parallel_chunksize(0)


def test_bits_are_splitmix64():
    """Catches a wrong mixing constant, shift or increment: the first outputs of SplitMix64 seeded with
    1234567 (Vigna's splitmix64.c; the Rosetta Code task "Pseudo-random numbers/Splitmix64")."""
    expected = [6457827717110365317, 3203168211198807973, 9817491932198370423, 4593380528125082431,
                16408922859458223821]
    key = np.uint64(1234567)
    assert [int(rng.bits(key, n)) for n in range(5)] == expected
    assert rng.bits_array(key, np.arange(5)).tolist() == expected


def test_uniforms_are_bit_identical_and_open():
    """Catches the NumPy reference drifting from the kernel (another bit slice, scale or offset) and a
    uniform that can be 0 or 1 (log(0) in the normal's tail)."""
    u = np.empty(N)
    rng.fill_uniform(KEY, np.int64(0), u)
    assert np.array_equal(u, rng.uniform_array(KEY, np.arange(N)))
    assert all(rng.uniform(KEY, n) == u[n] for n in (0, 1, 12345, N - 1))
    assert 0.0 < u.min() and u.max() < 1.0
    edges = rng.uniform_array(np.uint64(0), np.array([0]))  # any bits: (j + 1/2)·2⁻⁵², j in 0 .. 2⁵²−1
    assert 0.0 < edges[0] < 1.0 and (2**52 - 0.5) * rng.UNIT < 1.0


def test_normals_match_the_reference():
    """Catches the reference's ziggurat taking another branch or another counter than the kernel's (fast
    path, wedge, tail, redraw). Equal to 1e-12: NumPy's SIMD exp/log1p and the C library's may differ in the
    last bit in the rare branches; the fast path (98.5 %) is a product and must be bit-identical."""
    z = rng.normals(KEY, N)
    ref = rng.normal_array(KEY, np.arange(N))
    np.testing.assert_allclose(z, ref, rtol=0, atol=1e-12)
    assert np.count_nonzero(z != ref) <= 1e-4 * N
    assert rng.normal(KEY, 777) == z[777]


POISSON_MEANS = (0.0, 0.3, 2.0, 9.999, 10.0, 10.001, 37.5, 500.0, 12_000.0, 3e7)


def test_poisson_counts_match_the_reference():
    """Catches the reference's multiplication or PTRS loop using other uniforms than the kernel's, and the
    threshold applied on one path only (9.999 / 10 / 10.001). Integers, equal exactly."""
    mu = np.repeat(POISSON_MEANS, 20_000)
    np.random.default_rng(0).shuffle(mu)
    k = rng.poissons(KEY, mu)
    assert np.array_equal(k, rng.poisson_array(KEY, np.arange(mu.size), mu))
    assert rng.poisson(KEY, 5, mu[5]) == k[5]
    bad = np.array([np.nan, -1.0, np.inf])
    assert rng.poissons(KEY, bad).tolist() == [-1, -1, -1] == rng.poisson_array(KEY, np.arange(3), bad).tolist()


@needs_two_threads
@pytest.mark.parametrize("kind", ["normal", "poisson"])
def test_draws_do_not_depend_on_threads_or_chunking(threads, kind):
    """Catches a thread-dependent draw (a per-thread generator state, numba's np.random in a prange, a
    counter taken from a running total): 1 and 2 threads, several parallel chunk sizes, and the counters
    drawn in pieces at their offsets all give the same numbers."""
    mu = np.random.default_rng(1).uniform(0.0, 40.0, 200_001)

    def draw(start, size):
        if kind == "normal":
            out = np.empty(size)
            rng.fill_normal(KEY, np.int64(start), out)
            return out
        return rng.poissons(KEY, mu[start:start + size], start)

    results = []
    for n_threads, chunk in ((1, 0), (2, 0), (2, 1), (2, 4096)):
        threads(n_threads)
        numba.set_parallel_chunksize(chunk)
        results.append(draw(0, mu.size))
    numba.set_parallel_chunksize(0)
    cuts = [0, 1, 7, 65_536, 150_000, mu.size]
    results.append(np.concatenate([draw(a, b - a) for a, b in zip(cuts, cuts[1:])]))
    for r in results[1:]:
        assert np.array_equal(r, results[0])


def test_uniform_and_normal_distributions():
    """Catches a biased or truncated uniform and a wrong ziggurat table, wedge or tail: moments within 5
    standard errors, Kolmogorov-Smirnov against scipy.stats at 1e-4, and the tail mass beyond the ziggurat's
    r = 3.654 (where the tail method takes over) and beyond 4.5 within 5 binomial standard errors."""
    u = rng.uniform_array(KEY, np.arange(N))
    z = rng.normals(rng.stream_key(7, "tests.normal", 3), 4 * N)
    assert abs(u.mean() - 0.5) < 5 * np.sqrt(1 / 12 / N) and abs(u.var() - 1 / 12) < 5 * np.sqrt(1 / 180 / N)
    assert stats.kstest(u, "uniform").pvalue > 1e-4
    n = z.size
    assert abs(z.mean()) < 5 / np.sqrt(n) and abs(z.var() - 1) < 5 * np.sqrt(2 / n)
    assert abs(stats.skew(z)) < 5 * np.sqrt(6 / n) and abs(stats.kurtosis(z)) < 5 * np.sqrt(24 / n)
    assert stats.kstest(z, "norm").pvalue > 1e-4
    for t in (rng._ZIG_R, 4.5):
        p = 2 * stats.norm.sf(t)
        assert abs(np.mean(np.abs(z) > t) - p) < 5 * np.sqrt(p * (1 - p) / n), t


@pytest.mark.parametrize("mu", [3.0, 9.5, 10.0, 10.5, 30.0, 1000.0])
def test_poisson_distribution_around_the_ptrs_threshold(mu):
    """Catches an approximation posing as the exact methods (a rounded normal: sup CDF distance ≈ 0.02 at
    μ = 10, more below) and a wrong PTRS constant or log-gamma. Both methods are exact, so the bound is
    sampling alone: the empirical CDF of n draws lies within ε = sqrt(ln(2/α) / 2n) of scipy.stats.poisson's
    everywhere (Dvoretzky-Kiefer-Wolfowitz, valid for discrete laws), α = 1e-6: ε = 0.0048 for n = 300 000;
    mean and variance within 5 standard errors."""
    n = 300_000
    k = rng.poissons(rng.stream_key(11, "tests.poisson", int(mu * 10)), np.full(n, mu))
    grid = np.arange(k.max() + 1)
    empirical = np.searchsorted(np.sort(k), grid, side="right") / n
    eps = np.sqrt(np.log(2 / 1e-6) / (2 * n))
    assert np.abs(empirical - stats.poisson.cdf(grid, mu)).max() < eps
    assert abs(k.mean() - mu) < 5 * np.sqrt(mu / n)
    assert abs(k.var() / mu - 1) < 5 * np.sqrt(2 / n + 1 / (mu * n))


def test_loggam_is_ln_gamma():
    """Catches a wrong Stirling coefficient in the PTRS acceptance test (the DKW bound would barely see it)."""
    from scipy import special

    x = np.concatenate([np.arange(1.0, 200.0), np.geomspace(200, 1e8, 200)])
    np.testing.assert_allclose(rng.loggam_array(x), special.gammaln(x), rtol=1e-13, atol=1e-14)
    assert all(rng.loggam(v) == w for v, w in zip(x, rng.loggam_array(x)))


def test_same_key_same_numbers_other_keys_independent():
    """Catches a counter reused across streams, frames or seeds (a key that ignores one of them, or streams
    laid on the same counters): every pair of variations is uncorrelated (|r| < 5/sqrt(n)), as is each stream
    with itself one counter later; the same (seed, stream, frame) gives the same numbers."""
    n = 200_000
    keys = {"base": rng.stream_key(5, "a", 0), "stream": rng.stream_key(5, "b", 0),
            "frame": rng.stream_key(5, "a", 1), "seed": rng.stream_key(6, "a", 0),
            "instance": rng.stream_key(5, "a")}
    assert len({int(k) for k in keys.values()}) == len(keys)
    assert rng.stream_key(5, "a", 0) == keys["base"]
    z = {name: rng.normals(k, n) for name, k in keys.items()}
    assert np.array_equal(z["base"], rng.normals(rng.stream_key(5, "a", 0), n))
    names = list(z)
    bound = 5 / np.sqrt(n)
    for i, a in enumerate(names):
        assert abs(np.corrcoef(z[a][:-1], z[a][1:])[0, 1]) < bound, a
        for b in names[i + 1:]:
            assert abs(np.corrcoef(z[a], z[b])[0, 1]) < bound, (a, b)
    counts = [rng.poissons(k, np.full(n, 4.0)) for k in (keys["base"], keys["frame"])]
    assert abs(np.corrcoef(*counts)[0, 1]) < bound


def test_seed_of_takes_one_integer_from_a_generator():
    """Catches a wrapper that draws more (or less) than documented from the caller's Generator, and bad seeds
    accepted."""
    g, twin = np.random.default_rng(3), np.random.default_rng(3)
    assert rng.seed_of(g) == int(twin.integers(0, 2**64, dtype=np.uint64))
    assert g.integers(1 << 30) == twin.integers(1 << 30)
    assert rng.seed_of(42) == 42 and rng.seed_of(np.uint64(2**64 - 1)) == 2**64 - 1
    with pytest.raises(ValueError, match="numpy.random.Generator"):
        rng.seed_of(None)
    for bad in (-1, 2**64, True, 1.5):
        with pytest.raises(TypeError):
            rng.seed_of(bad)

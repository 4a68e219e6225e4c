"""Where the frames' random numbers come from (circuitsim.rng): the numba kernels draw their own inside
``prange`` loops, so a frame must not depend on the thread count or on how the loops are split, the NumPy
references must draw the same numbers, and (seed, frame) must mean one sensor instance and one exposure.

Each test names the bug it is there to catch."""

import numba
import numpy as np
import pytest

from circuitsim import rng
from circuitsim.blocks import pixel_4t
from circuitsim.sensor import leca, snn

needs_two_threads = pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="numba has one thread here")
SPLITS = ((1, 0), (2, 0), (2, 1), (2, 3))  # (threads, parallel chunk size)


@pytest.fixture
def splits():
    """Run a function under every (threads, chunk size) of SPLITS; numba's settings restored afterwards."""
    before = numba.get_num_threads()

    def run(fn):
        out = []
        for n_threads, chunk in SPLITS:
            numba.set_num_threads(n_threads)
            numba.set_parallel_chunksize(chunk)
            out.append(fn())
        return out

    yield run
    numba.set_num_threads(before)
    numba.set_parallel_chunksize(0)


@pytest.fixture(scope="module")
def models():
    return leca.Models.load()


@pytest.fixture(scope="module")
def raw():
    return leca.rgb_to_bayer(leca.test_scene(64))


@needs_two_threads
def test_leca_frame_does_not_depend_on_threads_or_chunking(splits, raw, models):
    """Catches a thread-dependent draw in the PE chain or the pixel kernel (a per-thread state, numba's
    np.random inside prange, a counter from a running total): bit-identical frames for every split."""
    cfg = leca.LecaConfig(weights=leca.default_weights(8), mode="noisy")
    frames = splits(lambda: leca.simulate_frame(raw, cfg, 17, models, frame=3).analog_v)
    for f in frames[1:]:
        assert np.array_equal(f, frames[0])


@needs_two_threads
def test_pixel_block_and_snn_frame_do_not_depend_on_threads(splits):
    """Catches the same in the pixel block (with and without CDS) and the SNN frame's FD kernel."""
    lut = pixel_4t.load_lut()
    flux = np.random.default_rng(0).uniform(0, 3e6, (3, 64, 64))
    for params in (pixel_4t.Pixel4tParams(), pixel_4t.Pixel4tParams(cds=False)):
        pattern = pixel_4t.fixed_pattern(flux.shape[1:], params, lut, 5)
        outs = splits(lambda: pixel_4t.pixel_4t(flux, 10e-3, lut, params, 5, pattern, frame=2))
        assert all(np.array_equal(o, outs[0]) for o in outs[1:])
    m = snn.SnnModels.load()
    cfg = snn.default_snn_config(2, seed=1, mode="noisy")
    image = leca.test_scene(32)
    outs = splits(lambda: snn.simulate_snn_frame(image, cfg, 9, m, frame=1).cds_v)
    assert all(np.array_equal(o, outs[0]) for o in outs[1:])


def test_pixel_kernel_draws_what_its_reference_draws():
    """Catches the kernel and the NumPy reference reading other counters of the pixel's streams (e.g. the
    pattern repeated over leading axes with the wrong period): the same output, with a pattern broadcast
    over three readouts, with and without CDS, in a frame other than 0."""
    lut = pixel_4t.load_lut()
    flux = np.random.default_rng(2).uniform(0, 3e6, (3, 16, 24))
    for params in (pixel_4t.Pixel4tParams(), pixel_4t.Pixel4tParams(cds=False, sf_mode="ideal")):
        pattern = pixel_4t.fixed_pattern(flux.shape[1:], params, lut, 8)
        a = pixel_4t.pixel_4t(flux, 10e-3, lut, params, 8, pattern, frame=4)
        b = pixel_4t.pixel_4t_reference(flux, 10e-3, lut, params, 8, pattern, frame=4)
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)


def test_snn_fd_kernel_draws_what_its_reference_draws(models):
    """Catches the SNN's FD kernel and its reference on other counters (shot noise and kT/C)."""
    m = snn.SnnModels.load()
    cfg = snn.default_snn_config(1, mode="noisy")
    image = leca.test_scene(40)
    a = snn.fd_voltages(image, cfg, m, 3, frame=2)
    b = snn.fd_voltages_reference(image, cfg, m, 3, frame=2)
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)


def test_frames_of_one_seed_are_one_sensor(raw, models):
    """Catches the fixed pattern or the PE mismatch redrawn per frame (or the temporal noise frozen across
    frames): frames 0 and 1 of one seed share the pixel pattern and the chain's mismatch exactly and differ in
    their temporal noise; another seed is another sensor, so two seeds differ by more than two frames of one
    (the mismatch adds to the temporal noise)."""
    cfg = leca.LecaConfig(weights=leca.default_weights(4), mode="noisy")
    params, lut = models.pixel_params, models.pixel_lut
    p0, p1 = (pixel_4t.fixed_pattern(raw.shape, params, lut, 21) for _ in range(2))
    assert np.array_equal(p0.gain, p1.gain) and np.array_equal(p0.cds_z, p1.cds_z)
    d0, d1 = leca.draw_chain(cfg, 16, 16, 21, frame=0), leca.draw_chain(cfg, 16, 16, 21, frame=1)
    assert np.array_equal(d0.z_scm_mm, d1.z_scm_mm) and np.array_equal(d0.z_fvf_mm, d1.z_fvf_mm)
    assert d0.scm_th_key != d1.scm_th_key and d0.psf_th_key != d1.psf_th_key
    a0, a1 = (leca.simulate_frame(raw, cfg, 21, models, frame=f).analog_v for f in (0, 1))
    again = leca.simulate_frame(raw, cfg, 21, models, frame=1).analog_v
    other = leca.simulate_frame(raw, cfg, 22, models, frame=0).analog_v
    assert np.array_equal(a1, again) and not np.array_equal(a0, a1)
    assert np.var(a0 - other) > 1.5 * np.var(a0 - a1)


def test_a_generator_caller_gets_new_numbers_each_call(raw, models):
    """Catches a wrapper that ignores the Generator's state (the same frame twice) or draws from it more
    than once per frame (two calls with one Generator = seeds of two integers calls)."""
    cfg = leca.LecaConfig(weights=leca.default_weights(4), mode="noisy")
    g = np.random.default_rng(30)
    first, second = (leca.simulate_frame(raw, cfg, g, models).analog_v for _ in range(2))
    twin = np.random.default_rng(30)
    seeds = [int(twin.integers(0, 2**64, dtype=np.uint64)) for _ in range(2)]
    assert not np.array_equal(first, second)
    assert np.array_equal(first, leca.simulate_frame(raw, cfg, seeds[0], models).analog_v)
    assert np.array_equal(second, leca.simulate_frame(raw, cfg, seeds[1], models).analog_v)


def test_stream_names_are_unique():
    """Catches two noise terms laid on one stream (a copied name): every stream the frames draw from has its
    own name, hence its own key."""
    names = [*pixel_4t.PATTERN_STREAMS, *pixel_4t.TEMPORAL_STREAMS, *leca.MISMATCH_STREAMS, *leca.THERMAL_STREAMS,
             *snn.FD_STREAMS, snn.COMPARATOR_STREAM, snn.CDS_STREAM]
    assert len(set(names)) == len(names)
    keys = {int(rng.stream_key(0, n, 0)) for n in names} | {int(rng.stream_key(0, n)) for n in names}
    assert len(keys) == 2 * len(names)

"""One table-driven suite over every block with a numba kernel and a NumPy reference (the astropy.modeling
idea in STYLE.md): on the committed tt 27 °C calibration, in every mode and variant,

- kernel and reference agree (same draws for the same seed);
- the same seed gives the same numbers; another seed gives other numbers in the random modes and the same
  numbers in the deterministic ones (which also run without a Generator);
- a random mode without a Generator is refused;
- an input outside the calibrated range raises InputRangeError, on both paths.

Each block's own physics stays in tests/blocks/test_<block>.py; mode parsing is in test_modes.py.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest

from circuitsim.blocks.modes import Mode
from circuitsim.errors import InputRangeError

ALL_MODES = tuple(Mode)


@dataclass(frozen=True)
class Case:
    """One block in the table. ``build()`` loads its calibration (lazily, once) and returns
    ``(run, inputs, bad)``: ``run(x, mode, variant, rng, reference)`` -> output array (or tuple of arrays),
    ``inputs(rng)`` valid inputs, ``bad`` inputs each holding a value outside the calibrated range.
    ``variants``: extra parameter sets run in every mode; ``random_modes``: the modes that draw."""

    build: Callable[[], tuple]
    modes: tuple = ALL_MODES
    random_modes: tuple = (Mode.NOISY,)
    variants: tuple = ({},)
    atol: float = 1e-15
    rtol: float = 0.0


def _uniform_with_ends(lo, hi, n=1000):
    def inputs(rng):
        return np.concatenate([rng.uniform(lo, hi, n), [lo, hi, 0.5 * (lo + hi)]])
    return inputs


def _sample_hold():
    from circuitsim.blocks import sample_hold as m

    lut = m.load_lut()

    def run(x, mode, variant, rng, reference):
        f = m.sample_hold_reference if reference else m.sample_hold
        return f(x, lut, m.SampleHoldParams(mode=mode, **variant), rng)

    lo, hi = lut.x_v[0], lut.x_v[-1]
    return run, _uniform_with_ends(lo, hi), (np.array([lo, hi + 0.05]), np.array([np.nan]))


def _psf():
    from circuitsim.blocks import psf as m

    lut = m.load_lut()

    def run(x, mode, variant, rng, reference):
        f = m.psf_reference if reference else m.psf
        return f(x, lut, m.PsfParams(mode=mode, **variant), rng)

    lo, hi = lut.x_v[0], lut.x_v[-1]
    return run, _uniform_with_ends(lo, hi), (np.array([lo - 0.05, hi]),)


def _fvf():
    from circuitsim.blocks import fvf as m

    lut = m.load_lut()

    def run(x, mode, variant, rng, reference):
        f = m.fvf_reference if reference else m.fvf
        return f(x, lut, m.FvfParams(mode=mode, **variant), rng)

    lo, hi = lut.x_v[0], lut.x_v[-1]
    return run, _uniform_with_ends(lo, hi), (np.array([hi + 0.05]),)


def _cds():
    from circuitsim.blocks import cds as m

    lut = m.load_lut()

    def run(x, mode, variant, rng, reference):
        f = m.cds_reference if reference else m.cds
        return f(x, lut, m.CdsParams(mode=mode, **variant), rng)

    lo, hi = lut.x_v[0], lut.x_v[-1]
    return run, _uniform_with_ends(lo, hi), (np.array([0.1, hi + 0.1]),)


def _scm():
    from circuitsim.blocks import scm as m

    lut = m.load_lut()
    lo, hi = lut.x_v[0], lut.x_v[-1]

    def run(x, mode, variant, rng, reference):
        f = m.scm_mac_reference if reference else m.scm_mac
        return f(x[0], x[1], lut, m.ScmParams(mode=mode, **variant), rng)

    def inputs(rng):
        v = np.concatenate([rng.uniform(lo, hi, 2000), [lo, hi]])
        w = np.concatenate([rng.integers(0, m.N_WORDS, 2000), [0, m.N_WORDS - 1]])
        return v, w

    bad = ((np.array([hi + 0.1]), np.array([3])), (np.array([1.0]), np.array([m.N_WORDS])),
           (np.array([1.0]), np.array([-1])))
    return run, inputs, bad


def _col_amp():
    from circuitsim.blocks import col_amp as m

    lut = m.load_lut()

    def run(x, mode, variant, rng, reference):
        f = m.col_amp_reference if reference else m.col_amp
        return f(x[0], x[1], lut, m.ColAmpParams(mode=mode, **variant), rng)

    def inputs(rng):
        gi = rng.integers(0, len(m.GAINS), 2000)
        lo, hi = lut.x_v[gi, 0], lut.x_v[gi, -1]
        return rng.uniform(lo, hi), np.asarray(m.GAINS, float)[gi]

    hi1 = float(lut.x_v[0, -1])
    bad = ((np.array([hi1 + 0.1]), np.array([1.0])), (np.array([0.1]), np.array([3.0])))
    return run, inputs, bad


def _comparator2t():
    from circuitsim.blocks import comparator2t as m

    lut = m.load_lut()

    def run(x, mode, variant, rng, reference):
        f = m.comparator2t_reference if reference else m.comparator2t
        return f(x[0], x[1], lut, m.Comparator2tParams(mode=mode), rng)

    def inputs(rng):
        return rng.uniform(0.5, 1.2, 2000), rng.uniform(lut.v_bias_v[0], lut.v_bias_v[-1], 2000)

    bad = ((np.array([2.0]), np.array([0.1])), (np.array([1.0]), np.array([lut.v_bias_v[-1] + 0.2])))
    return run, inputs, bad


def _ternary():
    from circuitsim.blocks import comparator2t as c2t
    from circuitsim.blocks import ternary as m

    lut = m.load_lut()
    th = m.thresholds(0.78, 1.0, lut)

    def run(x, mode, variant, rng, reference):
        f = m.ternary_reference if reference else m.ternary
        return f(x, th, lut, c2t.Comparator2tParams(mode=mode), rng)

    return run, (lambda rng: rng.uniform(0.6, 1.2, 2000)), (np.array([0.9, 2.0]),)


def _pixel_4t(block="pixel_4t"):
    from circuitsim.blocks import pixel_4t as m

    lut = m.load_lut(block=block)
    exposure_s = 10e-3

    def run(x, mode, variant, rng, reference):
        params = m.Pixel4tParams(sf_mode=mode, **variant)
        pattern = None if rng is None else m.fixed_pattern(x.shape, params, lut, rng)
        f = m.pixel_4t_reference if reference else m.pixel_4t
        return f(x, exposure_s, lut, params, rng, pattern)

    def inputs(rng):
        p = m.Pixel4tParams()
        return rng.uniform(0, 2 * p.full_well_e, 5000) / (p.quantum_efficiency * exposure_s)

    return run, inputs, (np.array([1.0, -1.0]), np.array([np.nan]))


def _inpixel_conv():
    from circuitsim.blocks import inpixel_conv as m

    lut = m.load_lut()
    lo, hi = lut.vg_v[0], lut.vg_v[-1]

    def run(x, mode, variant, rng, reference):  # no modes, no random terms: CDS and comparator add them
        f = m.inpixel_conv_reference if reference else m.inpixel_conv
        return f(x[0], x[1], lut)

    def inputs(rng):
        return rng.uniform(lo + 0.1, hi - 0.1, (500, 27)), rng.integers(-m.MAX_CODE, m.MAX_CODE + 1, (500, 27))

    bad = ((np.full((1, 27), lo - 0.1), np.ones((1, 27), int)),
           (np.full((1, 27), 0.5 * (lo + hi)), np.full((1, 27), m.MAX_CODE + 1)))
    return run, inputs, bad


def _sar_adc():
    from circuitsim.blocks.sar_adc import (
        SarAdcParams,
        convert,
        convert_reference,
        draw_instance,
    )

    def params(mode, variant):
        noisy = mode == Mode.NOISY
        return SarAdcParams(sigma_unit=0.01, offset_sigma_v=2e-3, c_parasitic_f=20e-15,
                            noise_v=5e-3 if noisy else 0.0, ktc_noise=noisy, **variant)

    def run(x, mode, variant, rng, reference):
        p = params(mode, variant)
        instance = draw_instance(p, np.random.default_rng(11))  # one fabricated converter for every call
        return (convert_reference if reference else convert)(x, p, instance, rng)

    return run, _uniform_with_ends(-1.8, 1.8, 5000), (np.array([0.0, 2.0]),)


def _sar_available() -> bool:
    """The SAR enters through its public convert / convert_reference only (its module is being split)."""
    try:
        from circuitsim.blocks import sar_adc
    except ImportError:
        return False
    return all(hasattr(sar_adc, n) for n in ("SarAdcParams", "convert", "convert_reference", "draw_instance"))


THERMAL = ({}, {"thermal_noise": False})
#: Pixel: it always draws (shot, kTC, read noise), its modes are those of the SF transfer. In-pixel conv:
#: no modes and no random terms (the CDS and the comparator after it add them). SAR: the converter has no
#: mode parameter; hard = without temporal noise, noisy = with comparator and kT/C noise (8 bit and the
#: 1.5-bit ternary mode).
CASES = {
    "sample_hold": Case(_sample_hold, variants=THERMAL),
    "psf": Case(_psf, variants=THERMAL),
    "fvf": Case(_fvf, variants=({}, {"thermal_sigma_v": 0.3e-3})),
    "scm": Case(_scm, variants=THERMAL, atol=1e-14),
    "comparator2t": Case(_comparator2t, atol=1e-12),
    "pixel_4t": Case(_pixel_4t, modes=(Mode.IDEAL, Mode.HARD), random_modes=(Mode.IDEAL, Mode.HARD),
                     variants=({}, {"cds": False}), atol=1e-12),
    # the 3.3 V pixel runs the same kernel on its own tables
    "pixel_4t_3v3": Case(lambda: _pixel_4t("pixel_4t_3v3"), modes=(Mode.IDEAL, Mode.HARD),
                         random_modes=(Mode.IDEAL, Mode.HARD), variants=({}, {"cds": False}), atol=1e-12),
    "cds": Case(_cds, variants=THERMAL),
    "col_amp": Case(_col_amp, variants=THERMAL, atol=1e-12),
    "inpixel_conv": Case(_inpixel_conv, modes=(None,), random_modes=(), atol=1e-9),
    "ternary": Case(_ternary, atol=1e-12),
}
if _sar_available():
    CASES["sar_adc"] = Case(_sar_adc, modes=(Mode.HARD, Mode.NOISY), variants=({"n_bits": 8}, {"n_bits": 1.5}),
                            atol=0.0, rtol=1e-9)


@functools.cache
def built(name: str) -> tuple:
    return CASES[name].build()


POINTS = [pytest.param(name, mode, v, id=f"{name}-{mode}-{v}")
          for name, c in CASES.items() for mode in c.modes for v in range(len(c.variants))]


def _assert_close(a, b, c: Case):
    for x, y in zip(a, b) if isinstance(a, tuple) else [(a, b)]:
        if np.issubdtype(np.asarray(x).dtype, np.integer):
            np.testing.assert_array_equal(x, y)
        else:
            np.testing.assert_allclose(x, y, rtol=c.rtol, atol=c.atol)


def _equal(a, b) -> bool:
    pairs = zip(a, b) if isinstance(a, tuple) else [(a, b)]
    return all(np.array_equal(x, y) for x, y in pairs)


def test_table_covers_every_registered_block():
    """Every registered block is in the table (the SAR resolutions as one entry, when importable)."""
    from circuitsim.blocks import block_names

    names = {"sar_adc" if n.startswith("sar_adc_") else n for n in block_names(plugins=False)}
    if not _sar_available():
        names.discard("sar_adc")
    assert names <= set(CASES), f"blocks missing from the kernel-vs-reference table: {names - set(CASES)}"


@pytest.mark.parametrize("name, mode, v", POINTS)
def test_kernel_matches_reference(name, mode, v):
    c, (run, inputs, _) = CASES[name], built(name)
    x = inputs(np.random.default_rng(0))
    a = run(x, mode, c.variants[v], np.random.default_rng(5), False)
    b = run(x, mode, c.variants[v], np.random.default_rng(5), True)
    _assert_close(a, b, c)


@pytest.mark.parametrize("name, mode, v", POINTS)
def test_seeded_reproducibility(name, mode, v):
    c, (run, inputs, _) = CASES[name], built(name)
    x = inputs(np.random.default_rng(1))
    variant = c.variants[v]
    a = run(x, mode, variant, np.random.default_rng(42), False)
    b = run(x, mode, variant, np.random.default_rng(42), False)
    other = run(x, mode, variant, np.random.default_rng(43), False)
    assert _equal(a, b), "the same seed must give the same numbers"
    if mode in c.random_modes:
        assert not _equal(a, other), "another seed must give other numbers in a random mode"
        with pytest.raises(ValueError, match="numpy.random.Generator"):
            run(x, mode, variant, None, False)
    else:
        assert _equal(a, other), "a deterministic mode must not depend on the seed"
        assert _equal(a, run(x, mode, variant, None, False)), "a deterministic mode needs no Generator"


@pytest.mark.parametrize("name, mode, v", POINTS)
def test_out_of_range_refused(name, mode, v):
    c, (run, _, bad_inputs) = CASES[name], built(name)
    for bad in bad_inputs:
        for reference in (False, True):
            with pytest.raises(InputRangeError, match="is outside"):
                run(bad, mode, c.variants[v], np.random.default_rng(0), reference)

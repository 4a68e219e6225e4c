"""The one mode vocabulary (circuitsim/blocks/modes.py): parsing, the kernels' integer codes, and every
parameter class and chain config accepting the strings users write and refusing anything else."""

import numpy as np
import pytest

from circuitsim.blocks import cds, comparator2t, fvf, pixel_4t, psf, sample_hold, scm
from circuitsim.blocks.modes import HARD_CODE, IDEAL_CODE, NOISY_CODE, Mode
from circuitsim.errors import InputRangeError


def test_parse_and_codes():
    assert [m.value for m in Mode] == ["ideal", "hard", "noisy"]
    assert [m.code for m in Mode] == [IDEAL_CODE, HARD_CODE, NOISY_CODE] == [0, 1, 2]
    assert Mode.parse("hard") is Mode.HARD and Mode.parse(Mode.NOISY) is Mode.NOISY
    assert Mode.HARD == "hard" and f"{Mode.IDEAL}" == str(Mode.IDEAL) == "ideal"
    with pytest.raises(InputRangeError, match=r"sf_mode must be one of ideal, hard, noisy, got 'wild'"):
        Mode.parse("wild", "sf_mode")
    with pytest.raises(InputRangeError, match="'soft' is now called 'ideal'"):
        Mode.parse("soft")
    with pytest.raises(InputRangeError, match="got None"):
        Mode.parse(None)


PARAMS = [sample_hold.SampleHoldParams, psf.PsfParams, fvf.FvfParams, cds.CdsParams, scm.ScmParams,
          comparator2t.Comparator2tParams]


@pytest.mark.parametrize("cls", PARAMS, ids=lambda c: c.__name__)
def test_params_take_the_strings_and_refuse_others(cls):
    for mode in Mode:
        assert cls(mode=mode.value).mode is mode
        assert cls(mode=mode).mode is mode
    assert isinstance(cls().mode, Mode)
    with pytest.raises(InputRangeError, match="mode must be one of ideal, hard, noisy"):
        cls(mode="soft")


def test_pixel_sf_mode_has_no_noisy_transfer():
    assert pixel_4t.Pixel4tParams(sf_mode="ideal").sf_mode is Mode.IDEAL
    with pytest.raises(InputRangeError, match="sf_mode must be one of ideal, hard, got 'noisy'"):
        pixel_4t.Pixel4tParams(sf_mode="noisy")


def test_chain_configs_use_the_same_modes():
    from circuitsim.sensor import leca, snn

    assert leca.LecaConfig(weights=leca.default_weights(4), mode="hard").mode is Mode.HARD
    with pytest.raises(InputRangeError, match="mode must be one of ideal, hard, noisy"):
        leca.LecaConfig(weights=leca.default_weights(4), mode="soft")
    assert snn.default_snn_config(2, mode="hard").mode is Mode.HARD
    with pytest.raises(InputRangeError, match="mode must be one of hard, noisy, got 'ideal'"):
        snn.default_snn_config(2, mode="ideal")


def test_comparator_modes_keep_their_former_numbers():
    """ideal = the former 'soft' logistic (0.5 at the trip point), hard = the step, noisy = step + offset."""
    lut = comparator2t.Comparator2tLut(*(np.array(a, float) for a in (
        [0.0, 0.6], [0.8, 1.0], [5e-3, 5e-3], [0.02, 0.02], [1e-7, 1e-7], [0.1, 0.1], [1e-9, 1e-9])))
    v_b = np.array([0.0, 0.3, 0.6])
    trip = comparator2t.trip_point_v(v_b, lut)
    ideal = comparator2t.comparator2t(trip, v_b, lut, comparator2t.Comparator2tParams(mode="ideal"))
    np.testing.assert_allclose(ideal, 0.5)
    s = 0.02 / (2 * np.log(9))
    np.testing.assert_allclose(comparator2t.comparator2t(trip + 0.01, v_b, lut, comparator2t.Comparator2tParams("ideal")),
                               1 / (1 + np.exp(-0.01 / s)))
    assert comparator2t.comparator2t(trip + 1e-4, v_b, lut).tolist() == [1.0, 1.0, 1.0]  # default: hard
    z = np.array([1.0, -1.0, 0.0])
    noisy = comparator2t.comparator2t(trip + 1e-3, v_b, lut, comparator2t.Comparator2tParams("noisy"), z_offset=z)
    assert noisy.tolist() == [0.0, 1.0, 1.0]

"""2T comparator: the ideal (formerly 'soft') transfer's width checked against the SPICE transition data in
the committed spice.npz, independently of circuitsim/blocks/comparator2t.py.

SPICE measures, per bias, the DC input span over which the cell's output falls from 0.9·VDD to 0.1·VDD
(``nominal_*_width_V``). The ideal mode is a firing probability meant to rise from 0.1 to 0.9 over that
same span, so its 10–90 % width, measured on the model's own output, must be SPICE's width.

Each test names the bug it is there to catch."""

import numpy as np
import pytest

from circuitsim.blocks import comparator2t as c2t
from circuitsim.config import project_root
from circuitsim.store import SPICE_FILE, ArtifactStore, OperatingPoint, load_artifact

IDEAL = c2t.Comparator2tParams(mode="ideal")


def ideal_width_v(v_bias: float, lut) -> float:
    """Input span (V) over which the ideal-mode output goes from 0.1 to 0.9, found on a fine input grid
    around the trip point (the output is smooth; linear interpolation between 8001 points is exact to
    ~1e-7 relative)."""
    trip = float(c2t.trip_point_v(v_bias, lut))
    span = 2 * float(np.interp(v_bias, lut.v_bias_v, lut.width_v))  # p from 1e-4 to 1 - 1e-4
    v = np.linspace(max(trip - span, 0.0), min(trip + span, 1.8), 8001)
    p = c2t.comparator2t(v, np.full(v.size, v_bias), lut, IDEAL)
    assert np.all(np.diff(p) > 0) and p[0] < 0.1 and p[-1] > 0.9
    return float(np.interp(0.9, p, v) - np.interp(0.1, p, v))


@pytest.mark.parametrize("point", ["tt_27C", "ss_27C", "ff_27C", "sf_27C", "fs_27C", "tt_-40C", "tt_85C"])
def test_ideal_width_is_the_spice_transition_width(point):
    """Catches the ideal mode's logistic scale or width wrong (e.g. the width doubled).

    At the fit biases (where the LUT holds SPICE's numbers) the model's 10–90 % width equals SPICE's to
    1e-5 relative (the grid search). At the held-out biases (0.05 V from the nearest fit bias) it tolerates
    the linear interpolation of the convex (near-exponential) width curve between fit biases, which
    overestimates it midway: up to 8 % (measured worst 7.0 % at tt −40 °C, v_b = 0.55 V, where the width
    falls ~45 % per 0.1 V step; 5.0 % at sf, ≤ 3.9 % at the other points), against 100 % for the
    doubled width."""
    path = ArtifactStore(project_root() / "calibration").directories("comparator2t")[point]
    spice = load_artifact(path).arrays(SPICE_FILE)
    lut = c2t.load_lut(OperatingPoint.from_name(point))
    for v_b, w in zip(spice["fit_x"], spice["nominal_fit_width_V"]):
        assert ideal_width_v(v_b, lut) == pytest.approx(w, rel=1e-5), (point, v_b)
    for v_b, w in zip(spice["holdout_x"], spice["nominal_holdout_width_V"]):
        assert ideal_width_v(v_b, lut) == pytest.approx(w, rel=0.08), (point, v_b)

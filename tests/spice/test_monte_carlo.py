"""Seeded Monte Carlo inside one library load."""

import numpy as np
import pytest

from circuitsim.spice.analyses import dc_sweep, monte_carlo, param_sweep, sample_seeds, transient
from circuitsim.spice.session import SpiceSession

pytestmark = pytest.mark.spice

FOLLOWER = """* PMOS source follower with a 10 uA load
.param vin_v=0.6
vdd vdd 0 {vdd_v}
ib vdd out 10u
xmp 0 inp out out pmos w=2 l=0.15
vin inp 0 {vin_v}
.end
"""


def _mc(session, seeds):
    return np.array(monte_carlo(session, seeds, lambda s: dc_sweep(s, "vin", 0, 1.2, 0.05, ["out"])["v_out_V"].to_numpy()))


def test_fifty_samples_one_load_reproducible(load):
    before = SpiceSession.loads
    session = load(FOLLOWER, mismatch=True)
    a = _mc(session, sample_seeds(7, 0, 50))
    assert SpiceSession.loads - before == 1, "the library must be loaded exactly once for the whole MC"
    b = _mc(session, sample_seeds(7, 0, 50))
    c = _mc(session, sample_seeds(8, 0, 50))
    assert np.array_equal(a, b)
    assert not np.allclose(a, c)
    sigma_mv = a[:, 12].std(ddof=1) * 1e3
    assert 5 < sigma_mv < 60  # Pelgrom: ~19 mV Vth sigma for W/L = 1/0.15 (SPEC section 3); here 2/0.15
    assert len(set(map(tuple, a))) == 50


def test_nominal_section_has_no_mismatch(load):
    session = load(FOLLOWER, mismatch=False)
    a = _mc(session, sample_seeds(7, 0, 3))
    assert np.allclose(a, a[0])


def test_sample_seeds_streams_and_batching():
    whole = sample_seeds(1, 0, 10)
    assert whole == sample_seeds(1, 0, 4) + sample_seeds(1, 4, 10)
    assert not set(whole) & set(sample_seeds(1, 0, 10, "holdout"))
    assert all(0 < s < 2**31 for s in whole)


def test_param_sweep_keeps_the_mismatch_draw_of_its_seed(load):
    session = load(FOLLOWER, mismatch=True)
    run = lambda s: float(transient(s, 1e-10, 2e-9, ["out"])["v_out_V"].iloc[-1])  # noqa: E731
    a = param_sweep(session, "vin_v", [0.3, 0.6], run, seed=11)
    b = param_sweep(session, "vin_v", [0.6, 0.3], run, seed=11)
    assert a == b[::-1]

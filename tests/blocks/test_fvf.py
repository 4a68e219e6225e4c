"""Flipped voltage follower: modes and statistics, the committed calibration, and one SPICE re-simulation
of the held-out grid against the artifact (kernel vs reference, seeds, ranges: test_kernels_vs_reference.py)."""

import numpy as np
import pytest

from circuitsim.blocks import buffers
from circuitsim.blocks.buffers import BufferLut
from circuitsim.blocks.fvf import (
    SPEC,
    FvfParams,
    fvf,
    fvf_energy_per_sample_J,
    load_lut,
)

X = np.linspace(0.2, 1.0, 17)
SYNTHETIC = BufferLut(
    x_v=X,
    out_v=0.47 + 0.93 * X - 0.05 * np.exp(-(X - 0.2) / 0.1),
    sigma_v=np.linspace(9e-3, 7e-3, 17),
    energy_coeffs=np.array([950e-15, 5e-15, 0.0]),
    line_coeffs=np.array([0.46, 0.94]),
)


def test_modes_and_statistics():
    x = np.array([0.2, 0.225, 1.0])
    np.testing.assert_allclose(fvf(x, SYNTHETIC, FvfParams(mode="ideal")), 0.46 + 0.94 * x, atol=1e-15)
    np.testing.assert_allclose(fvf(x, SYNTHETIC, FvfParams(mode="hard")), np.interp(x, X, SYNTHETIC.out_v), atol=1e-15)
    out = fvf(np.full(200_000, 0.6), SYNTHETIC, FvfParams(), np.random.default_rng(1))
    assert out.std() == pytest.approx(np.interp(0.6, X, SYNTHETIC.sigma_v), rel=0.01)


def test_committed_lut_is_physical():
    lut = load_lut()
    gain = np.diff(lut.out_v) / np.diff(lut.x_v)
    assert np.all((gain > 0.5) & (gain < 0.97)) and np.all(gain[4:] > 0.88), "linear above 0.4 V at tt"
    assert np.all((lut.sigma_v > 1e-3) & (lut.sigma_v < 20e-3))
    e = fvf_energy_per_sample_J(lut.x_v, lut)
    assert np.all(np.abs(e / (1.8 * 40e-6 * 12.5e-9) - 1) < 0.1), "≈ VDD · (10 + 30) µA · 12.5 ns"


@pytest.mark.spice
def test_spice_reproduces_committed_held_out_points(sky130):
    """Re-simulate the held-out grid at tt and fs (nominal, the calibration's DC sweep) against the artifact."""
    from circuitsim.spice.netlist import load_netlist, render_deck
    from circuitsim.spice.session import SpiceSession
    from circuitsim.store import (
        SPICE_FILE,
        ArtifactStore,
        OperatingPoint,
        load_artifact,
    )

    session = SpiceSession.shared()
    for corner in ("tt", "fs"):
        directory = ArtifactStore().path("fvf", OperatingPoint(corner, 27))
        spice = load_artifact(directory).arrays(SPICE_FILE)
        session.load(render_deck(load_netlist(SPEC.netlist), sky130, corner, 27), name=f"fvf {corner}")
        x = np.concatenate([spice["fit_x"], spice["holdout_x"]])  # the calibration's own sweep
        out, _ = buffers.dc_transfer(session, x, "vin", "out")
        np.testing.assert_allclose(out[len(spice["fit_x"]):], spice["nominal_holdout_out_V"], rtol=0, atol=1e-9)

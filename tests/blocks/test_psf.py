"""PMOS source follower (i-buffer read): modes, noise statistics, the committed calibration, and one SPICE
re-simulation of held-out points against the artifact (kernel vs reference, seeds, ranges:
test_kernels_vs_reference.py)."""

import numpy as np
import pytest
from scipy import constants

from circuitsim.blocks import buffers
from circuitsim.blocks.buffers import BufferLut
from circuitsim.blocks.psf import (
    SPEC,
    PsfParams,
    load_lut,
    psf,
    psf_energy_per_read_J,
)

X = np.linspace(0.2, 1.0, 17)
SYNTHETIC = BufferLut(
    x_v=X,
    out_v=0.47 + 0.93 * X - 0.01 * (X - 0.6) ** 2,
    sigma_v=np.linspace(4e-3, 5e-3, 17),
    energy_coeffs=np.array([270e-15, -10e-15, 0.0]),
    line_coeffs=np.array([0.47, 0.93]),
)


def test_modes():
    x = np.array([0.2, 0.225, 0.6, 1.0])
    np.testing.assert_allclose(psf(x, SYNTHETIC, PsfParams(mode="ideal")), 0.47 + 0.93 * x, atol=1e-15)
    np.testing.assert_allclose(psf(x, SYNTHETIC, PsfParams(mode="hard")), np.interp(x, X, SYNTHETIC.out_v), atol=1e-15)


def test_noise_statistics():
    out = psf(np.full(200_000, 0.6), SYNTHETIC, PsfParams(), np.random.default_rng(1))
    sigma_th = np.sqrt(constants.k * 300.15 / PsfParams().c_hold_f)
    assert PsfParams().c_hold_f == pytest.approx(109e-15, rel=0.01)
    assert out.std() == pytest.approx(np.hypot(np.interp(0.6, X, SYNTHETIC.sigma_v), sigma_th), rel=0.01)


def test_committed_lut_is_physical():
    lut = load_lut()
    gain = np.diff(lut.out_v) / np.diff(lut.x_v)
    assert np.all((gain > 0.88) & (gain < 0.97)), "a PMOS follower with body tied to source, L = 0.35 um"
    assert np.all((lut.sigma_v > 1e-3) & (lut.sigma_v < 10e-3))
    e = psf_energy_per_read_J(lut.x_v, lut)
    assert np.all(np.abs(e / (1.8 * 20e-6 * 7.5e-9) - 1) < 0.1), "≈ VDD · 20 µA · 7.5 ns"


@pytest.mark.spice
def test_spice_reproduces_committed_held_out_points(sky130):
    """Re-simulate the held-out grid at tt and ss (nominal, the calibration's DC sweep) against the artifact."""
    from circuitsim.spice.netlist import load_netlist, render_deck
    from circuitsim.spice.session import SpiceSession
    from circuitsim.store import (
        SPICE_FILE,
        ArtifactStore,
        OperatingPoint,
        load_artifact,
    )

    session = SpiceSession.shared()
    for corner in ("tt", "ss"):
        directory = ArtifactStore().path("psf", OperatingPoint(corner, 27))
        spice = load_artifact(directory).arrays(SPICE_FILE)
        session.load(render_deck(load_netlist(SPEC.netlist), sky130, corner, 27), name=f"psf {corner}")
        x = np.concatenate([spice["fit_x"], spice["holdout_x"]])  # the calibration's own sweep
        out, _ = buffers.dc_transfer(session, x, "vpix", "out")
        np.testing.assert_allclose(out[len(spice["fit_x"]):], spice["nominal_holdout_out_V"], rtol=0, atol=1e-9)

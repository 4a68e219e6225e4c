"""kT/C of the sampling capacitors of the pixel and the LeCA i-buffer, checked independently of the block
code: the i-buffer's C_hold from the MIM geometry of netlists/psf.cir, the floating diffusion's C_FD = q/CG
from the conversion gain measured in SPICE. (The SCM's per MAC: test_physics_scm.py; the SAR's:
test_physics_sar_adc.py.)

Each test names the bug it is there to catch."""

from dataclasses import replace

import numpy as np
from netlist_facts import mim_capacitance_f
from scipy import constants, stats

from circuitsim.blocks import pixel_4t, psf
from circuitsim.blocks.buffers import BufferLut
from circuitsim.store import ArtifactStore

KT_J = constants.k * (constants.zero_Celsius + 27.0)
N = 100_000
#: Chi-square interval of a sample variance of N draws, two-sided 1 − 1e-4.
VAR_LO, VAR_HI = stats.chi2.ppf([0.5e-4, 1 - 0.5e-4], N - 1) / (N - 1)



def test_ibuffer_write_carries_kt_over_c_hold():
    """Catches the PSF's i-buffer kT/C on the wrong capacitor or scaled (e.g. × 10).

    The i-buffer (109 fF MIM, xch of netlists/psf.cir) is written through a switch: kT/C_hold, 0.19 mV rms,
    added to the PSF output. With the mismatch σ removed from the calibration, the noisy output's variance
    over N reads must lie in the chi-square interval of kT/C_hold."""
    c_hold = mim_capacitance_f("psf", "xch")
    assert abs(c_hold - 109e-15) < 0.5e-15
    lut = psf.load_lut()
    quiet = BufferLut(lut.x_v, lut.out_v, np.zeros_like(lut.sigma_v), lut.energy_coeffs, lut.line_coeffs)
    out = psf.psf(np.full(N, 0.6), quiet, psf.PsfParams(mode="noisy"), np.random.default_rng(1))
    assert VAR_LO <= out.var(ddof=1) / (KT_J / c_hold) <= VAR_HI


def test_floating_diffusion_reset_carries_kt_over_c_fd_and_cds_cancels_it():
    """Catches the FD's reset noise on the wrong capacitor, and CDS that does not cancel it.

    Without CDS a dark pixel's output carries the FD's reset noise through the follower: variance
    g_SF²·kT/C_FD, with C_FD from SPICE's AC analysis of the FD (Im(1/Z)/ω at its reset level) and g_SF the
    slope of SPICE's DC sweep of the follower at the reset level, both read from the raw SPICE results. With
    CDS the same reset sample is in both levels and cancels: what is left is the read noise alone."""
    spice = ArtifactStore().spice_arrays("pixel_4t")
    c_fd = float(spice["nominal_fit_c_fd_F"][0])
    v_rst = float(spice["nominal_fit_fd_reset_V"][0])
    from scipy.interpolate import CubicSpline

    from circuitsim.blocks.pixel_4t import SF_SWEEP_V

    # the follower's slope at the reset level: a cubic spline through SPICE's 25 mV sweep (the gain falls 8 %
    # per step there, so a chord between two sweep points would be ~3 % off)
    g_sf = float(CubicSpline(SF_SWEEP_V, spice["nominal_fit_sf_out_V"][0])(v_rst, 1))
    lut = pixel_4t.load_lut()
    base = pixel_4t.params_from_artifact(dark_current_e_per_s=0.0, read_noise_v=0.0)
    dark = np.zeros(N)
    no_cds = pixel_4t.pixel_4t(dark, 1e-3, lut, replace(base, cds=False), np.random.default_rng(2))
    assert VAR_LO <= no_cds.var(ddof=1) / (g_sf**2 * KT_J / c_fd) <= VAR_HI
    read = 0.3e-3
    with_cds = pixel_4t.pixel_4t(dark, 1e-3, lut, replace(base, read_noise_v=read), np.random.default_rng(3))
    assert VAR_LO <= with_cds.var(ddof=1) / read**2 <= VAR_HI

"""Frame simulations (LeCA and the SNN first layer) checked against physics computed here, independently
of circuitsim/sensor/: flat-field means against QE·Φ·t through the SPICE transfers of the blocks, and
flat-field variances against Poisson shot noise plus the kT/C of the sampling capacitors (capacitances
from the netlists' MIM geometry, the FD's from its SPICE-measured conversion gain).

The SPICE tables used here are the committed nominal data (``ArtifactStore().spice_arrays``), read with
linear interpolation between grid points, the models' stated interpolation rule.

Each test names the bug it is there to catch."""


import numpy as np
import pytest
from netlist_facts import mim_capacitance_f
from scipy import constants, stats

from circuitsim.sensor import leca, snn
from circuitsim.store import ArtifactStore

KT_J = constants.k * (constants.zero_Celsius + 27.0)



class Spice:
    """The committed nominal SPICE transfers at tt 27 °C."""

    def __init__(self):
        store = ArtifactStore()
        self.sf = store.spice_arrays("pixel_4t")
        self.psf = store.spice_arrays("psf")
        self.fvf = store.spice_arrays("fvf")
        self.scm = store.spice_arrays("scm")
        self.c_fd_f = float(self.sf["nominal_fit_c_fd_F"][0])  # AC analysis of the FD at its reset level

    def cds_e(self, n):
        """Pixel: SPICE's CDS output (transient of the whole cycle) for ``n`` electrons, on its fit grid (V)."""
        return np.interp(n, self.sf["fit_x"], self.sf["nominal_fit_out_V"])

    def fd_e(self, n):
        """Pixel: SPICE's FD level at the signal sample for ``n`` electrons (V)."""
        return np.interp(n, self.sf["fit_x"], self.sf["nominal_fit_fd_signal_V"])

    @staticmethod
    def _curve(arrays, v):
        return np.interp(v, arrays["fit_x"], arrays["nominal_fit_out_V"])

    @staticmethod
    def _slope(f, v, h=1e-4):
        return (f(v + h) - f(v - h)) / (2 * h)

    def psf_v(self, v):
        return self._curve(self.psf, v)

    def fvf_v(self, v):
        return self._curve(self.fvf, v)

    def mac_v(self, v_in, word, side):
        """o-buffer ``side`` ('p' or 'n') after one MAC of ``word`` from reset, SPICE (V)."""
        x = self.scm["fit_x"]
        sel = x[:, 1] == word
        return np.interp(v_in, x[sel, 0], self.scm[f"nominal_fit_out{side}_V"][sel])


@pytest.fixture(scope="module")
def spice():
    return Spice()


@pytest.fixture(scope="module")
def models():
    return leca.Models.load()


def single_mac_kernels(weights, positions):
    """(N_ch, 4, 4) kernels with one non-zero weight each: one MAC of the 16 moves its o-buffer."""
    k = np.zeros((len(weights), 4, 4), np.int64)
    for i, (w, (r, c)) in enumerate(zip(weights, positions)):
        k[i, r, c] = w
    return k


def word(w):
    return int(w) if w >= 0 else 16 + abs(int(w))


# -- LeCA -------------------------------------------------------------------------------------------
LEVELS = np.array([0.02, 0.1, 0.25, 0.4, 0.55, 0.7, 0.85, 1.0])  # raw image value per block column


def test_leca_flat_field_mean_is_qe_phi_t_through_the_spice_transfers(models, spice):
    """Catches the LeCA frame without quantum efficiency (or exposure / flux / conversion gain wrong) and the
    SCM injection sign flipped in the chain (an 11 mV effect at w = ±15).

    Hard mode, flat 4 x 4 blocks at eight levels. Per pixel N = QE·Φ·t electrons (hard mode: no dark
    current), the CDS output is SPICE's for N electrons (transients of the whole pixel cycle, interpolated on
    their grid), written to the i-buffer as V_PIX_DARK − that. A kernel with one non-zero weight makes
    one MAC that moves an o-buffer from reset: the o-buffer pair is SPICE's single MAC from reset at the PSF
    output (the 15 zero-weight MACs leave the buffers at their reset level, as SPICE's zero words do, by
    ≤ 1 nV), each read through the FVF. Bound: 1e-9 V (floating point; the injection effect is ≥ 1 mV)."""
    cfg = leca.LecaConfig(weights=single_mac_kernels([15, -15, 6, -3], [(0, 0), (1, 2), (3, 1), (2, 3)]),
                          mode="hard")
    raw = np.repeat(np.tile(LEVELS, (8, 1)), 4, axis=1)  # (8, 32): 2 block rows x 8 block columns
    res = leca.simulate_frame(raw, cfg, np.random.default_rng(0), models)
    assert np.ptp(spice.mac_v(np.linspace(0.6, 1.4, 9), 0, "p")) < 1e-9

    qe = models.pixel_params.quantum_efficiency
    electrons = qe * LEVELS * cfg.max_flux_per_s * cfg.exposure_s
    cds = spice.cds_e(electrons)
    v_pix = leca.pixel_voltages(raw, cfg, models, np.random.default_rng(0))
    np.testing.assert_allclose(leca.V_PIX_DARK_V - v_pix[0, 0, :, 0, 0], cds, rtol=0, atol=1e-12)

    v_in = spice.psf_v(leca.V_PIX_DARK_V - cds)
    for k, w in enumerate([15, -15, 6, -3]):
        vp, vn = spice.mac_v(v_in, word(w), "p"), spice.mac_v(v_in, word(w), "n")
        expected = spice.fvf_v(vp) - spice.fvf_v(vn)
        np.testing.assert_allclose(res.analog_v[k], np.broadcast_to(expected, (2, 8)), rtol=0, atol=1e-9,
                                   err_msg=f"kernel {k} (w = {w})")
        ref = leca.simulate_frame(raw, cfg, np.random.default_rng(0), models, reference=True)
        np.testing.assert_allclose(ref.analog_v[k], np.broadcast_to(expected, (2, 8)), rtol=0, atol=1e-9)


def test_leca_temporal_noise_is_shot_noise_plus_kt_c(models, spice):
    """Catches the i-buffer (PSF) kT/C scaled (e.g. × 10), the SCM's sampled kT/C not multiplied by the
    square of the transfer ratio, shot noise without QE, and the FD's kT/C surviving CDS.

    Noisy mode, 448 x 448 flat field of N̄ = QE·Φ·t + I_dark·t ≈ 500 electrons, 8 channels in two passes:
    channel k + 4 repeats channel k's single-MAC kernel in the second readout, so their difference keeps only
    the temporal noise (pixel pattern and every block's mismatch are fixed per pixel / PE) and has twice the
    variance of one readout:

        σ² = g_F²·[g_S²·(g_P²·(K²·N̄ + σ_read²) + kT/C_hold) + kT/C_out] + g_F,o²·kT/C_out

    K = d(CDS)/dN, the slope of SPICE's electrons -> CDS transfer at N̄ (shot noise, Poisson: variance = mean in
    electrons; the FD's kT/C cancels in CDS, the pixel's fixed pattern in the difference), g_P, g_S,
    g_F the SPICE slopes of PSF, single MAC (v_in → receiving o-buffer) and FVF at the operating point,
    g_F,o the FVF's slope at the other o-buffer's level; each o-buffer holds kT/C_out after its reset and
    after every MAC (charge conservation: tests/blocks/test_physics_scm.py),
    C_hold and C_s = |w|·C_u, C_out from the netlists' MIM geometry. Each channel pair (12 544 PEs x block
    rows) must lie in the chi-square interval of its sample variance (two-sided, 1 − 1e-4 each)."""
    weights = [15, 1, 8, -4]
    positions = [(1, 1), (0, 2), (2, 0), (3, 3)]
    kernels = single_mac_kernels(weights, positions)
    cfg = leca.LecaConfig(weights=np.concatenate([kernels, kernels]), mode="noisy")
    level = 500.0 / (models.pixel_params.quantum_efficiency * cfg.max_flux_per_s * cfg.exposure_s)
    raw = np.full((448, 448), level)
    res = leca.simulate_frame(raw, cfg, np.random.default_rng(20), models)
    p = models.pixel_params
    n_e = p.quantum_efficiency * level * cfg.max_flux_per_s * cfg.exposure_s + p.dark_current_e_per_s * cfg.exposure_s
    k_v_per_e = spice._slope(spice.cds_e, n_e, h=1.0)
    v_pix = leca.V_PIX_DARK_V - spice.cds_e(n_e)
    var_pix = k_v_per_e**2 * n_e + p.read_noise_v**2
    g_p = spice._slope(spice.psf_v, v_pix)
    v_in = spice.psf_v(v_pix)
    c_hold = mim_capacitance_f("psf", "xch")
    c_out = mim_capacitance_f("scm", "xcop")
    n = res.analog_v[0].size
    lo_q, hi_q = stats.chi2.ppf([0.5e-4, 1 - 0.5e-4], n - 1) / (n - 1)
    for k, w in enumerate(weights):
        side = "p" if w > 0 else "n"
        g_s = spice._slope(lambda v: spice.mac_v(v, word(w), side), v_in)
        v_buf = spice.mac_v(v_in, word(w), side)
        g_f = spice._slope(spice.fvf_v, v_buf)
        other = "n" if side == "p" else "p"
        g_fo = spice._slope(spice.fvf_v, spice.mac_v(v_in, word(w), other))
        expected = 2 * (g_f**2 * (g_s**2 * (g_p**2 * var_pix + KT_J / c_hold) + KT_J / c_out) + g_fo**2 * KT_J / c_out)
        d = (res.analog_v[k] - res.analog_v[k + 4]).ravel()
        ratio = d.var(ddof=1) / expected
        assert lo_q <= ratio <= hi_q, (k, w, ratio, (lo_q, hi_q))


def test_leca_noisy_flat_field_mean_counts_qe_and_dark_electrons(models, spice):
    """Catches the noisy pixel path without QE or dark current. Mean CDS output of a 448 x 448 flat field
    (one readout) = SPICE's CDS output for QE·Φ·t + I_dark·t electrons within 4.5 standard errors of the mean
    (PRNU, the pixel's mismatch, shot and read noise; the transfer is linear over the spread)."""
    cfg = leca.LecaConfig(weights=leca.default_weights(1), mode="noisy")
    level = 0.3
    raw = np.full((448, 448), level)
    v_pix = leca.pixel_voltages(raw, cfg, models, np.random.default_rng(3))
    cds = leca.V_PIX_DARK_V - v_pix.ravel()
    p = models.pixel_params
    n_e = p.quantum_efficiency * level * cfg.max_flux_per_s * cfg.exposure_s + p.dark_current_e_per_s * cfg.exposure_s
    expected = spice.cds_e(n_e)
    assert abs(cds.mean() - expected) <= 4.5 * cds.std(ddof=1) / np.sqrt(cds.size), (cds.mean(), expected)


# -- SNN first layer ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def snn_models():
    return snn.SnnModels.load()


@pytest.mark.parametrize("level", [0.0, 0.05, 0.6])
def test_snn_fd_flat_field_is_poisson_plus_kt_c(snn_models, spice, level):
    """Catches the SNN frame without quantum efficiency and its FD kT/C on the wrong capacitor (e.g. 2·C_FD).

    Floating diffusion after exposure, 128 x 128 x 3 flat field: V_FD = FD(N), SPICE's FD level at the signal
    sample for N electrons, N Poisson of mean N̄ = QE·Φ·t + I_dark·t, plus the reset's kT/C_FD (no CDS before
    the in-pixel convolution), C_FD from SPICE's AC analysis of the FD. So

        mean = FD(N̄),     variance = (dFD/dN)²·N̄ + kT/C_FD

    The dark field (level 0) is kT/C alone (~0.9 mV rms; 2·C_FD gives 0.63 mV). Bounds: the mean within 4.5
    standard errors, the variance in its chi-square interval (two-sided, 1 − 1e-4)."""
    cfg = snn.SnnConfig(weights=np.zeros((1, 3, 3, 3), np.int64), thresholds_v=np.zeros(1), mode="noisy")
    image = np.full((128, 128, 3), level)
    v_fd = snn.fd_voltages(image, cfg, snn_models, np.random.default_rng(7)).ravel()
    p = snn_models.pixel
    n_e = p.quantum_efficiency * level * cfg.max_flux_per_s * cfg.exposure_s + p.dark_current_e_per_s * cfg.exposure_s
    mean = spice.fd_e(n_e)
    var = spice._slope(spice.fd_e, n_e, h=1.0) ** 2 * n_e + KT_J / spice.c_fd_f
    n = v_fd.size
    assert abs(v_fd.mean() - mean) <= 4.5 * np.sqrt(var / n), (v_fd.mean(), mean)
    lo_q, hi_q = stats.chi2.ppf([0.5e-4, 1 - 0.5e-4], n - 1) / (n - 1)
    assert lo_q <= v_fd.var(ddof=1) / var <= hi_q, (v_fd.var(ddof=1) / var, (lo_q, hi_q))


def test_snn_fd_hard_mode_is_the_expected_charge(snn_models, spice):
    """Catches the hard (noise-free) SNN path without QE: V_FD = FD(QE·Φ·t + I_dark·t), SPICE's, exactly."""
    cfg = snn.SnnConfig(weights=np.zeros((1, 3, 3, 3), np.int64), thresholds_v=np.zeros(1), mode="hard")
    image = np.full((4, 4, 3), 0.5)
    v_fd = snn.fd_voltages(image, cfg, snn_models, np.random.default_rng(0))
    p = snn_models.pixel
    n_e = p.quantum_efficiency * 0.5 * cfg.max_flux_per_s * cfg.exposure_s + p.dark_current_e_per_s * cfg.exposure_s
    np.testing.assert_allclose(v_fd, spice.fd_e(n_e), rtol=0, atol=1e-12)

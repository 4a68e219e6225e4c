"""N-D export (format 3): every registered block exports, and each exported table is the block's own model
evaluated through its public functions, on and between the grid points (independent source: the block
modules and the frame simulators' loaders, not the exporter's tables).

Bugs this catches: a block the export refuses or skips under --all; the SCM's MAC table transposed (word ×
v_in), its σ taken on the wrong axis or resampled inexactly from the Monte Carlo grid, an index axis
interpolated (word 3.5); the comparator's trip σ swapped with its width; the pixel's electrons table not the
block's expected photon-transfer curve; SAR transition levels that are not where the converter's code
changes; CLI errors with a traceback or without the block's name.
"""

import subprocess
import sys

import numpy as np
import pytest

from circuitsim.blocks import block_names
from circuitsim.errors import ArtifactError, InputRangeError
from circuitsim.export import read_all, read_block, read_lut_file


@pytest.fixture(scope="module")
def all_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("all") / "luts.npz"
    result = subprocess.run([sys.executable, "-m", "circuitsim.cli", "export", "--all", "--corner", "tt",
                             "--out", str(path), "--json"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return path


def test_every_registered_block_exports(all_file):
    luts = read_all(all_file)
    assert sorted(luts) == sorted(block_names(plugins=False))
    for block, b in luts.items():
        assert b.tables, block
        for table in b.tables.values():
            assert table.mean_values.shape == tuple(a.size for a in table.axes)
            assert np.all(np.isfinite(table.mean_values)), (block, table.name)
            if table.sigma_values is not None:
                assert np.all(table.sigma_values >= 0), (block, table.name)


def test_scm_mac_table_is_the_block(all_file):
    from circuitsim.blocks import scm

    lut = scm.load_lut()
    t = read_lut_file(all_file, "scm")
    assert t.name == "mac" and t.axis_names == ["v_in", "word"]
    rng = np.random.default_rng(0)
    v = rng.uniform(lut.x_v[0], lut.x_v[-1], 500)
    w = rng.integers(0, 32, 500)
    hard = scm.scm_mac(v, w, lut, scm.ScmParams(mode="hard"))
    np.testing.assert_allclose(t.mean(v, w), hard, atol=1e-12)
    # σ: the block's noisy mode without kT/C, same draws, is mean + σ·z
    noisy = scm.scm_mac(v, w, lut, scm.ScmParams(mode="noisy", thermal_noise=False), np.random.default_rng(5))
    z = np.random.default_rng(5).standard_normal(v.shape)
    np.testing.assert_allclose(t.mean(v, w) + t.sigma(v, w) * z, noisy, atol=1e-12)
    th = read_block(all_file, "scm").table("thermal_sigma")
    np.testing.assert_allclose(th.mean(np.arange(32)), scm.thermal_sigma_v(np.arange(32), scm.ScmParams()), rtol=1e-12)
    with pytest.raises(InputRangeError, match="word = 3.5 is not on its grid"):
        t.mean(0.8, 3.5)


def test_comparator_and_ternary_tables_are_the_block(all_file):
    from circuitsim.blocks import comparator2t as c2t

    lut = c2t.load_lut()
    b = read_block(all_file, "comparator2t")
    vb = np.linspace(lut.v_bias_v[0], lut.v_bias_v[-1], 41)
    np.testing.assert_allclose(b.table("trip").mean(vb), c2t.trip_point_v(vb, lut), atol=1e-12)
    # the exported σ is the offset the noisy comparator applies: a step at trip + σ·z
    z = np.full(vb.shape, 1.0)
    just_below = b.table("trip").mean(vb) + b.table("trip").sigma(vb) - 1e-6
    noisy = c2t.comparator2t(just_below, vb, lut, c2t.Comparator2tParams(mode="noisy"), z_offset=z)
    assert np.all(noisy == 0) and np.all(c2t.comparator2t(just_below + 2e-6, vb, lut,
                                         c2t.Comparator2tParams(mode="noisy"), z_offset=z) == 1)
    assert set(read_block(all_file, "ternary").tables) >= {"lo_trip", "hi_trip", "lo_width", "hi_width"}


def test_pixel_cds_table_is_the_block_over_electrons(all_file):
    """The exported electrons -> CDS table is the block's hard-mode transfer on and between the grid points,
    its temporal σ the block's expected PTC, its mismatch σ the block's Monte Carlo σ, and between the grid
    points it meets the accuracy bar against SPICE's held-out transients."""
    from circuitsim.blocks import pixel_4t
    from circuitsim.calibration import metrics
    from circuitsim.store import ArtifactStore

    lut, params = pixel_4t.load_lut(), pixel_4t.params_from_artifact()
    t = read_lut_file(all_file, "pixel_4t", "cds")
    e = np.concatenate([lut.electrons_e, 0.5 * (lut.electrons_e[1:] + lut.electrons_e[:-1])])
    np.testing.assert_allclose(t.mean(e), pixel_4t.expected_output_v(e, lut, params), atol=1e-12)
    _, var = pixel_4t.expected_ptc(lut.electrons_e, lut, params)
    np.testing.assert_allclose(t.sigma(lut.electrons_e), np.sqrt(var), rtol=1e-12)
    mm = read_lut_file(all_file, "pixel_4t", "cds_mismatch_sigma")
    spice_mc = ArtifactStore().spice_arrays("pixel_4t")
    np.testing.assert_allclose(mm.mean(spice_mc["mc_fit_x"]), spice_mc["mc_fit_out_V"].std(axis=0, ddof=1), rtol=1e-12)
    err = metrics.error_lsb(t.mean(spice_mc["holdout_x"]), spice_mc["nominal_holdout_out_V"],
                            pixel_4t.SPEC.lsb_v)
    assert err.max() <= metrics.ERROR_BAR_LSB
    # the noise-free frame simulator's CDS output for the same electrons is the table's
    from circuitsim.sensor import leca

    flux = lut.electrons_e[3] / (params.quantum_efficiency * 1e-2)
    models = leca.Models.load()
    assert leca.expected_cds_v(np.array([flux]), 1e-2, models, params)[0] == pytest.approx(
        t.mean(lut.electrons_e[3]), abs=1e-12)


def test_sar_transitions_are_where_the_code_changes(all_file):
    from circuitsim.blocks import sar_adc

    t = read_lut_file(all_file, "sar_adc_4b")
    params = sar_adc.calibrated_params(4)
    quiet = sar_adc.SarAdcParams(**{**params.__dict__, "noise_v": 0.0, "ktc_noise": False}) \
        if hasattr(params, "__dict__") else params
    edges = t.mean(np.arange(1, 16))
    lsb = read_block(all_file, "sar_adc_4b").scalar("lsb_V")
    step = lsb / 64
    below, _ = sar_adc.convert(edges - 1.5 * step, quiet)
    at, _ = sar_adc.convert(edges + 0.01 * step, quiet)
    assert np.all(at == np.arange(1, 16)) and np.all(below == np.arange(0, 15))
    assert np.all(np.abs(np.diff(edges) - lsb) < 0.3 * lsb), "a calibrated 4-bit converter is near uniform"
    assert np.all((t.sigma_values > 0.5 * params.offset_sigma_v) & (t.sigma_values < 3 * params.offset_sigma_v))


def test_refusals_name_the_block(tmp_path):
    r = subprocess.run([sys.executable, "-m", "circuitsim.cli", "export", "psf", "sarr", "--out",
                        str(tmp_path / "x.npz")], capture_output=True, text=True)
    assert r.returncode == 2 and "unknown block 'sarr'" in r.stderr and "Traceback" not in r.stderr
    r = subprocess.run([sys.executable, "-m", "circuitsim.cli", "export", "psf", "--corner", "zz", "--out",
                        str(tmp_path / "x.npz")], capture_output=True, text=True)
    assert r.returncode != 0 and "Traceback" not in r.stderr
    path = tmp_path / "psf.npz"
    subprocess.run([sys.executable, "-m", "circuitsim.cli", "export", "psf", "--out", str(path)], check=True,
                   capture_output=True)
    with pytest.raises(ArtifactError, match="psf exported no table 'mac'; it has transfer"):
        read_lut_file(path, "psf", "mac")
    with pytest.raises(ArtifactError, match="psf/transfer has no sigma|no scalar"):
        read_block(path, "psf").scalar("nope")


def test_col_amp_tables_are_the_block_per_gain(all_file):
    """Per gain: the exported mean is the block's hard-mode output between grid points, the exported σ the
    mismatch σ the block's noisy mode applies (its samples minus the mean over the same normals), and the
    exported transfer meets the accuracy bar against SPICE's held-out points of that gain."""
    from circuitsim.blocks import col_amp as ca
    from circuitsim.calibration import metrics
    from circuitsim.store import ArtifactStore

    lut = ca.load_lut()
    spice = ArtifactStore().spice_arrays("col_amp")
    for k, gain in enumerate(ca.GAINS):
        t = read_lut_file(all_file, "col_amp", f"transfer_g{gain}")
        x = np.concatenate([lut.x_v[k], 0.5 * (lut.x_v[k][1:] + lut.x_v[k][:-1])])
        g = np.full(x.shape, float(gain))
        hard = ca.col_amp(x, g, lut, ca.ColAmpParams(mode="hard"))
        np.testing.assert_allclose(t.mean(x), hard, atol=1e-12)
        noisy = ca.col_amp(x, g, lut, ca.ColAmpParams(mode="noisy", thermal_noise=False), np.random.default_rng(3))
        z = np.random.default_rng(3).standard_normal(x.shape)
        keep = np.abs(z) > 0.1
        np.testing.assert_allclose(t.sigma(x)[keep], ((noisy - hard) / z)[keep], rtol=1e-9)
        sel = spice["holdout_x"][:, 1] == gain
        err = metrics.error_lsb(t.mean(spice["holdout_x"][sel, 0]), spice["nominal_holdout_out_V"][sel],
                                ca.SPEC.lsb_v)
        assert err.max() <= metrics.ERROR_BAR_LSB, (gain, err.max())

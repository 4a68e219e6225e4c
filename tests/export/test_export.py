import json
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from circuitsim.blocks import block_names
from circuitsim.blocks.modes import Mode
from circuitsim.errors import ArtifactError, InputRangeError
from circuitsim.export import FORMAT_VERSION, export_luts, read_lut_file, read_metadata

import torch  # the torch extra: installed by make test, so a missing torch fails here instead of skipping

from circuitsim.export.torch_lut import LutTransfer, StraightThroughQuantizer

BLOCKS = [b for b in block_names(plugins=False) if b in ("sample_hold", "psf", "fvf")]


@pytest.fixture(scope="module")
def lut_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("lut") / "luts.npz"
    export_luts(BLOCKS, path)
    return path


def test_metadata_and_provenance(lut_file):
    meta, arrays = read_metadata(lut_file)
    assert meta["format_version"] == FORMAT_VERSION and set(meta["blocks"]) == set(BLOCKS)
    for block, info in meta["blocks"].items():
        assert info["corner"] == "tt" and info["temperature_C"] == 27
        assert info["mc_samples"] >= 200 and len(info["artifact_content_sha256"]) == 64
        t = f"{block}/transfer"
        assert arrays[f"{t}/axis0"].shape == arrays[f"{t}/mean"].shape == arrays[f"{t}/sigma"].shape


def test_numpy_loader_matches_the_block_model(lut_file):
    """The exported mean is the block's own hard-mode transfer (sample_hold: x + error LUT)."""
    from circuitsim.blocks.sample_hold import SampleHoldParams, load_lut as sh_lut, sample_hold

    table = read_lut_file(lut_file, "sample_hold")
    x = np.linspace(0.12, 1.68, 50)
    np.testing.assert_allclose(table.mean(x), sample_hold(x, sh_lut(), SampleHoldParams(mode="hard")), atol=1e-12)


def test_sample_statistics_and_seed(lut_file):
    table = read_lut_file(lut_file, "psf")
    x = np.full(100_000, 0.6)
    a = table.sample(x, np.random.default_rng(3))
    assert np.array_equal(a, table.sample(x, np.random.default_rng(3)))
    assert a.mean() == pytest.approx(table.mean(0.6), abs=4 * table.sigma(0.6) / np.sqrt(x.size))
    assert a.std() == pytest.approx(table.sigma(0.6), rel=0.02)


def test_strict_range(lut_file):
    table = read_lut_file(lut_file, "psf")
    with pytest.raises(InputRangeError, match=r"outside the calibrated range \[0.2, 1\] V"):
        table.mean(1.5, strict=True)
    assert table.mean(1.5) == table.mean_values[-1]


@pytest.mark.parametrize("block", BLOCKS)
def test_torch_agrees_with_numpy(lut_file, block):
    table = read_lut_file(lut_file, block)
    x = np.linspace(table.x[0] - 0.05, table.x[-1] + 0.05, 301)
    hard = LutTransfer(table, "hard", dtype=torch.float64)
    np.testing.assert_allclose(hard(torch.tensor(x)).numpy(), table.mean(x), atol=1e-12)
    assert torch.equal(LutTransfer(table, "ideal")(torch.tensor(x)), torch.tensor(x))


def test_torch_noise_matches_sigma_and_is_seeded(lut_file):
    table = read_lut_file(lut_file, "fvf")
    layer = LutTransfer(table, "noisy", dtype=torch.float64)
    x = torch.full((200_000,), 0.5, dtype=torch.float64)
    a = layer(x, generator=torch.Generator().manual_seed(1))
    b = layer(x, generator=torch.Generator().manual_seed(1))
    assert torch.equal(a, b)
    assert float(a.std()) == pytest.approx(float(table.sigma(0.5)), rel=0.02)


def test_gradient_of_mean_matches_finite_differences(lut_file):
    table = read_lut_file(lut_file, "psf")
    layer = LutTransfer(table, "noisy", dtype=torch.float64)
    x = torch.tensor([0.33, 0.47, 0.71, 0.88], dtype=torch.float64, requires_grad=True)
    layer(x, generator=torch.Generator().manual_seed(0)).sum().backward()
    h = 1e-6
    xs = x.detach().numpy()
    fd = (table.mean(xs + h) - table.mean(xs - h)) / (2 * h)
    np.testing.assert_allclose(x.grad.numpy(), fd, rtol=1e-6)
    assert np.all(np.abs(fd) > 0.1), "a buffer's gain is far from zero"


def test_straight_through_quantizer():
    q = StraightThroughQuantizer(4, 0.2, 1.0)
    x = torch.tensor([0.1, 0.2, 0.2499, 0.2501, 0.6001, 0.9999, 1.0, 1.3], dtype=torch.float64, requires_grad=True)
    y = q(x)
    lsb = 0.8 / 16
    assert q.codes(x).tolist() == [0, 0, 0, 1, 8, 15, 15, 15]
    np.testing.assert_allclose(y.detach().numpy()[[1, 3, 4]], [0.2 + lsb / 2, 0.25 + lsb / 2, 0.6 + lsb / 2], atol=1e-12)
    y.sum().backward()
    assert x.grad.tolist() == [0, 1, 1, 1, 1, 1, 1, 0], "STE: gradient 1 inside the range, 0 outside"
    assert torch.equal(StraightThroughQuantizer(4, 0.2, 1.0, "ideal")(x), x)
    assert torch.equal(StraightThroughQuantizer(4, 0.2, 1.0, Mode.NOISY)(x), y)
    with pytest.raises(InputRangeError, match="mode must be one of ideal, hard, noisy, got 'fuzzy'"):
        StraightThroughQuantizer(4, 0.2, 1.0, "fuzzy")
    with pytest.raises(InputRangeError, match="'soft' is now called 'ideal'"):
        StraightThroughQuantizer(4, 0.2, 1.0, "soft")


def test_corrupted_file(lut_file, tmp_path):
    bad = tmp_path / "truncated.npz"
    bad.write_bytes(lut_file.read_bytes()[:500])
    with pytest.raises(ArtifactError, match="not a readable circuitsim LUT file"):
        read_lut_file(bad)


def _rewrite(src, dst, edit):
    """Copy an export file, changing its metadata or arrays through ``edit(meta, arrays)``."""
    from circuitsim.store import npz_bytes

    meta, arrays = read_metadata(src)
    edit(meta, arrays)
    arrays["__metadata__"] = np.array(json.dumps(meta))
    dst.write_bytes(npz_bytes(arrays))


def test_tampered_arrays_detected(lut_file, tmp_path):
    bad = tmp_path / "tampered.npz"
    _rewrite(lut_file, bad, lambda m, a: a["psf/transfer/mean"].__setitem__(0, 9.9))
    with pytest.raises(ArtifactError, match="do not match the hash"):
        read_lut_file(bad, "psf")


def test_newer_format_refused(lut_file, tmp_path):
    newer = tmp_path / "newer.npz"
    _rewrite(lut_file, newer, lambda m, a: m.__setitem__("format_version", FORMAT_VERSION + 1))
    with pytest.raises(ArtifactError, match="newer than this circuitsim .* upgrade circuitsim"):
        read_lut_file(newer, "psf")


def test_foreign_npz_and_block_choice(lut_file, tmp_path):
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, a=np.arange(3))
    with pytest.raises(ArtifactError, match="not a circuitsim LUT file"):
        read_lut_file(foreign)
    with pytest.raises(ArtifactError, match="name one with block="):
        read_lut_file(lut_file)
    with pytest.raises(ArtifactError, match="holds no block 'scm'"):
        read_lut_file(lut_file, "scm")
    assert zipfile.is_zipfile(lut_file)


def test_cli_export_and_import_stays_light(tmp_path):
    out = tmp_path / "x.npz"
    result = subprocess.run([sys.executable, "-m", "circuitsim.cli", "export", "psf", "--out", str(out), "--json"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["blocks"]["psf"]["corner"] == "tt"
    code = "import sys, circuitsim.export; print('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"


def test_torch_interp_on_a_non_uniform_grid_matches_numpy():
    from circuitsim.export.torch_lut import interp_linear

    xp = np.array([0.0, 0.1, 0.35, 0.4, 1.0])
    fp = np.array([0.0, 1.0, -2.0, 0.5, 3.0])
    x = np.linspace(-0.2, 1.2, 401)
    got = interp_linear(torch.tensor(x), torch.tensor(xp), torch.tensor(fp)).numpy()
    np.testing.assert_allclose(got, np.interp(x, xp, fp), atol=1e-12)


def test_older_format_refused_with_the_command(lut_file, tmp_path):
    """A version-2 file (one 1-D transfer per block) is refused by name, with the command that rewrites it."""
    from circuitsim.export import _metadata_sha256

    def to_v2(meta, arrays):
        meta["format_version"] = 2
        meta["metadata_sha256"] = _metadata_sha256(meta)

    older = tmp_path / "v2.npz"
    _rewrite(lut_file, older, to_v2)
    result = subprocess.run([sys.executable, "-c", f"from circuitsim.export import read_lut_file; "
                             f"read_lut_file({str(older)!r}, 'psf')"], capture_output=True, text=True)
    assert "format version 2" in result.stderr and "circuitsim export" in result.stderr
    with pytest.raises(ArtifactError, match="format version 2, which holds one 1-D transfer"):
        read_lut_file(older, "psf")

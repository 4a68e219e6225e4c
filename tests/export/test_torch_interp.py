"""The torch layers' 1-D lookup (Interp1d): a non-uniform LUT grid whose knots lie on one lattice (the pixel's
electron grid: 0, 1000, 2500, 5000 ... 60000 e) is refined onto that uniform lattice, so the segment is found
arithmetically; the function must stay numpy.interp of the original table (the independent reference)."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from circuitsim.export.torch_layers import Interp1d, uniform_refinement  # noqa: E402

PIXEL_LIKE = np.array([0, 1000, 2500, 5000, 7500, 10000, 18000, 19000, 20000, 35000, 47500, 60000], float)


def test_the_refined_grid_holds_every_knot_on_one_step():
    fine = uniform_refinement(PIXEL_LIKE)
    assert fine is not None and np.allclose(np.diff(fine), 500.0)
    assert np.all(np.isin(PIXEL_LIKE, fine))


def test_a_refined_lookup_is_numpy_interp_of_the_original_table():
    rng = np.random.default_rng(3)
    table = np.cumsum(rng.uniform(0.1, 1.0, PIXEL_LIKE.size))  # a bent, increasing transfer
    lut = Interp1d(PIXEL_LIKE, table, dtype=torch.float64)
    assert lut.uniform and lut.n == 121
    x = np.concatenate([rng.uniform(-5e3, 65e3, 2000), PIXEL_LIKE])  # inside, outside (held) and on knots
    got = lut(torch.as_tensor(x)).numpy()
    assert np.allclose(got, np.interp(x, PIXEL_LIKE, table), rtol=0, atol=1e-12)


def test_a_grid_on_no_lattice_keeps_the_search():
    x = np.array([0.0, 1.0, 1.0 + np.sqrt(2.0), 5.0])
    assert uniform_refinement(x) is None
    table = np.array([0.0, 2.0, 3.0, 7.0])
    lut = Interp1d(x, table, dtype=torch.float64)
    assert not lut.uniform
    probe = np.linspace(-1, 6, 50)
    assert np.allclose(lut(torch.as_tensor(probe)).numpy(), np.interp(probe, x, table), atol=1e-12)

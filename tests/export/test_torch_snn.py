"""InSensorSnnLayer against the frame simulator (circuitsim.sensor.snn.simulate_snn_frame, the independent
source): the same spikes and CDS outputs in hard mode on the same image, width codes and thresholds; in
noisy mode the same CDS output statistics (mean and σ per output over frames) and spike rates.

Bugs this catches: taps in another order than the simulator's (colour, row, column) windows, a phase sign
swapped, the column bisection or the bilinear current table off by a cell, the CDS clip or transfer
missing, the threshold not mapped through the comparator's bias (trip LUT), noise left on in eval(),
gradients that do not reach the weights or the thresholds, and bad input that tracebacks.
"""

import numpy as np
import pytest
import torch

from circuitsim.errors import InputRangeError
from circuitsim.export import export_all, read_all
from circuitsim.export.torch_layers import InSensorSnnLayer
from circuitsim.sensor import snn


@pytest.fixture(scope="module")
def luts(tmp_path_factory):
    path = tmp_path_factory.mktemp("luts") / "luts.npz"
    export_all(path)
    return read_all(path)


def _image(seed, side=16):
    return np.random.default_rng(seed).uniform(0.0, 1.0, (side, side, 3))


@pytest.mark.parametrize("channels, seed", [(8, 1), (3, 5)])
def test_hard_mode_gives_the_simulators_spikes(luts, channels, seed):
    img = _image(seed)
    cfg = snn.default_snn_config(channels, seed=seed, mode="hard")
    ref = snn.simulate_snn_frame(img, cfg, np.random.default_rng(0))
    layer = InSensorSnnLayer(luts, channels, "hard", weights=cfg.weights, thresholds_v=cfg.thresholds_v).eval()
    x = torch.tensor(img.transpose(2, 0, 1))[None]  # float64: the chain runs in float64 whatever the input
    np.testing.assert_allclose(layer.cds_output(x)[0].detach().numpy(), ref.cds_v, atol=1e-12)
    spikes = layer(x)[0].detach().numpy()
    assert np.array_equal(spikes, ref.spikes)
    assert 0.05 < spikes.mean() < 0.95, "the case must exercise both spike values"
    assert int(layer.clipped) == ref.clipped
    cfg2 = layer.snn_config("hard")
    assert np.array_equal(cfg2.weights, cfg.weights)


def test_noisy_statistics_match_the_frame_simulator(luts):
    img, k = _image(3, 12), 40
    cfg = snn.default_snn_config(4, seed=3, mode="noisy")
    models = snn.SnnModels.load()
    refs = [snn.simulate_snn_frame(img, cfg, np.random.default_rng(100 + i), models) for i in range(k)]
    ref_cds = np.stack([r.cds_v for r in refs])
    ref_spk = np.stack([r.spikes for r in refs]).astype(float)
    layer = InSensorSnnLayer(luts, 4, "noisy", weights=cfg.weights, thresholds_v=cfg.thresholds_v,
                             generator=torch.Generator().manual_seed(0)).train()
    x = torch.tensor(img.transpose(2, 0, 1))[None]
    cds, spk = [], []
    with torch.no_grad():
        for _ in range(k):
            if layer.z_offset is not None:
                layer.resample_instance()
            spk.append(layer(x)[0].numpy())
            cds.append(layer.cds_output(x)[0].numpy())
    cds, spk = np.stack(cds), np.stack(spk)
    ratio = np.sqrt(cds.var(0, ddof=1).mean() / ref_cds.var(0, ddof=1).mean())
    assert 0.85 < ratio < 1.15, ratio
    z = (cds.mean(0) - ref_cds.mean(0)) / np.sqrt((cds.var(0, ddof=1) + ref_cds.var(0, ddof=1)) / k)
    assert np.abs(z).max() < 4.5, np.abs(z).max()
    assert abs(spk.mean() - ref_spk.mean()) < 0.03
    assert np.abs(spk.mean(0) - ref_spk.mean(0)).mean() < 0.08


def test_eval_is_deterministic_and_gradients_reach_weights_and_thresholds(luts):
    x = torch.tensor(_image(4).transpose(2, 0, 1), dtype=torch.float32)[None]
    layer = InSensorSnnLayer(luts, 4, "noisy", generator=torch.Generator().manual_seed(1)).eval()
    assert torch.equal(layer(x), layer(x)), "eval(): fixed comparator instance, no temporal noise"
    layer.train()
    y = layer(x)
    (y * torch.linspace(-1, 1, y.numel()).reshape(y.shape)).sum().backward()
    assert torch.isfinite(layer.weight.grad).all() and layer.weight.grad.abs().sum() > 0
    assert layer.threshold_v.grad.abs().sum() > 0
    assert set(np.unique(y.detach().numpy())) <= {0.0, 1.0}


def test_batchnorm_fold_sets_the_thresholds(luts):
    from circuitsim.blocks.comparator2t import fold_batchnorm

    bn = torch.nn.BatchNorm2d(2).eval()
    bn.weight.data = torch.tensor([2.0, -1.0])
    bn.bias.data = torch.tensor([0.5, 0.1])
    bn.running_mean.data = torch.tensor([0.01, 0.02])
    bn.running_var.data = torch.tensor([0.0004, 0.0009])
    layer = InSensorSnnLayer(luts, 2, "hard", weights=np.ones((2, 3, 3, 3), int))
    layer.fold_batchnorm(bn, theta=1.0)
    th, inv = fold_batchnorm([2.0, -1.0], [0.5, 0.1], [0.01, 0.02], [0.0004, 0.0009])
    np.testing.assert_allclose(layer.threshold_v.detach().numpy(), np.where(inv, -th, th), rtol=1e-6)
    assert np.array_equal(layer.hardware_weights()[1], -np.ones((3, 3, 3), int))


def test_bad_input(luts):
    with pytest.raises(InputRangeError, match="integer width codes"):
        InSensorSnnLayer(luts, 2, weights=np.full((2, 3, 3, 3), 4))
    with pytest.raises(InputRangeError, match="no ideal transfer"):
        InSensorSnnLayer(luts, 2, "ideal")
    with pytest.raises(InputRangeError, match="channels"):
        InSensorSnnLayer(luts, 0)
    with pytest.raises(InputRangeError, match="RGB"):
        InSensorSnnLayer(luts, 2)(torch.zeros(1, 16, 16))


def test_training_moves_the_spike_rate_to_a_target(luts):
    """The surrogate gradient points the right way: 15 Adam steps on the thresholds and weights take the
    hard-mode spike rate from the default config's toward 0.2 (measured by the frame simulator)."""
    img = _image(6, 12)
    cfg = snn.default_snn_config(4, seed=6, mode="hard")
    layer = InSensorSnnLayer(luts, 4, "hard", weights=cfg.weights, thresholds_v=cfg.thresholds_v,
                             surrogate_width_v=0.1).train()
    x = torch.tensor(img.transpose(2, 0, 1), dtype=torch.float32)[None]
    opt = torch.optim.Adam(layer.parameters(), lr=0.02)
    start = abs(snn.simulate_snn_frame(img, cfg, np.random.default_rng(0)).spike_rate - 0.2)
    for _ in range(15):
        opt.zero_grad()
        ((layer(x).mean() - 0.2) ** 2).backward()
        opt.step()
    end = abs(snn.simulate_snn_frame(img, layer.snn_config("hard"), np.random.default_rng(0)).spike_rate - 0.2)
    assert end < 0.5 * start, (start, end)

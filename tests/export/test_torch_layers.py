"""LecaEncoder against the frame simulator (circuitsim.sensor.leca), the independent source: the same codes in
ideal and hard mode on the same image and weights (n_ch 4, 8 with repetitive readout, 6 at 1.5 bit); in
noisy mode the same analog output as the simulator's own PE chain fed the same hardware instance (temporal
noise off), and the same output statistics (mean and σ per output over frames) with temporal noise on.

Bugs this catches: MACs accumulated in another order or on the wrong o-buffer, a missing reset pedestal or
injection term, the collapsed Eq. 3 coefficients off by one MAC, the pixel→voltage mapping or the ADC
boundaries shifted by half an LSB, mismatch redrawn per element instead of per column PE (σ of the instance
test or the statistics would differ), temporal noise left on after eval(), a generator that does not make
runs reproducible, gradients not reaching the weights or the ADC full scale, and bad input that tracebacks.
"""

import numpy as np
import pytest
import torch

from circuitsim.errors import ArtifactError, CircuitsimError, InputRangeError
from circuitsim.export import export_all, read_all
from circuitsim.export.torch_layers import HardwareInstance, LecaEncoder
from circuitsim.sensor import leca


@pytest.fixture(scope="module")
def luts(tmp_path_factory):
    path = tmp_path_factory.mktemp("luts") / "luts.npz"
    export_all(path)
    return read_all(path)


@pytest.fixture(scope="module")
def raw():
    return leca.rgb_to_bayer(leca.test_scene(64))


@pytest.mark.parametrize("n_ch, q_bits", [(4, 4), (8, 3), (6, 1.5)])
@pytest.mark.parametrize("mode", ["ideal", "hard"])
def test_same_codes_as_the_frame_simulator(luts, raw, n_ch, q_bits, mode):
    w = np.random.default_rng(n_ch).integers(-15, 16, size=(n_ch, 4, 4))
    ref = leca.simulate_frame(raw, leca.LecaConfig(weights=w, q_bits=q_bits, mode=mode), np.random.default_rng(1))
    layer = LecaEncoder(luts, n_ch, q_bits, mode, weights=w, dtype=torch.float64).eval()
    x = torch.tensor(raw)[None]
    np.testing.assert_allclose(layer.analog(x)[0].detach().numpy(), ref.analog_v, atol=1e-12)
    assert np.array_equal(layer(x)[0].detach().numpy(), ref.codes)
    # float32 (the default): the codes agree except where the analog value sits within float32 rounding of a
    # boundary
    codes32 = LecaEncoder(luts, n_ch, q_bits, mode, weights=w).eval()(x.float())[0].detach().numpy()
    assert (codes32 != ref.codes).mean() < 2e-3


def test_noisy_instance_equals_the_simulators_pe_chain(luts, raw):
    """Same hardware instance, temporal noise off: the layer's v_d is leca.pe_chain's with those draws."""
    w = leca.default_weights(8)
    layer = LecaEncoder(luts, 8, 3, "noisy", weights=w, dtype=torch.float64).eval()
    inst = HardwareInstance.from_seed(3, raw.shape[1] // 4, 4, raw.shape, torch.float64)
    inst.prnu_z.zero_(), inst.dsnu_z.zero_(), inst.cds_z.zero_()  # the pixel's fixed pattern: the statistics test
    layer.set_instance(inst)
    layer.dark_e_per_s = 0.0                  # the simulator's noise-free pixel has no dark electrons
    cfg = leca.LecaConfig(weights=w, q_bits=3, mode="noisy")
    models = leca.Models.load()
    v_pix = leca.pixel_voltages(raw, leca.LecaConfig(weights=w, q_bits=3, mode="hard"), models, None)
    draws = leca.Draws(inst.z_psf.numpy(), inst.z_scm.numpy(), inst.z_fvf.numpy(), temporal=False)
    v_d = leca._to_feature_map(leca.pe_chain(v_pix, cfg, models, draws), cfg)
    np.testing.assert_allclose(layer.analog(torch.tensor(raw)[None])[0].detach().numpy(), v_d, atol=1e-12)


def test_noisy_statistics_match_the_frame_simulator(luts):
    """Per output over 60 frames (new instance + temporal noise each, as simulate_frame draws them): pooled σ
    ratio within 0.9..1.1 and every output's mean within 4 standard errors."""
    raw = leca.rgb_to_bayer(leca.test_scene(32))
    w, k = leca.default_weights(4), 60
    models = leca.Models.load()
    cfg = leca.LecaConfig(weights=w, q_bits=4, mode="noisy")
    ref = np.stack([leca.simulate_frame(raw, cfg, np.random.default_rng(100 + i), models).analog_v for i in range(k)])
    layer = LecaEncoder(luts, 4, 4, "noisy", weights=w, dtype=torch.float64,
                        generator=torch.Generator().manual_seed(0)).train()
    with torch.no_grad():
        out = torch.cat([layer.analog(torch.tensor(raw)[None]) for _ in range(k)]).numpy()
    ratio = np.sqrt(out.var(0, ddof=1).mean() / ref.var(0, ddof=1).mean())
    assert 0.9 < ratio < 1.1, ratio
    z = (out.mean(0) - ref.mean(0)) / np.sqrt((out.var(0, ddof=1) + ref.var(0, ddof=1)) / k)
    assert np.abs(z).max() < 4.5, np.abs(z).max()
    # codes: per-output mean code within 0.25 LSB on average
    codes_ref = leca.quantize(ref, cfg)
    codes = layer.quantize(torch.tensor(out)).detach().numpy()
    assert np.abs(codes.mean(0) - codes_ref.mean(0)).mean() < 0.25


def test_eval_is_deterministic_and_the_generator_reproduces(luts, raw):
    x = torch.tensor(raw, dtype=torch.float32)[None]
    layer = LecaEncoder(luts, 4, 4, "noisy", generator=torch.Generator().manual_seed(7))
    layer.train()
    a = layer(x)
    layer.eval()
    e1, e2 = layer(x), layer(x)
    assert torch.equal(e1, e2), "eval(): fixed instance, no temporal noise"
    layer.eval_temporal_noise = True
    assert not torch.equal(layer(x), e1)
    again = LecaEncoder(luts, 4, 4, "noisy", generator=torch.Generator().manual_seed(7)).train()
    assert torch.equal(again(x), a)
    # the instance is fixed per column PE: a change of instance changes whole columns of PEs together
    layer.eval_temporal_noise = False
    layer.resample_instance()
    assert not torch.equal(layer(x), e1)


def test_gradients_reach_weights_and_full_scale(luts, raw):
    layer = LecaEncoder(luts, 4, 4, "noisy", generator=torch.Generator().manual_seed(0)).train()
    y = layer(torch.tensor(raw, dtype=torch.float32)[None])
    (y * torch.linspace(-1, 1, y.numel()).reshape(y.shape)).sum().backward()
    assert layer.weight.grad is not None and torch.isfinite(layer.weight.grad).all()
    assert layer.weight.grad.abs().sum() > 0 and layer.log_full_scale.grad.abs() > 0
    # straight through: the forward used integers, the parameter stays float
    assert np.array_equal(layer.hardware_weights(), np.rint(layer.weight.detach().numpy()).astype(int))


def test_dtype_and_rgb_input(luts):
    rgb = torch.rand(2, 3, 16, 16)
    layer = LecaEncoder(luts, 4, 4, "hard", dtype=torch.float64).eval()
    assert layer(rgb.double()).dtype == torch.float64 and layer(rgb.double()).shape == (2, 4, 8, 8)
    # RGB pixel -> RGGB quad: the same codes as the raw mosaic of the quads
    raw = torch.zeros(2, 32, 32, dtype=torch.float64)
    raw[:, 0::2, 0::2], raw[:, 0::2, 1::2], raw[:, 1::2, 0::2], raw[:, 1::2, 1::2] = rgb[:, 0], rgb[:, 1], rgb[:, 1], rgb[:, 2]
    assert torch.equal(layer(rgb.double()), layer(raw))


def test_bad_input(luts):
    with pytest.raises(InputRangeError, match="integers in -15..15"):
        LecaEncoder(luts, 2, 4, weights=np.full((2, 4, 4), 16))
    with pytest.raises(InputRangeError, match="n_ch must be a positive integer"):
        LecaEncoder(luts, 0, 4)
    with pytest.raises(InputRangeError, match="q_bits must be one of"):
        LecaEncoder(luts, 4, 5)
    with pytest.raises(InputRangeError, match="mode must be one of"):
        LecaEncoder(luts, 4, 4, "fuzzy")
    with pytest.raises(ArtifactError, match="needs the 'scm' tables"):
        LecaEncoder({k: v for k, v in luts.items() if k != "scm"}, 4, 4)
    layer = LecaEncoder(luts, 4, 4, "hard")
    with pytest.raises(InputRangeError, match="sides divisible by 4"):
        layer(torch.zeros(1, 30, 30))
    before = int(layer.clipped_inputs)
    layer(torch.full((1, 8, 8), -0.5))
    assert int(layer.clipped_inputs) - before == 64, "negative image values are clipped and counted"
    assert issubclass(InputRangeError, CircuitsimError)


def test_chain_has_no_graph_breaks_and_compiled_front_gives_the_same_codes(luts, raw):
    """The noise is drawn outside the chain, so dynamo traces it whole; the compiled front end computes what
    the eager one does (hard mode, against the frame simulator's codes)."""
    layer = LecaEncoder(luts, 8, 3, "noisy", generator=torch.Generator().manual_seed(0)).train()
    x = layer._raw(torch.rand(1, 3, 8, 8))
    layer.resample_instance(tuple(x.shape[-2:]))
    explanation = torch._dynamo.explain(layer._chain)(x, True, layer.instance, layer.draw_temporal_noise(x))
    assert explanation.graph_break_count == 0, [r.reason for r in explanation.break_reasons]
    w = np.random.default_rng(2).integers(-15, 16, size=(4, 4, 4))
    ref = leca.simulate_frame(raw, leca.LecaConfig(weights=w, q_bits=4, mode="hard"), np.random.default_rng(1))
    hard = LecaEncoder(luts, 4, 4, "hard", weights=w, dtype=torch.float64).eval().compile()
    assert np.array_equal(hard(torch.tensor(raw)[None])[0].detach().numpy(), ref.codes)

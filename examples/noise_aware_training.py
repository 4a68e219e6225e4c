"""Noise-aware training of a LeCA encoder + linear classifier on scikit-learn's digits.

Each 8x8 digit becomes a 16x16 raw Bayer mosaic: every digit pixel is one RGGB quad (the grey level on all
four colour sites, the RGB -> raw mapping of the LeCA paper), so each 4x4 LeCA kernel sees 2x2 digit pixels
and computes a real spatial feature; the encoder compresses 256 raw pixels to n_ch x 4 x 4 ADC codes.

(Why not a 4x upsampling to 32x32, as this example did first: then every 4x4 kernel sees one uniform digit
pixel, and in Eq. 3 a uniform block gives v_d = (A_p - A_n)·(v_in - V_CM) with A_b the product of the
buffer's charge-sharing factors — one fixed-sign scalar per channel whatever the weights, so the codes
barely depend on the image and training stays at chance.)

1. train with the encoder in ``ideal`` mode (Eq. 3, ideal buffers, no noise);
2. deploy the trained weights on the ``noisy`` hardware model (one fabricated instance + temporal noise):
   accuracy drops;
3. fine-tune noise-aware (``noisy`` mode, a new hardware instance per batch) and deploy on a fresh
   instance: accuracy recovers;
4. check the fine-tuned integer weights through the frame simulator (circuitsim.sensor.leca.simulate_frame,
   what ``circuitsim simulate leca`` runs) on a few test images: same codes as the layer in hard mode.

    python examples/noise_aware_training.py [--epochs 10] [--finetune 8] [--chips 5] [--small]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import torch

N_CH, Q_BITS = 8, 2
# the scene: exposure and the flux at image value 1 (LecaConfig's); the ADC full scale starts here and trains
SCENE = {"exposure_s": 10e-3, "max_flux_per_s": 5e5, "adc_full_scale_v": 0.1}


def load_digits_bayer(n: int | None = None):
    """(raw (N, 16, 16) in [0, 1], labels): each digit pixel -> one RGGB quad of its grey level."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x, y = d.images / 16.0, d.target
    if n:
        x, y = x[:n], y[:n]
    raw = np.kron(x, np.ones((2, 2)))
    return torch.tensor(raw, dtype=torch.float32), torch.tensor(y)


class CodeScale(torch.nn.Module):
    """ADC codes 0..L-1 -> [-1, 1] for the classifier (the codes stay what the hardware reads out)."""

    def __init__(self, levels: int):
        super().__init__()
        self.levels = levels

    def forward(self, codes):
        return codes * (2.0 / (self.levels - 1)) - 1.0


def accuracy(model, x, y) -> float:
    with torch.no_grad():
        return float((model(x).argmax(1) == y).float().mean())


def chip_accuracy(encoder, head, x, y, chips: int) -> float:
    """Mean test accuracy over ``chips`` freshly drawn hardware instances (temporal noise on)."""
    model = torch.nn.Sequential(encoder, head).eval()
    accs = []
    for _ in range(chips):
        encoder.resample_instance((x.shape[-2], x.shape[-1]))
        accs.append(accuracy(model, x, y))
    return float(np.mean(accs))


def train(encoder, head, x, y, epochs, lr_weights, gen, batch=64):
    """Adam; the encoder's integer-unit weights get their own learning rate (a step of ~lr_weights of one
    weight unit), the ADC full scale 0.01 in log units, the classifier 0.01."""
    model = torch.nn.Sequential(encoder, head).train()
    groups = [{"params": [encoder.weight], "lr": lr_weights}, {"params": head.parameters(), "lr": 0.01}]
    if encoder.log_full_scale is not None:
        groups.append({"params": [encoder.log_full_scale], "lr": 0.01})
    opt = torch.optim.Adam(groups)
    for _ in range(epochs):
        order = torch.randperm(len(x), generator=gen)
        for i in range(0, len(x), batch):
            idx = order[i:i + batch]
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(x[idx]), y[idx]).backward()
            opt.step()
    return model.eval()


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--finetune", type=int, default=8)
    ap.add_argument("--chips", type=int, default=5, help="hardware instances the noisy accuracies average over")
    ap.add_argument("--small", action="store_true", help="a tiny run (tests): 600 images, 6 + 1 epochs, 2 chips")
    args = ap.parse_args(argv)
    from circuitsim.export import export_luts, read_all
    from circuitsim.export.torch_layers import LecaEncoder
    from circuitsim.sensor import leca

    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    x, y = load_digits_bayer(600 if args.small else None)
    n_train = int(0.75 * len(x))
    xtr, ytr, xte, yte = x[:n_train], y[:n_train], x[n_train:], y[n_train:]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "luts.npz"
        export_luts(["pixel_4t", "psf", "scm", "fvf"], path)
        luts = read_all(path)
    rng = np.random.default_rng(0)
    w0 = rng.integers(1, 9, (N_CH, 4, 4)) * rng.choice([-1, 1], (N_CH, 4, 4))
    enc = LecaEncoder(luts, N_CH, Q_BITS, "ideal", weights=w0, generator=gen, **SCENE)
    head = torch.nn.Sequential(CodeScale(enc.levels), torch.nn.Flatten(), torch.nn.Linear(N_CH * 4 * 4, 10))
    epochs, fine, chips = (6, 1, 2) if args.small else (args.epochs, args.finetune, args.chips)

    model = train(enc, head, xtr, ytr, epochs, 0.05, gen)
    acc_ideal = accuracy(model, xte, yte)

    # deploy: the trained integer weights and full scale on fabricated chips, temporal noise on
    noisy = LecaEncoder(luts, N_CH, Q_BITS, "noisy", weights=enc.hardware_weights(), generator=gen,
                        eval_temporal_noise=True, **SCENE)
    noisy.log_full_scale.data.copy_(enc.log_full_scale.data)
    acc_noisy = chip_accuracy(noisy, head, xte, yte, chips)

    # noise-aware fine-tuning: a new instance per batch, temporal noise on; then fresh chips
    train(noisy, head, xtr, ytr, fine, 0.02, gen)
    acc_fine = chip_accuracy(noisy, head, xte, yte, chips)

    # the fine-tuned weights through the frame simulator (hard mode) equal the layer's hard-mode codes
    cfg = noisy.leca_config("hard")
    hard = LecaEncoder(luts, N_CH, Q_BITS, "hard", weights=cfg.weights, dtype=torch.float64,
                       **{**SCENE, "adc_full_scale_v": cfg.adc_full_scale_v}).eval()
    agree = np.mean([np.array_equal(leca.simulate_frame(xte[i].double().numpy(), cfg, np.random.default_rng(0)).codes,
                                    hard(xte[i:i + 1].double())[0].detach().numpy()) for i in range(5)])
    print(f"ideal training, ideal model: accuracy {acc_ideal:.3f}")
    print(f"deployed on the noisy hardware model: accuracy {acc_noisy:.3f} (mean of {chips} chips)")
    print(f"after noise-aware fine-tuning: accuracy {acc_fine:.3f} (mean of {chips} new chips)")
    print(f"fine-tuned weights through circuitsim.sensor.leca.simulate_frame (hard): same codes on "
          f"{agree * 100:.0f} % of 5 test images; weights in -15..15: {np.abs(cfg.weights).max() <= 15}")
    return {"ideal": acc_ideal, "noisy": acc_noisy, "finetuned": acc_fine, "simulator_agreement": agree}


if __name__ == "__main__":
    main()

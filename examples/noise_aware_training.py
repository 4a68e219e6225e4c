"""Noise-aware training of a LeCA encoder + small classifier on scikit-learn's digits (8x8, upsampled to a
32x32 Bayer mosaic: every colour site sees the digit's grey level).

1. train with the encoder in ``ideal`` mode (Eq. 3, ideal buffers, no noise);
2. deploy the trained weights on the ``noisy`` hardware model (fixed fabricated instance + temporal noise):
   accuracy drops;
3. fine-tune noise-aware (``noisy`` mode, a new hardware instance per batch) and deploy again: it recovers;
4. check the fine-tuned integer weights through the frame simulator (circuitsim.sensor.leca.simulate_frame,
   what ``circuitsim simulate leca`` runs) on a few test images: same codes as the layer in hard mode.

    python examples/noise_aware_training.py [--epochs 6] [--finetune 4] [--small]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import torch


def load_digits_bayer(n: int | None = None):
    from sklearn.datasets import load_digits

    d = load_digits()
    x = d.images / 16.0
    if n:
        x, y = x[:n], d.target[:n]
    else:
        y = d.target
    raw = np.kron(x, np.ones((4, 4)))  # 8x8 -> 32x32, grey on every Bayer site
    return torch.tensor(raw, dtype=torch.float32), torch.tensor(y)


def accuracy(model, x, y) -> float:
    with torch.no_grad():
        return float((model(x).argmax(1) == y).float().mean())


def train(model, x, y, epochs, lr, gen):
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(epochs):
        order = torch.randperm(len(x), generator=gen)
        for i in range(0, len(x), 64):
            idx = order[i:i + 64]
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(x[idx]), y[idx]).backward()
            opt.step()


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--finetune", type=int, default=4)
    ap.add_argument("--small", action="store_true", help="a tiny run (tests): 300 images, 1 + 1 epochs")
    args = ap.parse_args(argv)
    from circuitsim.export import export_luts, read_all
    from circuitsim.export.torch_layers import LecaEncoder
    from circuitsim.sensor import leca

    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    x, y = load_digits_bayer(300 if args.small else None)
    n_train = int(0.75 * len(x))
    xtr, ytr, xte, yte = x[:n_train], y[:n_train], x[n_train:], y[n_train:]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "luts.npz"
        export_luts(["pixel_4t", "psf", "scm", "fvf"], path)
        luts = read_all(path)
    # a dim scene (few photons) so that the hardware's noise matters
    kw = dict(exposure_s=10e-3, max_flux_per_s=5e5, adc_full_scale_v=0.1)
    n_ch, q_bits = 4, 2
    enc = LecaEncoder(luts, n_ch, q_bits, "ideal", weights=np.random.default_rng(0).integers(-8, 9, (n_ch, 4, 4)),
                      generator=gen, **kw)
    head = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(n_ch * 8 * 8, 10))
    model = torch.nn.Sequential(enc, head)
    epochs, fine = (1, 1) if args.small else (args.epochs, args.finetune)

    model.train(), train(model, xtr, ytr, epochs, 0.05, gen)
    model.eval()
    acc_ideal = accuracy(model, xte, yte)

    noisy = LecaEncoder(luts, n_ch, q_bits, "noisy", weights=enc.hardware_weights(), generator=gen,
                        eval_temporal_noise=True, **kw)
    noisy.log_full_scale.data.copy_(enc.log_full_scale.data)
    deployed = torch.nn.Sequential(noisy, head).eval()
    acc_noisy = accuracy(deployed, xte, yte)

    deployed.train(), train(deployed, xtr, ytr, fine, 0.02, gen)
    deployed.eval()
    noisy.resample_instance()  # a fresh chip: the fine-tuned weights must hold across instances
    acc_fine = accuracy(deployed, xte, yte)

    # the fine-tuned weights through the frame simulator (hard mode) equal the layer's hard-mode codes
    hard = LecaEncoder(luts, n_ch, q_bits, "hard", weights=noisy.hardware_weights(), dtype=torch.float64, **kw).eval()
    hard.log_full_scale.data.fill_(float(noisy.log_full_scale.detach()))
    cfg = noisy.leca_config("hard")
    agree = np.mean([np.array_equal(leca.simulate_frame(xte[i].double().numpy(), cfg, np.random.default_rng(0)).codes,
                                    hard(xte[i:i + 1].double())[0].detach().numpy()) for i in range(5)])
    print(f"ideal training, ideal model: accuracy {acc_ideal:.3f}")
    print(f"deployed on the noisy hardware model: accuracy {acc_noisy:.3f}")
    print(f"after noise-aware fine-tuning (new instance): accuracy {acc_fine:.3f}")
    print(f"fine-tuned weights through circuitsim.sensor.leca.simulate_frame (hard): same codes on "
          f"{agree * 100:.0f} % of 5 test images; weights in -15..15: {np.abs(cfg.weights).max() <= 15}")
    return {"ideal": acc_ideal, "noisy": acc_noisy, "finetuned": acc_fine, "simulator_agreement": agree}


if __name__ == "__main__":
    main()

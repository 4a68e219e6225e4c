"""Forward + backward of LecaEncoder (noisy, training: new instance per batch, temporal noise) against a plain
Conv2d of the same shape (3 -> n_ch, kernel 2, stride 2) on a 16x3x224x224 RGB batch; CPU, and CUDA when
present. Goal (issue 15): <= 3x the plain conv on CPU. Also reports torch.compile graph breaks.

    python benchmarks/torch_layers.py [--n-ch 8] [--q-bits 3] [--repeats 5] [--no-compile]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch


def _time(fn, repeats: int, sync) -> float:
    fn()
    sync()
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        sync()
        best = min(best, time.perf_counter() - t)
    return best


def run(device: str, n_ch: int, q_bits: float, repeats: int, luts) -> dict:
    from circuitsim.export.torch_layers import LecaEncoder

    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    x = torch.rand(16, 3, 224, 224, device=device)
    gen = torch.Generator(device=device).manual_seed(0)
    enc = LecaEncoder(luts, n_ch, q_bits, "noisy", generator=gen).to(device).train()
    conv = torch.nn.Conv2d(3, n_ch, 2, stride=2).to(device)

    def step(module):
        def f():
            module.zero_grad(set_to_none=True)
            module(x).sum().backward()
        return f

    t_enc = _time(step(enc), repeats, sync)
    t_conv = _time(step(conv), repeats, sync)
    return {"device": device, "leca_s": t_enc, "conv_s": t_conv, "ratio": t_enc / t_conv}


def graph_breaks(luts) -> int:
    from circuitsim.export.torch_layers import LecaEncoder

    enc = LecaEncoder(luts, 8, 3, "noisy", generator=torch.Generator().manual_seed(0)).train()
    enc.resample_instance((32, 32))
    explanation = torch._dynamo.explain(enc)(torch.rand(2, 3, 16, 16))
    for reason in explanation.break_reasons[:5]:
        print("  graph break:", reason.reason)
    return explanation.graph_break_count


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--n-ch", type=int, default=8)
    ap.add_argument("--q-bits", type=float, default=3)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--no-compile", action="store_true")
    args = ap.parse_args(argv)
    from circuitsim.export import export_luts, read_all

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "luts.npz"
        export_luts(["pixel_4t", "psf", "scm", "fvf"], path)
        luts = read_all(path)
    q = int(args.q_bits) if float(args.q_bits).is_integer() else args.q_bits
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, batch 16x3x224x224, "
          f"n_ch {args.n_ch}, q_bits {q}")
    for dev in devices:
        r = run(dev, args.n_ch, q, args.repeats, luts)
        print(f"{dev}: LecaEncoder(noisy) fwd+bwd {r['leca_s'] * 1e3:.1f} ms, Conv2d {r['conv_s'] * 1e3:.1f} ms, "
              f"ratio {r['ratio']:.1f}x (goal <= 3x on CPU)")
    if not args.no_compile:
        print(f"torch.compile graph breaks: {graph_breaks(luts)}")


if __name__ == "__main__":
    main()

"""Frame-level LeCA simulation benchmark (issue 8). All figures measured in this one run:

    python benchmarks/frame_sim.py

- full frame (448 x 448 Bayer, N_ch = 8, all noise): numba chain vs the NumPy reference, seconds per frame;
- simulated frames per second vs the sensor's own frame rate from the accounting engine (leca-8x3 timing);
- torch LutTransfer + straight-through quantizer overhead per forward pass vs a plain conv layer of the
  same shape (the LeCA encoder as Conv2d(3, 8, k=2, s=2) on a batch of 224 x 224 images).
"""

from __future__ import annotations

import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from circuitsim.sensor import leca  # noqa: E402


def best_of(fn, repeats=3):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def frame_benchmark():
    raw = leca.rgb_to_bayer(leca.test_scene())
    models = leca.Models.load()
    cfg = leca.LecaConfig(weights=leca.default_weights(8), q_bits=3, mode="noisy")
    leca.simulate_frame(raw, cfg, np.random.default_rng(0), models)  # compile / load the cache
    t_numba = best_of(lambda: leca.simulate_frame(raw, cfg, np.random.default_rng(1), models))
    t_numpy = best_of(lambda: leca.simulate_frame(raw, cfg, np.random.default_rng(1), models, reference=True), 2)
    # the PE chain alone (the pixel stage is shared by both paths)
    v_pix = leca.pixel_voltages(raw, cfg, models, np.random.default_rng(1))
    draws = leca.draw_chain(cfg, v_pix.shape[1], v_pix.shape[2], np.random.default_rng(2))
    c_numba = best_of(lambda: leca.pe_chain(v_pix, cfg, models, draws))
    c_numpy = best_of(lambda: leca.pe_chain_reference(v_pix, cfg, models, draws), 2)
    from circuitsim.accounting import evaluate

    sensor_fps = evaluate("leca-8x3", "sky130").frame_rate_hz
    return t_numba, t_numpy, c_numba, c_numpy, sensor_fps


def torch_benchmark():
    import torch

    from circuitsim.export import export_luts, read_lut_file
    from circuitsim.export.torch_lut import LutTransfer, StraightThroughQuantizer

    torch.set_num_threads(2)
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "luts.npz"
        export_luts(["fvf"], path)
        table = read_lut_file(path, "fvf")
    conv = torch.nn.Conv2d(3, 8, kernel_size=2, stride=2)
    lut, quant = LutTransfer(table, "noisy"), StraightThroughQuantizer(3, 0.2, 1.0)
    x = torch.rand(16, 3, 224, 224)
    with torch.no_grad():
        y = conv(x)
        scale = (y - y.min()) / (y.max() - y.min()) * 0.8 + 0.2  # into the LUT's input range

        def plain():
            conv(x)

        def with_hw():
            quant(lut(conv(x) * 0 + scale))

        plain()
        with_hw()
        t_plain, t_hw = best_of(plain, 5), best_of(with_hw, 5)
    return t_plain, t_hw


def main():
    t_numba, t_numpy, c_numba, c_numpy, sensor_fps = frame_benchmark()
    print("full LeCA frame, 448x448, N_ch=8 (2 pixel readouts), noisy chain:")
    print(f"  numba: {t_numba * 1e3:.0f} ms/frame; NumPy reference: {t_numpy * 1e3:.0f} ms/frame "
          f"-> numba {t_numpy / t_numba:.1f}x faster")
    print(f"  PE chain alone: numba {c_numba * 1e3:.0f} ms, NumPy {c_numpy * 1e3:.0f} ms "
          f"-> {c_numpy / c_numba:.1f}x")
    print(f"  simulated {1 / t_numba:.1f} frames/s vs the sensor's {sensor_fps:.0f} frames/s (leca-8x3, sky130 "
          f"budgets) -> simulation is {sensor_fps * t_numba:.1f}x slower than real time")
    t_plain, t_hw = torch_benchmark()
    print(f"torch, batch 16 x 3 x 224 x 224 -> Conv2d(3, 8, 2, stride 2): {t_plain * 1e3:.1f} ms; "
          f"+ LutTransfer(noisy) + STE quantizer: {t_hw * 1e3:.1f} ms -> overhead {t_hw / t_plain:.2f}x")


if __name__ == "__main__":
    main()

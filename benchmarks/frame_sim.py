"""Frame-level LeCA simulation benchmark (issues 8 and 21). All figures measured in this one run:

    python benchmarks/frame_sim.py [--baseline REV] [--no-torch]

- full frame (448 x 448 Bayer, N_ch = 8, all noise): the numba chain now (every random number drawn inside
  the kernels from its counter, circuitsim.rng) vs **before** (the implementation at ``--baseline``, default
  the last commit before issue 21, loaded from git: every number drawn up front by one NumPy Generator on one
  thread), and vs the NumPy reference; seconds per frame and the ratios;
- the **limit**: the time to draw just this frame's random numbers (the same counts of normals and of
  Poisson draws at the same means) with NumPy's fastest bit generator, SFC64, on all cores (one Generator
  per thread, concurrent.futures), and frame time / limit;
- simulated frames per second vs the sensor's own frame rate from the accounting engine (leca-8x3 timing);
- torch LutTransfer + straight-through quantizer overhead per forward pass vs a plain conv layer of the
  same shape (the LeCA encoder as Conv2d(3, 8, k=2, s=2) on a batch of 224 x 224 images).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import importlib.util
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from circuitsim.blocks import pixel_4t as pixel_block  # noqa: E402
from circuitsim.sensor import leca  # noqa: E402

#: The last commit before issue 21 (all draws up front by one Generator).
BASELINE_REV = "a0311a9"
ROOT = Path(__file__).resolve().parent.parent


def best_of(fn, repeats=3):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def load_baseline(rev: str, tmp: Path):
    """The LeCA module (and the pixel block it calls) as they were at ``rev``, imported from files written
    to ``tmp`` (so numba can cache them); None when git or the revision is not available."""
    sources = {}
    for name, path in (("pixel", "circuitsim/blocks/pixel_4t.py"), ("leca", "circuitsim/sensor/leca.py")):
        try:
            sources[name] = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:{path}"], check=True,
                                           capture_output=True, text=True).stdout
        except (OSError, subprocess.CalledProcessError):
            return None
    tag = f"baseline_{rev}"
    (tmp / f"{tag}_pixel_4t.py").write_text(sources["pixel"])
    old_import = "from circuitsim.blocks import pixel_4t as pixel_block"
    (tmp / f"{tag}_leca.py").write_text(sources["leca"].replace(old_import, f"import {tag}_pixel_4t as pixel_block"))
    sys.path.insert(0, str(tmp))
    spec = importlib.util.spec_from_file_location(f"{tag}_leca", tmp / f"{tag}_leca.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def frame_counts(raw, cfg: leca.LecaConfig, models: leca.Models) -> dict:
    """The random numbers of one noisy frame: normals (fixed pattern, read noise per readout, mismatch, kT/C of
    every i-buffer write and MAC) and the Poisson means of the photo and dark electrons of every readout."""
    p = models.pixel_params
    flux = np.broadcast_to(raw * cfg.max_flux_per_s, (cfg.passes,) + raw.shape)
    mu_e, mu_d = pixel_block._means(np.ascontiguousarray(flux), cfg.exposure_s, p, None)
    nby, nbx = raw.shape[0] // leca.BLOCK, raw.shape[1] // leca.BLOCK
    normals = (4 * raw.size + flux.size + nbx * 4 * (1 + leca.MACS + 2)
               + cfg.passes * nby * nbx * leca.MACS * (1 + leca.OUTPUTS_PER_PASS))
    return {"normals": normals, "poisson_means": np.concatenate([mu_e.ravel(), mu_d.ravel()])}


def limit_drawer(counts: dict, pool: concurrent.futures.ThreadPoolExecutor, workers: int):
    """A function drawing ``counts`` once with NumPy's SFC64 on ``workers`` threads of ``pool`` (one Generator
    each; NumPy releases the GIL while it fills an array)."""
    gens = [np.random.Generator(np.random.SFC64(s)) for s in np.random.SeedSequence(0).spawn(workers)]
    normals = np.empty(counts["normals"])
    bounds = np.linspace(0, normals.size, workers + 1).astype(int)
    means = np.array_split(counts["poisson_means"], workers)

    def work(j):
        gens[j].standard_normal(out=normals[bounds[j]:bounds[j + 1]])
        gens[j].poisson(means[j])

    return lambda: list(pool.map(work, range(workers)))


def interleaved_best(fns: dict, repeats: int = 5) -> dict:
    """Best wall time of each function, the runs interleaved (so a change in the machine's load hits all)."""
    best = dict.fromkeys(fns, float("inf"))
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - t0)
    return best


def frame_benchmark(baseline_rev: str):
    import numba

    raw = leca.rgb_to_bayer(leca.test_scene())
    models = leca.Models.load()
    cfg = leca.LecaConfig(weights=leca.default_weights(8), q_bits=3, mode="noisy")
    fns = {"after": lambda: leca.simulate_frame(raw, cfg, 1, models)}
    with tempfile.TemporaryDirectory() as tmp:
        base = load_baseline(baseline_rev, Path(tmp))
        if base is not None:
            fns["before"] = lambda: base.simulate_frame(raw, cfg, np.random.default_rng(1), models)
        for fn in fns.values():
            fn()  # compile / load the caches
        workers = os.cpu_count() or 1
        counts = frame_counts(raw, cfg, models)
        threads = numba.get_num_threads()
        with concurrent.futures.ThreadPoolExecutor(workers) as pool:
            out = {"all": interleaved_best({**fns, "limit": limit_drawer(counts, pool, workers)})}
            numba.set_num_threads(1)
            out["one"] = interleaved_best({**fns, "limit": limit_drawer(counts, pool, 1)}, 3)
            numba.set_num_threads(threads)
    out["numpy"] = best_of(lambda: leca.simulate_frame(raw, cfg, 1, models, reference=True), 2)
    # the PE chain alone (the pixel stage is shared by both paths)
    v_pix = leca.pixel_voltages(raw, cfg, models, 1)
    draws = leca.draw_chain(cfg, v_pix.shape[1], v_pix.shape[2], 2)
    out["chain_numba"] = best_of(lambda: leca.pe_chain(v_pix, cfg, models, draws))
    out["chain_numpy"] = best_of(lambda: leca.pe_chain_reference(v_pix, cfg, models, draws), 2)
    out.update(workers=workers, threads=threads, counts=counts)
    from circuitsim.accounting import evaluate

    out["sensor_fps"] = evaluate("leca-8x3", "sky130").frame_rate_hz
    return out


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


def snn_benchmark(frames: int = 5) -> float:
    """Median time (s) of the SNN first layer, 224x224 RGB -> 8 x 111 x 111 spikes, noisy, frames 1..``frames``
    of one seed after a warm-up frame (issue 21's goal: >= 50 frames/s)."""
    from circuitsim.commands import load_image
    from circuitsim.sensor.snn import SnnModels, default_snn_config, simulate_snn_frame

    models, cfg, img = SnnModels.load(), default_snn_config(8, 0, "noisy"), load_image(None, 224)
    simulate_snn_frame(img, cfg, 0, models)
    times = []
    for k in range(1, frames + 1):
        t0 = time.perf_counter()
        simulate_snn_frame(img, cfg, 0, models, frame=k)
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default=BASELINE_REV, help="git revision of the 'before' implementation")
    parser.add_argument("--no-torch", action="store_true", help="skip the torch layer figures")
    args = parser.parse_args()
    r = frame_benchmark(args.baseline)
    c = r["counts"]
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"full LeCA frame, 448x448, N_ch=8 (2 pixel readouts), noisy chain; {c['normals'] / 1e6:.2f} M normals + "
          f"{c['poisson_means'].size / 1e6:.2f} M Poisson draws per frame; load average {load} on "
          f"{r['workers']} cores:")
    for key, label in (("all", f"{r['threads']} numba threads, limit on {r['workers']} threads"),
                       ("one", "1 numba thread, limit on 1 thread")):
        t = r[key]
        line = f"  [{label}] after (draws inside the kernels): {t['after'] * 1e3:.0f} ms/frame"
        if "before" in t:
            line += (f"; before ({args.baseline}, all draws up front by one Generator): {t['before'] * 1e3:.0f} ms"
                     f" -> after/before = {t['after'] / t['before']:.2f} ({t['before'] / t['after']:.2f}x faster)")
        print(line)
        line = f"      limit (SFC64 draws of this frame's numbers): {t['limit'] * 1e3:.1f} ms -> frame/limit = " \
               f"{t['after'] / t['limit']:.1f} after"
        print(line + (f", {t['before'] / t['limit']:.1f} before" if "before" in t else ""))
    after, sensor_fps = r["all"]["after"], r["sensor_fps"]
    print(f"  NumPy reference: {r['numpy'] * 1e3:.0f} ms/frame -> numba {r['numpy'] / after:.1f}x faster")
    print(f"  PE chain alone: numba {r['chain_numba'] * 1e3:.0f} ms, NumPy {r['chain_numpy'] * 1e3:.0f} ms "
          f"-> {r['chain_numpy'] / r['chain_numba']:.1f}x")
    before = r["all"].get("before")
    print(f"  simulated {1 / after:.1f} frames/s vs the sensor's {sensor_fps:.0f} frames/s (leca-8x3, sky130 "
          f"budgets) -> simulation is {sensor_fps * after:.0f}x slower than real time"
          + (f" ({sensor_fps * before:.0f}x before)" if before else ""))
    t_snn = snn_benchmark()
    print(f"SNN first layer 224x224 -> 8 x 111 x 111 spikes, noisy: {t_snn * 1e3:.0f} ms/frame -> "
          f"{1 / t_snn:.1f} frames/s (goal 50: {1 / t_snn / 50:.2f} of it)")
    if args.no_torch:
        return
    t_plain, t_hw = torch_benchmark()
    print(f"torch, batch 16 x 3 x 224 x 224 -> Conv2d(3, 8, 2, stride 2): {t_plain * 1e3:.1f} ms; "
          f"+ LutTransfer(noisy) + STE quantizer: {t_hw * 1e3:.1f} ms -> overhead {t_hw / t_plain:.2f}x")


if __name__ == "__main__":
    main()

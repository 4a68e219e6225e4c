"""What each ``circuitsim`` command does, between the thin CLI and the layers below: it takes the
command's arguments (one :class:`~circuitsim.store.OperatingPoint` among them), calls the sensor,
accounting and report layers, and returns the text the CLI prints. Reports only write; this runs them.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from circuitsim.errors import CircuitsimError, InputRangeError
from circuitsim.reports import frame as frame_plots
from circuitsim.store import NOMINAL, OperatingPoint, atomic_write_bytes, npz_bytes

ARCH = "leca-4x4"  # the LeCA architecture file; N_ch and Q_bit are overridden per configuration


def parse_config(text: str) -> tuple[int, float]:
    """'N_ch|Q_bit' (e.g. '4|4', '8|3', '4|1.5') -> (N_ch, Q_bit), both checked against what the simulated
    sensor can have (N_ch in 1..64, Q_bit one of the ADC's modes) before any work is done."""
    from circuitsim.sensor.leca import Q_BITS, check_channels

    try:
        n_ch, q = text.replace(",", "|").split("|")
        n_ch, q = int(n_ch), float(q)
    except ValueError:
        raise InputRangeError(f"--config must be N_ch|Q_bit such as 4|4, 8|3 or 4|1.5, got {text!r}") from None
    try:
        check_channels(n_ch)
    except InputRangeError as exc:
        raise InputRangeError(f"--config {text}: {exc}") from None
    if q not in Q_BITS:
        raise InputRangeError(f"--config {text}: Q_bit must be one of {', '.join(f'{b:g}' for b in Q_BITS)} "
                              f"(the ADC's modes; 1.5 = ternary), got {q:g}")
    return n_ch, q


def check_seed(seed: int) -> int:
    """A seed of circuitsim.rng (and NumPy): an integer in 0 .. 2**64 - 1."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**64:
        raise InputRangeError(f"--seed must be an integer in 0..2**64-1 (a random seed), got {seed!r}; e.g. --seed 0")
    return int(seed)


def check_writable_dir(out: Path, option: str = "--out") -> Path:
    """Make sure ``out`` is (or can be made) a directory this process can create files in, before any work
    is done; an :class:`~circuitsim.errors.ArtifactError` names the path and the option otherwise."""
    import tempfile

    from circuitsim.errors import ArtifactError

    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as exc:
        raise ArtifactError(f"cannot write to {out}: {exc.strerror or exc}; choose a writable directory "
                            f"with {option}") from None
    return out


def load_image(path: Path | None, size: int) -> np.ndarray:
    """An RGB image in [0, 1] of ``size`` x ``size`` from PNG/JPEG (matplotlib's reader) or .npy; the
    built-in test scene when no path is given. Larger images are centre-cropped; smaller are refused."""
    from circuitsim.sensor.leca import test_scene

    if path is None:
        return test_scene(size)
    path = Path(path)
    if not path.is_file():
        raise InputRangeError(f"image {path} does not exist")
    if path.suffix == ".npy":
        try:
            img = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise InputRangeError(f"cannot read image {path} as a NumPy array of numbers ({exc}); save a (H, W) "
                                  "or (H, W, 3) array of a real dtype (no objects) with numpy.save") from None
    else:
        import matplotlib.image as mpimg

        try:
            img = mpimg.imread(path)
        except Exception as exc:
            raise InputRangeError(f"cannot read image {path}: {exc}") from None
    img = np.asarray(img)
    if not (np.issubdtype(img.dtype, np.integer) or np.issubdtype(img.dtype, np.floating)
            or img.dtype == bool):
        raise InputRangeError(f"image {path} has dtype {img.dtype}; the sensor needs real pixel values "
                              "(integers 0..255 or floats in [0, 1])")
    if img.ndim not in (2, 3) or (img.ndim == 3 and img.shape[2] not in (1, 3, 4)):
        raise InputRangeError(f"image {path} has shape {img.shape}; the sensor needs (H, W) grey, (H, W, 3) "
                              "RGB or (H, W, 4) RGBA")
    img = img.astype(float)
    if not np.all(np.isfinite(img)) or img.min() < 0:
        raise InputRangeError(f"image {path} holds negative or non-finite values; the sensor needs finite "
                              "values >= 0 (integers 0..255 or floats in [0, 1])")
    if img.max() > 1.0:
        img = img / 255.0
    if img.ndim == 2:
        img = img[..., None]
    if img.shape[2] == 1:
        img = np.repeat(img, 3, axis=-1)
    img = img[..., :3]
    if img.shape[0] < size or img.shape[1] < size:
        raise InputRangeError(f"image {path} is {img.shape[1]}x{img.shape[0]}; the sensor needs at least {size}x{size}")
    top, left = (img.shape[0] - size) // 2, (img.shape[1] - size) // 2
    return np.clip(img[top:top + size, left:left + size], 0, 1)


def _evaluate_at(arch: str, overrides: dict, point: OperatingPoint):
    """The accounting engine's evaluation of ``arch`` with ``overrides``, calibrated budgets at ``point``."""
    from circuitsim.accounting import evaluate

    try:
        return evaluate(arch, point.technology, overrides=overrides, point=point)
    except CircuitsimError as exc:
        settings = ", ".join(f"{k}={v:g}" for k, v in overrides.items())
        raise CircuitsimError(f"the accounting engine refuses {arch} with {settings}: {exc}") from None


def frame_energy(n_ch: int, q_bits: float, point: OperatingPoint = NOMINAL):
    """The accounting engine's evaluation of the LeCA sensor at this configuration and operating point."""
    return _evaluate_at(ARCH, {"N_ch": n_ch, "Q_bit": q_bits}, point)


def simulate_leca_command(image: Path | None, config: str, seed: int, mode: str, out: Path,
                          point: OperatingPoint = NOMINAL, as_json: bool = False) -> str:
    """``circuitsim simulate leca``: one frame at ``point``, its feature maps (PNG + npz) and the energy of
    that frame from the accounting engine at the same point."""
    from circuitsim.sensor.leca import (
        ARRAY_ROWS,
        LecaConfig,
        Models,
        default_weights,
        rgb_to_bayer,
        simulate_frame,
    )
    
    n_ch, q_bits = parse_config(config)
    seed = check_seed(seed)
    out = check_writable_dir(out)
    cfg = LecaConfig(weights=default_weights(n_ch, seed), q_bits=q_bits, mode=mode, point=point)
    evaluation = frame_energy(n_ch, q_bits, point)
    img = load_image(image, ARRAY_ROWS)
    raw, models = rgb_to_bayer(img), Models.load(point)
    started = time.perf_counter()
    result = simulate_frame(raw, cfg, seed, models)  # the seed keys circuitsim.rng
    elapsed_s = time.perf_counter() - started
    out = Path(out)
    atomic_write_bytes(out / "leca_frame.npz", npz_bytes({
        "codes": result.codes, "analog_V": result.analog_v, "weights": cfg.weights,
        "energy_per_frame_J": np.array(evaluation.energy_per_frame_J)}))
    png = frame_plots.write_feature_png(img, result, out / "leca_feature_map.png")
    if as_json:
        return _simulate_json("leca", evaluation, point, seed, mode, {"N_ch": n_ch, "Q_bit": q_bits},
                              {"codes": list(result.codes.shape)}, [out / "leca_frame.npz", png], elapsed_s)
    return "\n".join([
        f"LeCA frame: N_ch={n_ch}, Q_bit={q_bits:g}, {mode} chain at {point}, seed {seed}",
        f"  feature map {result.codes.shape[0]}x{result.codes.shape[1]}x{result.codes.shape[2]} codes, "
        f"{evaluation.bits_per_frame:.0f} bits/frame",
        f"  energy of this frame: {evaluation.energy_per_frame_J * 1e6:.3f} uJ at {evaluation.frame_rate_hz:.0f} "
        f"frames/s at {point} ({ARCH} with N_ch, Q_bit overridden; {evaluation.technology} budgets where calibrated)",
        _rate_line(elapsed_s, evaluation.frame_rate_hz),
        f"  wrote {out / 'leca_frame.npz'} and {png}",
    ])


def _rate_line(elapsed_s: float, sensor_rate_hz: float) -> str:
    """The simulation rate of this frame beside the sensor's own frame rate."""
    return (f"  simulated in {elapsed_s * 1e3:.0f} ms: {1 / elapsed_s:.1f} simulated frames/s, "
            f"{elapsed_s * sensor_rate_hz:.1f}x the sensor's frame time (one frame in a fresh process: it includes "
            "loading the compiled kernels; benchmarks/frame_sim.py measures the steady rate)")


def _simulate_json(system: str, evaluation, point: OperatingPoint, seed: int, mode: str, config: dict,
                   shapes: dict, written, elapsed_s: float) -> str:
    """The ``simulate --json`` record: what the text says, with every label (operating point, the energy
    lines' source kind and fallback reason), SI units in the keys."""
    summary = evaluation.summary()
    return json.dumps({
        "system": system, "architecture": evaluation.arch.name, "mode": mode, "seed": seed, "config": config,
        "operating_point": point.as_dict(), "shapes": shapes,
        **{k: summary[k] for k in ("energy_per_frame_J", "frame_rate_hz", "max_frame_rate_hz", "bits_per_frame",
                                   "compression_ratio", "technology", "lines")},
        "written": [str(p) for p in written],
        "simulation_time_s": elapsed_s, "simulated_frames_per_s": 1 / elapsed_s,
    }, indent=2, default=str)


def simulate_snn_command(image: Path | None, channels: int, seed: int, mode: str, out: Path,
                         point: OperatingPoint = NOMINAL, as_json: bool = False) -> str:
    """``circuitsim simulate snn``: one first-layer frame of ``channels`` output channels at ``point`` and the
    energy of the ``snn`` architecture with the same channel count (N_ch) at the same point."""
    from circuitsim.sensor.snn import SnnModels, default_snn_config, simulate_snn_frame
    
    if mode not in ("hard", "noisy"):
        raise InputRangeError(f"the SNN path has modes hard and noisy, got {mode!r} (the in-pixel convolution "
                              "has no ideal transfer); use --mode hard or --mode noisy")
    seed = check_seed(seed)
    out = check_writable_dir(out)
    cfg = default_snn_config(channels, seed, mode, point=point)
    img = load_image(image, 224)
    models = SnnModels.load(point)
    started = time.perf_counter()
    result = simulate_snn_frame(img, cfg, seed, models)  # the seed keys circuitsim.rng
    elapsed_s = time.perf_counter() - started
    evaluation = _evaluate_at("snn", {"N_ch": channels}, point)
    out = Path(out)
    atomic_write_bytes(out / "snn_frame.npz", npz_bytes({
        "spikes": result.spikes, "cds_V": result.cds_v, "weights": cfg.weights,
        "thresholds_V": np.asarray(cfg.thresholds_v, float), "energy_per_frame_J": np.array(evaluation.energy_per_frame_J)}))
    png = frame_plots.write_spike_png(img, result, out / "snn_spikes.png")
    if as_json:
        return _simulate_json("snn", evaluation, point, seed, mode, {"N_ch": channels},
                              {"spikes": list(result.spikes.shape), "spike_rate": float(result.spike_rate),
                               "clipped": int(result.clipped)}, [out / "snn_frame.npz", png], elapsed_s)
    return "\n".join([
        f"SNN first layer: {channels} channels of 3x3x3 width-code kernels, stride 2, {mode} at {point}, "
        f"seed {seed}",
        f"  spikes {result.spikes.shape[0]}x{result.spikes.shape[1]}x{result.spikes.shape[2]}, spike rate "
        f"{result.spike_rate:.3f}; {result.clipped} outputs clipped to the CDS's calibrated range",
        f"  energy of this frame: {evaluation.energy_per_frame_J * 1e6:.1f} uJ at {evaluation.frame_rate_hz:.0f} "
        f"frames/s at {point} (snn architecture with N_ch={channels}; {evaluation.technology} budgets where calibrated)",
        _rate_line(elapsed_s, evaluation.frame_rate_hz),
        f"  wrote {out / 'snn_frame.npz'} and {png}",
    ])
def parse_sets(specs) -> dict:
    """``["frame_rate_hz=30", "rows=1080"]`` -> ``{"frame_rate_hz": 30.0, "rows": 1080.0}`` (``--set``)."""
    out = {}
    for spec in specs or ():
        name, sep, value = str(spec).partition("=")
        name = name.strip()
        try:
            number = float(value)
        except ValueError:
            number = None
        if not sep or not name or number is None or not np.isfinite(number):
            raise CircuitsimError(f"--set {spec!r}: expected NAME=VALUE with a finite number in SI units, e.g. "
                                  "--set frame_rate_hz=30 or --set rows=1080")
        out[name] = number
    return out


def report_command(names, technology: str = "literature", out: Path | None = None, as_json: bool = False,
                   list_only: bool = False, calibration_root: Path | None = None, command: str = "",
                   point=None, sets=(), energy_table: Path | None = None, scale: str = "log") -> str:
    """What ``circuitsim report`` prints (and writes to ``out`` when given); calibrated budgets at ``point``
    (whose technology names the artifacts, also when ``technology`` was a path), ``sets`` (``--set``)
    applied to every architecture, ``energy_table`` merged over the default table; the plots' value axes on
    ``scale`` (log or linear)."""
    from circuitsim.accounting import list_architectures
    from circuitsim.reports.energy import (
        evaluate_all,
        format_text,
        json_record,
        write_report,
    )

    if list_only:
        return "\n".join(list_architectures())
    if not names:
        raise CircuitsimError("report: name at least one architecture (or --list); shipped: "
                              + ", ".join(list_architectures()))
    overrides = parse_sets(sets)
    if out:
        check_writable_dir(out)
    if point is not None:
        technology = point.technology
    evaluations = evaluate_all(names, technology, calibration_root, point, overrides, energy_table)
    written = write_report(evaluations, out, command or "circuitsim report", scale=scale) if out else []
    if as_json:
        return json.dumps(json_record(evaluations), indent=2)
    return "\n".join([format_text(evaluations), *[f"wrote {p}" for p in written]])


def sweep_command(arch: str, param_specs, technology: str = "literature", out: Path | None = None,
                  calibration_root: Path | None = None, point: OperatingPoint | None = None,
                  energy_table: Path | None = None, x: str = "energy_per_frame_J",
                  y: str = "compression_ratio", as_json: bool = False) -> str:
    """What ``circuitsim sweep`` prints: a summary and the Pareto points; CSV + a Pareto PNG over the
    columns ``x`` and ``y`` under ``out``."""
    from circuitsim.accounting.resolver import BudgetResolver
    from circuitsim.accounting.sweep import parse_param, sweep
    from circuitsim.accounting.tables import merged_table

    params = dict(parse_param(spec) for spec in param_specs)
    if out:
        check_writable_dir(out)
    if point is not None:
        technology = point.technology
    table = merged_table(Path(energy_table)) if energy_table else None
    resolver = BudgetResolver(technology, calibration_root, table=table, point=point)
    frame = sweep(arch, params, technology, resolver=resolver)
    name = frame.attrs["architecture"]
    if not frame["valid"].any():
        raise CircuitsimError(f"sweep {name}: none of the {len(frame):,} points meets the architecture's "
                              f"constraints: {frame.attrs['invalid_reason']}; sweep values that meet them")
    lines = [f"{name}: {len(frame)} points, {int(frame['valid'].sum())} valid, "
             f"{int(frame['pareto'].sum())} on the energy / compression-ratio Pareto front"]
    front = frame[frame["pareto"]].sort_values("energy_per_frame_J")
    lines.append(front[[*params, "energy_per_frame_J", "frame_rate_hz", "bits_per_frame",
                        "compression_ratio"]].to_string(index=False, float_format=lambda v: f"{v:.5g}"))
    if out:
        from circuitsim.reports.energy_plots import plot_sweep_pareto

        out = Path(out)
        csv = out / f"sweep_{name}.csv"
        try:
            frame.to_csv(csv, index=False)
            png = plot_sweep_pareto(frame, list(params), out / f"sweep_{name}_pareto.png", x=x, y=y, arch=arch)
        except OSError as exc:
            from circuitsim.errors import ArtifactError

            raise ArtifactError(f"cannot write the sweep to {out}: {exc.strerror or exc}; choose a writable "
                                "directory with --out") from None
        lines += [f"wrote {csv}", f"wrote {png}"]
        written = [csv, png]
    else:
        written = []
    if as_json:
        return json.dumps(_sweep_record(frame, params, point, technology, front, written), indent=2, default=str)
    return "\n".join(lines)


def _sweep_record(frame, params: dict, point, technology: str, front, written) -> dict:
    """The ``sweep --json`` record: counts, the constraint that invalid points break, the Pareto points
    (every column, SI units in the names), the budgets' technology and operating point, the files."""
    columns = [c for c in front.columns if c not in ("valid", "pareto")]
    return {
        "architecture": frame.attrs["architecture"], "technology": technology,
        "operating_point": None if point is None else point.as_dict(),
        "parameters": {k: [float(v) for v in np.atleast_1d(vals)] for k, vals in params.items()},
        "points": int(len(frame)), "valid": int(frame["valid"].sum()), "pareto": int(frame["pareto"].sum()),
        "invalid_reason": frame.attrs.get("invalid_reason") or None,
        "pareto_points": [{c: (float(r[c]) if isinstance(r[c], (int, float, np.number)) else r[c]) for c in columns}
                          for _, r in front.iterrows()],
        "written": [str(p) for p in written],
    }

"""``circuitsim simulate leca``: one simulated LeCA frame from an image, its feature maps as PNG + npz, and
the energy of that frame from the accounting engine (calibrated sky130 budgets where they exist)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from circuitsim.errors import CircuitsimError, InputRangeError

ARCH = "leca-4x4"  # the LeCA architecture file; N_ch and Q_bit are overridden per configuration


def parse_config(text: str) -> tuple[int, float]:
    """'N_ch|Q_bit' (e.g. '4|4', '8|3', '4|1.5') -> (N_ch, Q_bit)."""
    try:
        n_ch, q = text.replace(",", "|").split("|")
        return int(n_ch), float(q)
    except ValueError:
        raise InputRangeError(f"--config must be N_ch|Q_bit such as 4|4, 8|3 or 4|1.5, got {text!r}") from None


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
        img = np.load(path, allow_pickle=False).astype(float)
    else:
        import matplotlib.image as mpimg

        try:
            img = mpimg.imread(path).astype(float)
        except Exception as exc:
            raise InputRangeError(f"cannot read image {path}: {exc}") from None
    if img.max() > 1.0:
        img = img / 255.0
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=-1)
    img = img[..., :3]
    if img.shape[0] < size or img.shape[1] < size:
        raise InputRangeError(f"image {path} is {img.shape[1]}x{img.shape[0]}; the sensor needs at least {size}x{size}")
    top, left = (img.shape[0] - size) // 2, (img.shape[1] - size) // 2
    return np.clip(img[top:top + size, left:left + size], 0, 1)


def frame_energy(n_ch: int, q_bits: float, technology: str = "sky130"):
    """The accounting engine's evaluation of the LeCA sensor at this configuration."""
    from circuitsim.accounting import evaluate

    try:
        return evaluate(ARCH, technology, overrides={"N_ch": n_ch, "Q_bit": q_bits})
    except CircuitsimError as exc:
        raise CircuitsimError(f"the accounting engine refuses N_ch={n_ch}, Q_bit={q_bits:g}: {exc}") from None


def write_maps_png(image_rgb, maps, titles, suptitle: str, path: Path, cmap: str, vmax: float) -> Path:
    """The input image on the first row, then one panel per map (feature map or spike map)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(maps)
    cols = min(n, 4)
    rows = 1 + -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3 * cols, 3 * rows), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    axes[0, 0].imshow(image_rgb)
    axes[0, 0].set_title(f"input ({image_rgb.shape[1]}x{image_rgb.shape[0]})", fontsize=9)
    for ch, (m, title) in enumerate(zip(maps, titles)):
        ax = axes[1 + ch // cols, ch % cols]
        ax.imshow(m, cmap=cmap, vmin=0, vmax=vmax)
        ax.set_title(title, fontsize=9)
    fig.suptitle(suptitle, fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def write_feature_png(image_rgb, result, path: Path) -> Path:
    """Input image next to the LeCA feature maps (ADC codes)."""
    c = result.config
    titles = [f"channel {ch} ({c.q_bits:g}-bit codes)" for ch in range(len(result.codes))]
    return write_maps_png(image_rgb, result.codes, titles,
                          f"LeCA feature map, {c.mode} chain, {c.corner} {c.temp_c:g} C", path, "magma", c.levels - 1)


def simulate_leca_command(image: Path | None, config: str, seed: int, mode: str, out: Path,
                          corner: str = "tt", temp_c: float = 27) -> str:
    from circuitsim.sensor.leca import ARRAY_ROWS, LecaConfig, Models, default_weights, rgb_to_bayer, simulate_frame
    from circuitsim.store import atomic_write_bytes, npz_bytes

    n_ch, q_bits = parse_config(config)
    cfg = LecaConfig(weights=default_weights(n_ch, seed), q_bits=q_bits, mode=mode, corner=corner, temp_c=temp_c)
    evaluation = frame_energy(n_ch, q_bits)
    img = load_image(image, ARRAY_ROWS)
    result = simulate_frame(rgb_to_bayer(img), cfg, np.random.default_rng(seed), Models.load(corner, temp_c))
    out = Path(out)
    atomic_write_bytes(out / "leca_frame.npz", npz_bytes({
        "codes": result.codes, "analog_V": result.analog_v, "weights": cfg.weights,
        "energy_per_frame_J": np.array(evaluation.energy_per_frame_J)}))
    png = write_feature_png(img, result, out / "leca_feature_map.png")
    return "\n".join([
        f"LeCA frame: N_ch={n_ch}, Q_bit={q_bits:g}, {mode} chain at {corner} {temp_c:g} C, seed {seed}",
        f"  feature map {result.codes.shape[0]}x{result.codes.shape[1]}x{result.codes.shape[2]} codes, "
        f"{evaluation.bits_per_frame:.0f} bits/frame",
        f"  energy of this frame: {evaluation.energy_per_frame_J * 1e6:.3f} uJ at {evaluation.frame_rate_hz:.0f} "
        f"frames/s ({ARCH} with N_ch, Q_bit overridden; {evaluation.technology} budgets where calibrated)",
        f"  wrote {out / 'leca_frame.npz'} and {png}",
    ])


def write_spike_png(image_rgb, result, path: Path) -> Path:
    """Input image next to each channel's spike map."""
    c = result.config
    titles = [f"channel {ch}: rate {m.mean():.2f}" for ch, m in enumerate(result.spikes)]
    return write_maps_png(image_rgb, result.spikes, titles,
                          f"in-sensor SNN first layer, {c.mode}, {c.corner} {c.temp_c:g} C", path, "gray", 1)


def simulate_snn_command(image: Path | None, channels: int, seed: int, mode: str, out: Path,
                         corner: str = "tt", temp_c: float = 27) -> str:
    from circuitsim.accounting import evaluate
    from circuitsim.sensor.snn import SnnModels, default_snn_config, simulate_snn_frame
    from circuitsim.store import atomic_write_bytes, npz_bytes

    if mode not in ("hard", "noisy"):
        raise InputRangeError(f"the SNN path has modes hard and noisy, got {mode!r}")
    cfg = default_snn_config(channels, seed, mode, corner=corner, temp_c=temp_c)
    img = load_image(image, 224)
    result = simulate_snn_frame(img, cfg, np.random.default_rng(seed), SnnModels.load(corner, temp_c))
    evaluation = evaluate("snn", "sky130")
    out = Path(out)
    atomic_write_bytes(out / "snn_frame.npz", npz_bytes({
        "spikes": result.spikes, "cds_V": result.cds_v, "weights": cfg.weights,
        "thresholds_V": np.asarray(cfg.thresholds_v, float), "energy_per_frame_J": np.array(evaluation.energy_per_frame_J)}))
    png = write_spike_png(img, result, out / "snn_spikes.png")
    return "\n".join([
        f"SNN first layer: {channels} channels of 3x3x3 width-code kernels, stride 2, {mode} at {corner} {temp_c:g} C, "
        f"seed {seed}",
        f"  spikes {result.spikes.shape[0]}x{result.spikes.shape[1]}x{result.spikes.shape[2]}, spike rate "
        f"{result.spike_rate:.3f}; {result.clipped} outputs clipped to the CDS's calibrated range",
        f"  energy of a frame of the snn architecture (its own channel count and workload): "
        f"{evaluation.energy_per_frame_J * 1e6:.1f} uJ at {evaluation.frame_rate_hz:.0f} frames/s",
        f"  wrote {out / 'snn_frame.npz'} and {png}",
    ])

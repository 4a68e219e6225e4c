"""Frame-simulation figures: the input image beside the LeCA feature maps or the SNN spike maps (PNG)."""

from __future__ import annotations

from pathlib import Path


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
                          f"LeCA feature map, {c.mode} chain, {c.point}", path, "magma", c.levels - 1)


def write_spike_png(image_rgb, result, path: Path) -> Path:
    """Input image next to each channel's spike map."""
    c = result.config
    titles = [f"channel {ch}: rate {m.mean():.2f}" for ch, m in enumerate(result.spikes)]
    return write_maps_png(image_rgb, result.spikes, titles,
                          f"in-sensor SNN first layer, {c.mode}, {c.point}", path, "gray", 1)

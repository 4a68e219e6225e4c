"""Place circuitsim's SAR ADC on the Murmann ADC survey: energy per Nyquist sample vs SNDR, with Walden and
Schreier figure-of-merit lines, one point per resolution (1.5, 2 … 8 bit), and a table of the ADC metrics.

Survey data: ``circuitsim/data/adc_survey.csv``, extracted once from B. Murmann, "ADC Performance Survey
1997-2025", rev. 2025-06-09 (BSD-3-Clause, see ``circuitsim/data/ADCsurvey_LICENSE.txt``).

    python -m circuitsim.reports.adc_survey [--out reports/validation/sar_adc] [--instances 200] [--seed 1]

matplotlib is imported only when a plot is drawn.
"""

from __future__ import annotations

import argparse
import csv
import json
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

from circuitsim.reports.figures import pyplot, save_figure

from circuitsim.blocks import sar_adc

SURVEY_CSV = Path(__file__).resolve().parent.parent / "data" / "adc_survey.csv"


def load_survey(path: Path = SURVEY_CSV) -> list[dict]:
    """Rows of the extracted survey (numbers as floats, NaN where the survey gives none)."""
    numeric = ("year", "sndr_plot_dB", "power_W", "fs_nyquist_hz", "energy_per_sample_pJ", "fom_walden_hf_fJ",
               "fom_schreier_hf_dB")
    with open(path, newline="") as f:
        rows = list(csv.DictReader(line for line in f if not line.startswith("#")))
    for row in rows:
        for key in numeric:
            try:
                row[key] = float(row[key])
            except (TypeError, ValueError):
                row[key] = float("nan")
    return rows


def sar_metrics(params: sar_adc.SarAdcParams, n_instances: int = 200, seed: int = 1) -> dict:
    """ADC metrics of one resolution: ENOB / SNDR / energy / FoMs of the nominal converter with noise, and
    DNL / INL by code density over ``n_instances`` mismatch instances (worst and RMS)."""
    rng = np.random.default_rng([seed, int(params.n_bits * 10)])
    nominal = sar_adc.draw_instance(params.ideal())
    fom = sar_adc.figures_of_merit(params, nominal, rng)
    out = {"n_bits": params.n_bits, "levels": params.levels, "lsb_V": params.lsb_v,
           "full_scale_V": [-params.full_scale_v, params.full_scale_v], **fom}
    if params.levels >= 4:
        instances = [sar_adc.draw_instance(params, rng) for _ in range(n_instances)]
        lin = sar_adc.linearity(replace(params, noise_v=0.0, ktc_noise=False), instances, per_code=64)
        out.update({"dnl_max_abs_lsb": lin["max_abs_dnl_lsb"], "inl_max_abs_lsb": lin["max_abs_inl_lsb"],
                    "dnl_rms_lsb": float(np.sqrt(np.mean(lin["dnl_lsb"] ** 2))),
                    "inl_rms_lsb": float(np.sqrt(np.mean(lin["inl_lsb"] ** 2))),
                    "dnl_instances": n_instances})
    return out


def write_report(out_dir: Path, params_by_resolution: dict, n_instances: int = 200, seed: int = 1,
                 note: str = "") -> list[Path]:
    """metrics.json + metrics.csv + survey.png under ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = [sar_metrics(p, n_instances, seed) for p in params_by_resolution.values()]
    meta = {"note": note, "seed": seed, "params": {str(k): asdict(p) for k, p in params_by_resolution.items()},
            "survey": "B. Murmann, ADC Performance Survey 1997-2025, rev. 2025-06-09 (BSD-3-Clause)"}
    (out_dir / "metrics.json").write_text(json.dumps({"meta": meta, "resolutions": rows}, indent=2) + "\n")
    keys = ["n_bits", "enob_bits", "sndr_dB", "energy_J", "walden_fom_J", "schreier_fom_dB", "f_s_hz", "latency_s",
            "dnl_max_abs_lsb", "inl_max_abs_lsb", "dnl_rms_lsb", "inl_rms_lsb"]
    with open(out_dir / "metrics.csv", "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(keys)
        for r in rows:
            w.writerow([r.get(k, "") for k in keys])
    png = out_dir / "survey.png"
    plot_survey(rows, png)
    return [out_dir / "metrics.json", out_dir / "metrics.csv", png]


def plot_survey(sar_rows: list[dict], path: Path) -> Path:
    """Energy per Nyquist sample (pJ) vs SNDR (dB): survey (ISSCC / VLSI, SARs highlighted), FoM lines,
    circuitsim's SAR at each resolution."""
    plt = pyplot()
    survey = load_survey()
    sndr = np.array([r["sndr_plot_dB"] for r in survey])
    e_pj = np.array([r["energy_per_sample_pJ"] for r in survey])
    is_sar = np.array(["SAR" in r["architecture"].upper() for r in survey])
    ok = np.isfinite(sndr) & np.isfinite(e_pj) & (e_pj > 0)
    fig, ax = plt.subplots(figsize=(7.5, 5.5))
    ax.scatter(sndr[ok & ~is_sar], e_pj[ok & ~is_sar], s=8, c="0.7", label="survey, other architectures")
    ax.scatter(sndr[ok & is_sar], e_pj[ok & is_sar], s=10, c="tab:blue", alpha=0.6, label="survey, SAR")
    x = np.linspace(0, 120, 50)
    for fom_fj, style in ((1.0, ":"), (10.0, "--")):
        enob = (x - 1.76) / 6.02
        ax.plot(x, fom_fj * 2 ** enob * 1e-3, "k" + style, lw=0.8, label=f"Walden {fom_fj:g} fJ/conv-step")
    for fom_db in (170.0, 180.0):
        ax.plot(x, 1e12 / (2 * 10 ** ((fom_db - x) / 10)), "g-", lw=0.8, alpha=0.7, label=f"Schreier {fom_db:g} dB")
    s_x = [r["sndr_dB"] for r in sar_rows]
    s_y = [r["energy_J"] * 1e12 for r in sar_rows]
    ax.plot(s_x, s_y, "o-", c="tab:red", ms=6, label="circuitsim SAR (sky130 tt 27 C, SPICE-calibrated model)")
    for r, xx, yy in zip(sar_rows, s_x, s_y):
        ax.annotate(f"{r['n_bits']:g} b", (xx, yy), textcoords="offset points", xytext=(5, -10), fontsize=8)
    ax.set_yscale("log")
    ax.set_xlim(0, 120)
    ax.set_ylim(1e-4, 1e6)
    ax.set_xlabel("SNDR [dB]")
    ax.set_ylabel("energy per Nyquist sample P/f_snyq [pJ]")
    ax.set_title("circuitsim SAR on the ADC survey\nB. Murmann, ADC Performance Survey 1997-2025, rev. 2025-06-09",
                 fontsize=9)
    ax.legend(fontsize=7, loc="upper left")
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    return save_figure(fig, path)


def calibrated_report(out_dir: Path | None, n_instances: int = 200, seed: int = 1,
                      root=None) -> tuple[list[dict], list[Path]]:
    """ADC metrics of the SPICE-calibrated converter at every resolution (tt 27 °C artifacts), written to
    ``out_dir`` (``None``: computed only); the rows and the files."""
    from circuitsim.store import ArtifactStore

    store = ArtifactStore(root)
    params = {n: sar_adc.calibrated_params(n, store=store) for n in sar_adc.RESOLUTIONS}
    if out_dir is None:
        return [sar_metrics(p, n_instances, seed) for p in params.values()], []
    paths = write_report(Path(out_dir), params, n_instances, seed, note=sar_adc.CALIBRATED_NOTE)
    rows = json.loads((Path(out_dir) / "metrics.json").read_text())["resolutions"]
    return rows, paths


def format_metrics(rows: list[dict]) -> str:
    """A text table: ENOB, SNDR, energy, FoMs, worst DNL / INL per resolution."""
    lines = ["bits   ENOB  SNDR[dB]  E/conv[pJ]  Walden[fJ/step]  Schreier[dB]  |DNL|max  |INL|max  [LSB]"]
    for r in rows:
        dnl, inl = r.get("dnl_max_abs_lsb"), r.get("inl_max_abs_lsb")
        lines.append(f"{r['n_bits']:>4g} {r['enob_bits']:6.2f} {r['sndr_dB']:9.2f} {r['energy_J'] * 1e12:11.3f} "
                     f"{r['walden_fom_J'] * 1e15:16.1f} {r['schreier_fom_dB']:13.1f} "
                     f"{'' if dnl is None else f'{dnl:9.3f}':>9} {'' if inl is None else f'{inl:9.3f}':>9}")
    return "\n".join(lines)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description="SAR ADC metrics per resolution and their place on the ADC survey")
    ap.add_argument("--out", default="reports/validation/sar_adc")
    ap.add_argument("--instances", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    rows, paths = calibrated_report(Path(args.out), args.instances, args.seed)
    print(format_metrics(rows))
    for path in paths:
        print(f"wrote {path}")


if __name__ == "__main__":
    main()

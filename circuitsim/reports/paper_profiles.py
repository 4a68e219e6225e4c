"""Paper-profile reports (issue 19 item 1): for each shipped profile, every architecture of its families
under the profile (energy per frame and per pixel by component, frame rate, bits, CR), the profile's solved
parameters and budgets with their derivations, and each stated figure of the paper beside the engine's under
the profile, the literature table and sky130 (the shipped architectures as they are).

    python -m circuitsim.reports.paper_profiles [--out reports/profiles]   # writes <profile>.md
"""

from __future__ import annotations

import argparse
from pathlib import Path

from circuitsim.accounting import BudgetResolver, evaluate, list_architectures, load_architecture
from circuitsim.accounting.profiles import figure_architectures, figure_value, load_profile, profile_names


def family_architectures(profile) -> list[str]:
    return [a for a in list_architectures() if load_architecture(a).family in profile.families]


def evaluations(names, technology: str) -> dict:
    resolver = BudgetResolver(technology)
    return {n: evaluate(n, resolver=resolver) for n in names}


def _fmt(value: float, unit: str) -> str:
    if unit == "J":
        return f"{value * 1e12:.4g} pJ"
    if unit == "fps":
        return f"{value:.4g} fps"
    return f"{value:.4g}x"


def figure_rows(profile, technology: str = "sky130") -> list[dict]:
    """Each stated figure: stated, engine under the profile / literature / ``technology``, error under the
    profile."""
    names = sorted({a for fig in profile.figures for a in figure_architectures(fig)})
    runs = {t: evaluations(names, t) for t in dict.fromkeys((profile.name, "literature", technology))}
    rows = []
    for fig in profile.figures:
        values = {t: figure_value(fig, runs[t]) for t in runs}
        rows.append({"figure": fig["name"], "short": fig.get("short", fig["name"]), "stated": fig["stated"], "unit": fig.get("unit", "x"),
                     "solved_from": bool(fig.get("solved_from")), **values,
                     "error_profile": values[profile.name] / fig["stated"] - 1})
    return rows


def markdown(name: str) -> str:
    profile = load_profile(name)
    archs = family_architectures(profile)
    evs = evaluations(archs, name)
    out = [f"# Paper profile `{name}`", "", f"Paper: {profile.paper}", "",
           f"Command: `circuitsim report {' '.join(archs)} --technology {name} --json`; this file: "
           "`python -m circuitsim.reports.paper_profiles` (figures under sky130: `--technology sky130`, the "
           "shipped architectures as they are).", "", "## Solved and stated numbers", "",
           "| parameter | value | source |", "|---|---|---|"]
    for key, value in profile.parameters.items():
        scope = profile.parameter_scope.get(key)
        out.append(f"| {key}{' (' + ', '.join(scope) + ')' if scope else ''} | {value:.6g} | "
                   f"{profile.parameter_sources[key]} |")
    out += ["", "| component.action | energy_J | source |", "|---|---|---|"]
    for component, body in profile.table_data.get("components", {}).items():
        if "static_W" in body:
            src = body.get("power_source") or {}
            out.append(f"| {component} static_W | {body['static_W']:.6g} | "
                       f"{' '.join(str(src.get('derivation') or src.get('quote')).split())} |")
        for act in body.get("actions") or []:
            src = act.get("source") or {}
            text = " ".join(str(src.get("derivation") or src.get("quote")).split())
            out.append(f"| {component}.{act['name']} | {act['energy_J']:.6g} | {text} |")
    out += ["", "## Stated figures vs the engine", "",
            "| figure | stated | solved from | profile | error | literature | sky130 |", "|---|---|---|---|---|---|---|"]
    for row in figure_rows(profile):
        u = row["unit"]
        out.append(f"| {row['figure']} | {_fmt(row['stated'], u)} | {'yes' if row['solved_from'] else 'no (prediction)'} | "
                   f"{_fmt(row[name], u)} | {row['error_profile'] * 100:+.2f} % | {_fmt(row['literature'], u)} | "
                   f"{_fmt(row['sky130'], u)} |")
    out += ["", "## Every architecture of the families under the profile", "",
            "| architecture | energy/frame | pJ/pixel | max fps | bits/frame | CR | components (nJ/frame) |",
            "|---|---|---|---|---|---|---|"]
    for arch, ev in evs.items():
        s = ev.summary()
        comps = ", ".join(f"{k} {v * 1e9:.4g}" for k, v in s["components"].items())
        out.append(f"| {arch} | {s['energy_per_frame_J'] * 1e6:.4g} uJ | "
                   f"{s['energy_per_frame_J'] / float(ev.symbols['pixels']) * 1e12:.4g} | "
                   f"{s['max_frame_rate_hz']:.4g} | {s['bits_per_frame']:.6g} | {s['compression_ratio']:.4g} | {comps} |")
    if profile.path and load_profile(name):
        import yaml

        notes = yaml.safe_load(profile.path.read_text()).get("notes")
        if notes:
            out += ["", "## Notes", "", " ".join(notes.split())]
    return "\n".join(out) + "\n"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="reports/profiles")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name in profile_names():
        path = out / f"{name}.md"
        path.write_text(markdown(name))
        print(f"wrote {path}")


if __name__ == "__main__":
    main()

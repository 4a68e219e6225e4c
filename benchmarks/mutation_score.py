"""Mutation score of the physics modules (`make mutation`; not part of `make test`).

For each module (blocks, sensor, accounting engine, export) this copies the checkout to a scratch
directory, points mutmut's ``only_mutate`` and test selection at that module and the tests that exercise
it, runs ``mutmut run`` with the fast non-SPICE suite (``-m "not spice" -x -p no:cacheprovider``, from
setup.cfg ``[mutmut]``) and prints killed / total per module. The checkout itself is never edited:
mutmut writes its mutants to ``mutants/`` inside the scratch copy.

    python benchmarks/mutation_score.py                      # all four modules
    python benchmarks/mutation_score.py export engine        # some of them
    python benchmarks/mutation_score.py --only circuitsim/blocks/error_lut.py --tests tests/blocks
    python benchmarks/mutation_score.py --keep --survivors   # list survivors, keep the scratch copies

Score = killed / (total - skipped - caught by type check); "no tests" (code no selected test reaches)
and timeouts count as not killed. Equivalent mutants, once reviewed, go to EQUIVALENT below with a reason.
"""
from __future__ import annotations

import argparse
import configparser
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# module name -> (only_mutate globs, test paths that exercise it)
MODULES: dict[str, tuple[list[str], list[str]]] = {
    "blocks": (["circuitsim/blocks/*"], ["tests/blocks"]),
    "sensor": (["circuitsim/sensor/*"], ["tests/sensor"]),
    "engine": (["circuitsim/accounting/engine.py"], ["tests/accounting"]),
    "export": (["circuitsim/export/*"], ["tests/export"]),
}

# module name -> tests left out of its mutation runs, each for a reason the mutation tool imposes
DESELECT: dict[str, list[str]] = {
    # mutmut's trampolines (its per-function mutant switch) are Python calls torch._dynamo cannot trace, so
    # "no graph breaks" fails on the unmutated code under mutmut; the test still runs in `make test`
    "export": ["tests/export/test_torch_layers.py::test_chain_has_no_graph_breaks_and_compiled_front_gives_the_same_codes"],
}

# mutant name -> reason it is equivalent (the same behaviour as the original); excluded from the score.
# mutmut numbers the mutants of a function in source order: after an edit of that function, re-check its
# entries with `--survivors` (a stale name only stops being excluded, it never hides a new survivor).
_E = "circuitsim.accounting.engine.x_"
_DTYPE = "dtype=float -> default: the value is already a float (or bool) array or scalar, every use casts"
_ERRSTATE = ("errstate(invalid=...) dropped: the block only compares and tests isfinite, which set no "
             "floating-point flag (NaN compares without a warning)")
_SCALAR = ("'if np.ndim(x)' -> always true: on one configuration broadcasting to shape () and taking index 0 "
           "gives the same value as the scalar path")
_UNREACHABLE = ("text of a refusal that cannot happen: an always_on component is on exactly the frame period, "
                "never longer")
EQUIVALENT: dict[str, str] = {
    **{f"{_E}check_resolution__mutmut_{n}": _DTYPE for n in (4, 6)},
    f"{_E}check_resolution__mutmut_9": _ERRSTATE + " (floor of NaN or inf sets none either)",
    **{f"{_E}evaluate_symbols__mutmut_{n}": _DTYPE for n in (13, 15, 79, 81)},
    **{f"{_E}check_operating__mutmut_{n}": _DTYPE for n in (3, 5, 9, 11, 100, 102, 106, 108, 147, 149)},
    f"{_E}check_operating__mutmut_15": _SCALAR,
    f"{_E}check_operating__mutmut_28": _ERRSTATE,
    f"{_E}check_operating__mutmut_61": ("index 0 instead of None on one configuration: bounding_stage reads "
                                        "scalars the same either way"),
    f"{_E}check_on_time__mutmut_1": _ERRSTATE,
    **{f"{_E}check_on_time__mutmut_{n}": _DTYPE for n in (14, 16)},
    f"{_E}check_on_time__mutmut_22": _SCALAR,
    **{f"{_E}check_on_time__mutmut_{n}": _UNREACHABLE for n in (36, 37, 38, 39)},
    **{f"{_E}check_lines__mutmut_{n}": _DTYPE for n in (11, 13)},
    f"{_E}check_lines__mutmut_17": _SCALAR,
    **{f"{_E}check_timing_and_cr__mutmut_{n}": _DTYPE for n in (3, 5)},
    f"{_E}check_timing_and_cr__mutmut_33": _ERRSTATE,
    f"{_E}check_timing_and_cr__mutmut_47": _SCALAR,
    f"{_E}supply_scale__mutmut_6": _ERRSTATE,
    f"{_E}supply_scale__mutmut_19": _SCALAR,
    f"{_E}build_lines__mutmut_28": "supply_v None: the scale is exactly 1.0, so E * 1.0 * 1.0 == E",
    f"{_E}resolve_budgets__mutmut_26": ("latency '' instead of None for a stated figure the table lacks: only "
                                        "read as 'if budget.latency_s', false for both"),
    f"{_E}resolve_budgets__mutmut_29": ("Budget.action of a stated figure: never read (a line carries its own "
                                        "action label)"),
    **{f"{_E}resolve_budgets__mutmut_{n}": "the cache key of the power budget, distinct from any action name"
       for n in (58, 59)},
    **{f"{_E}resolve_budgets__mutmut_{n}": "BudgetResolver.power does not use its 'where' argument"
       for n in (64, 67)},
}

IGNORE = shutil.ignore_patterns(".git", "mutants", "__pycache__", "*.egg-info", ".circuitsim-cache",
                                ".pytest_cache", "build", "dist")


def _scratch_copy(only: list[str], tests: list[str], deselect: list[str] = ()) -> Path:
    work = Path(tempfile.mkdtemp(prefix="circuitsim-mutation-"))
    dst = work / "repo"
    shutil.copytree(ROOT, dst, ignore=IGNORE)
    cfg = configparser.ConfigParser(interpolation=None)
    cfg.read(dst / "setup.cfg")
    if not cfg.has_section("mutmut"):
        cfg.add_section("mutmut")
    cfg.set("mutmut", "only_mutate", "\n" + "\n".join(only))
    cfg.set("mutmut", "pytest_add_cli_args_test_selection", "\n" + "\n".join(tests))
    if deselect:
        args = cfg.get("mutmut", "pytest_add_cli_args", fallback="").strip().splitlines()
        args += [a for test in deselect for a in ("--deselect", test)]
        cfg.set("mutmut", "pytest_add_cli_args", "\n" + "\n".join(args))
    with open(dst / "setup.cfg", "w") as f:
        cfg.write(f)
    return dst


def _results(repo: Path, env: dict[str, str]) -> dict[str, str]:
    out = subprocess.run([sys.executable, "-m", "mutmut", "results", "--all", "true"], cwd=repo, env=env,
                         capture_output=True, text=True).stdout
    status = {}
    for line in out.splitlines():
        m = re.match(r"\s+(\S+): (.+)$", line)
        if m:
            status[m.group(1)] = m.group(2).strip()
    return status


def run_module(name: str, only: list[str], tests: list[str], *, keep: bool, survivors: bool,
               max_children: int | None) -> dict:
    repo = _scratch_copy(only, tests, DESELECT.get(name, []))
    env = dict(os.environ, CIRCUITSIM_ROOT=str(repo), PYTHONPATH=str(repo))
    cmd = [sys.executable, "-m", "mutmut", "run"]
    if max_children:
        cmd += ["--max-children", str(max_children)]
    t0 = time.monotonic()
    proc = subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True)
    wall = time.monotonic() - t0
    status = _results(repo, env)
    if proc.returncode != 0 and (not status or all(v == "not checked" for v in status.values())):
        # mutmut stopped before testing any mutant (e.g. the clean or stats run failed): say why
        sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-4000:])
    counts = Counter(s for k, s in status.items() if k not in EQUIVALENT)
    excluded = counts["skipped"] + counts["caught by type check"]
    total = sum(counts.values()) - excluded
    killed = counts["killed"]
    row = dict(module=name, scope=" ".join(only), tests=" ".join(tests), killed=killed, total=total,
               survived=counts["survived"], no_tests=counts["no tests"], timeout=counts["timeout"],
               other=total - killed - counts["survived"] - counts["no tests"] - counts["timeout"],
               equivalent=sum(1 for k in status if k in EQUIVALENT), wall_s=wall, rc=proc.returncode,
               survivors=sorted(k for k, s in status.items() if s == "survived" and k not in EQUIVALENT),
               repo=repo)
    if survivors:
        for k in row["survivors"]:
            diff = subprocess.run([sys.executable, "-m", "mutmut", "show", k], cwd=repo, env=env,
                                  capture_output=True, text=True).stdout
            print(diff)
    if not keep:
        shutil.rmtree(repo.parent, ignore_errors=True)
    return row


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("modules", nargs="*", help=f"some of {', '.join(MODULES)} (default: all)")
    ap.add_argument("--only", nargs="+", help="custom scope: only_mutate globs (with --tests)")
    ap.add_argument("--tests", nargs="+", help="test paths for --only")
    ap.add_argument("--survivors", action="store_true", help="print the diff of every surviving mutant")
    ap.add_argument("--keep", action="store_true", help="keep the scratch copies (mutmut browse there)")
    ap.add_argument("--max-children", type=int, default=None, help="parallel mutmut workers")
    a = ap.parse_args(argv)
    if a.only:
        jobs = {"custom": (a.only, a.tests or ["tests"])}
    else:
        unknown = set(a.modules) - set(MODULES)
        if unknown:
            ap.error(f"unknown module(s) {sorted(unknown)}; choose from {list(MODULES)}")
        jobs = {m: MODULES[m] for m in (a.modules or MODULES)}
    rows = []
    for name, (only, tests) in jobs.items():
        print(f"[mutation] {name}: mutating {' '.join(only)}, tests {' '.join(tests)} ...", flush=True)
        rows.append(run_module(name, only, tests, keep=a.keep, survivors=a.survivors,
                               max_children=a.max_children))
    print()
    print(f"{'module':8} {'killed':>7} {'total':>6} {'score':>7} {'survived':>9} {'no tests':>9} "
          f"{'timeout':>8} {'other':>6} {'equiv':>6} {'wall':>8}")
    for r in rows:
        score = f"{100 * r['killed'] / r['total']:.1f}%" if r["total"] else "n/a"
        print(f"{r['module']:8} {r['killed']:7d} {r['total']:6d} {score:>7} {r['survived']:9d} "
              f"{r['no_tests']:9d} {r['timeout']:8d} {r['other']:6d} {r['equivalent']:6d} "
              f"{r['wall_s']:7.0f}s")
    for r in rows:
        if r["survivors"]:
            by_fn = Counter(re.sub(r"__mutmut_\d+$", "", k) for k in r["survivors"])
            print(f"\nsurvivors in {r['module']} by function (--survivors prints the diffs):")
            for fn, n in by_fn.most_common():
                print(f"  {n:4d}  {fn}")
        if a.keep:
            print(f"scratch copy of {r['module']}: {r['repo']}")
    return 0 if all(r["total"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())

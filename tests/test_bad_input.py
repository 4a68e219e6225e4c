"""Bad-input table (issue 13): every row runs the CLI with one bad input and asserts the promised contract:
exit status 2, stderr one paragraph starting "error:" that names the fix, no traceback, and no file under
calibration/ changed (the tree is hashed before and after the whole table).

Most rows run in-process through click's CliRunner (an exception other than the CLI's own SystemExit(2)
is the bug this catches). The rows in SUBPROCESS_ROWS run as a real ``python -m circuitsim.cli`` process
with a timeout instead (two at a time: each spends ~1.5 s importing): at least one per kind of input, so
"no traceback" is checked on the output a user sees, and every row that, broken, would run for minutes
(a million channels). The table stays well under a minute.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
LECA = (ROOT / "architectures" / "leca-4x4.yaml").read_text()
BIG = "9" * 400
ROW_TIMEOUT_S = 30


def _arch(tmp: Path, name: str, old: str, new: str) -> str:
    """A copy of leca-4x4.yaml with one line edited; returns its path."""
    assert old in LECA, old
    path = tmp / f"{name}.yaml"
    path.write_text(LECA.replace(old, new, 1))
    return str(path)


def _npy(tmp: Path, name: str, array) -> str:
    path = tmp / f"{name}.npy"
    np.save(path, array, allow_pickle=True)
    return str(path)


def _rows(tmp: Path) -> dict:
    """{row id: (argv, words the message must contain)}; files the rows read are written into ``tmp``."""
    return {
        # 1. sweep grids that cannot be built
        "sweep-infinite-range": (["sweep", "leca-4x4", "--param", "N_ch=1..inf"], ["finite"]),
        "sweep-nan-range": (["sweep", "leca-4x4", "--param", "N_ch=1..nan"], ["finite"]),
        "sweep-huge-range": (["sweep", "leca-4x4", "--param", "N_ch=1..1e12"], ["limit", "fewer"]),
        "sweep-huge-grid": (["sweep", "leca-4x4", "--param", "N_ch=1..10000", "--param", "Q_bit=1..10000"],
                            ["limit", "fewer"]),
        # 7. sizes the sensor cannot have
        "simulate-leca-million-channels": (["simulate", "leca", "--config", "1000000|4"], ["N_ch", "64", "sweep"]),
        "simulate-leca-zero-channels": (["simulate", "leca", "--config", "0|4"], ["N_ch"]),
        "simulate-leca-negative-channels": (["simulate", "leca", "--config", "-4|4"], ["N_ch"]),
        "simulate-leca-bad-q": (["simulate", "leca", "--config", "4|5"], ["1.5, 2, 3, 4"]),
        "simulate-snn-million-channels": (["simulate", "snn", "--channels", "1000000"], ["--channels", "64"]),
        # 8. tracebacks instead of exit 2
        "simulate-negative-seed": (["simulate", "leca", "--seed", "-1"], ["--seed", "0"]),
        "simulate-snn-zero-channels": (["simulate", "snn", "--channels", "0"], ["--channels", ">= 1"]),
        "simulate-snn-negative-channels": (["simulate", "snn", "--channels", "-3"], ["--channels"]),
        "image-1d": (["simulate", "leca", "--image", _npy(tmp, "flat", np.zeros(448 * 448))], ["shape"]),
        "image-4d": (["simulate", "snn", "--image", _npy(tmp, "four", np.zeros((2, 448, 448, 3)))], ["shape"]),
        "image-str-dtype": (["simulate", "leca", "--image", _npy(tmp, "text", np.full((448, 448), "a"))],
                            ["dtype"]),
        "image-object-dtype": (["simulate", "leca", "--image",
                                _npy(tmp, "obj", np.array([{"a": 1}] * 4, dtype=object))], ["dtype"]),
        "image-complex-dtype": (["simulate", "leca", "--image",
                                 _npy(tmp, "cplx", np.ones((448, 448), complex))], ["dtype"]),
        "image-nan": (["simulate", "leca", "--image", _npy(tmp, "nan", np.full((448, 448, 3), np.nan))],
                      ["finite"]),
        "image-not-npy": (["simulate", "leca", "--image", str(_text(tmp / "junk.npy", "not an array"))],
                          ["cannot read"]),
        "yaml-count-div-zero": (["report", _arch(tmp, "div0", "readout: pixels * passes}", "readout: 1 / 0}")],
                                ["readout", "non-finite"]),
        "yaml-n-ch-zero": (["report", _arch(tmp, "nch0", "  N_ch: 4\n", "  N_ch: 0\n")], ["N_ch must be at least 1"]),
        "yaml-n-ch-zero-sweep": (["sweep", _arch(tmp, "nch0s", "  N_ch: 4\n", "  N_ch: 0\n"), "--param", "Q_bit=2,4",
                                  "--out", str(tmp / "sweep")], ["N_ch"]),
        "yaml-400-digit-parameter": (["report", _arch(tmp, "bigp", "  rows: 448\n", f"  rows: {BIG}\n")],
                                     ["parameters.rows", "too large"]),
        "yaml-400-digit-count": (["report", _arch(tmp, "bigc", "readout: pixels * passes}", f"readout: {BIG}}}")],
                                 ["readout", "too large"]),
        "yaml-infinite-parameter": (["report", _arch(tmp, "infp", "  rows: 448\n", "  rows: .inf\n")],
                                    ["parameters.rows", "finite"]),
        "report-out-unwritable": (["report", "leca-4x4", "--out", "/proc/x"], ["/proc/x", "writable"]),
        "sweep-out-unwritable": (["sweep", "leca-4x4", "--param", "N_ch=1..4", "--out", "/proc/x"],
                                 ["/proc/x", "writable"]),
        "simulate-leca-out-unwritable": (["simulate", "leca", "--out", "/proc/x"], ["/proc/x", "writable"]),
        "simulate-snn-out-unwritable": (["simulate", "snn", "--out", "/proc/x"], ["/proc/x", "writable"]),
        # 10. range checks
        "yaml-adc-99-bit": (["report", _arch(tmp, "res99", "resolution_bits: Q_bit", "resolution_bits: 99")],
                            ["resolution_bits", "1..16"]),
        "yaml-adc-negative-bit": (["report", _arch(tmp, "resm3", "resolution_bits: Q_bit", "resolution_bits: -3")],
                                  ["resolution_bits", "1..16"]),
        "yaml-adc-fractional-bit": (["report", _arch(tmp, "res25", "resolution_bits: Q_bit",
                                                     "resolution_bits: 2.5")], ["resolution_bits", "1.5"]),
        "sweep-adc-99-bit": (["sweep", "leca-4x4", "--param", "Q_bit=4,99", "--out", str(tmp / "sweep")],
                             ["resolution_bits", "Q_bit=99"]),
        "simulate-uncalibrated-temp": (["simulate", "leca", "--temp", "50"], ["calibrated points", "tt_27C"]),
        "simulate-unknown-corner": (["simulate", "leca", "--corner", "xx"], ["valid corners", "tt"]),
        # a block with no code edges, and two measurements that each run alone
        "calibrate-transitions-of-a-buffer": (["calibrate", "psf", "--transitions-only", "--quiet"],
                                              ["psf", "no transitions measurement"]),
        "calibrate-two-only-flags": (["calibrate", "sar_adc_2b", "--static-only", "--transitions-only"],
                                     ["--static-only", "--transitions-only"]),
        # the README's catalogue of errors
        "readme-unknown-technology": (["simulate", "leca", "--technology", "gaas"], ["gaas"]),
        "readme-unknown-block": (["validate", "nope", "--no-plots"], ["unknown block"]),
        "readme-temperature-out-of-range": (["simulate", "snn", "--temp", "500"], ["[-40, 125]"]),
        "readme-supply-out-of-range": (["spice", "render", str(ROOT / "netlists" / "psf.cir"), "--vdd", "9"],
                                       ["supply"]),
        "readme-corner-outside-scm-range": (["simulate", "leca", "--corner", "ss"], ["SCM", "calibrated"]),
        "readme-unknown-architecture": (["report", "leca-9x9"], ["valid choices"]),
        "readme-snn-ideal-mode": (["simulate", "snn", "--mode", "ideal"], ["hard", "noisy"]),
    }


def _text(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _tree_hash(root: Path) -> dict:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _run(argv, cwd: Path):
    env = dict(os.environ, OMP_NUM_THREADS="1", COLUMNS="200")
    try:
        return subprocess.run([sys.executable, "-m", "circuitsim.cli", *argv], capture_output=True, text=True,
                              check=False, cwd=cwd, env=env, timeout=ROW_TIMEOUT_S)
    except subprocess.TimeoutExpired:  # a refusal is immediate; a row still running is a failure
        return subprocess.CompletedProcess(argv, -1, "", f"timed out after {ROW_TIMEOUT_S} s")


def _run_in_process(argv) -> subprocess.CompletedProcess:
    """The row through CliRunner, as a CompletedProcess; an escaping exception becomes its traceback text."""
    import traceback

    from circuitsim.cli import main

    result = CliRunner().invoke(main, argv, prog_name="circuitsim")
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        stderr += "".join(traceback.format_exception(*result.exc_info))
    return subprocess.CompletedProcess(argv, result.exit_code, result.stdout, stderr)


#: Rows run as a real process: one per kind of bad input (sweep grid, size, seed, image, YAML, unwritable
#: output, ADC range, operating point) and the ones that, broken, would run for minutes.
SUBPROCESS_ROWS = ("sweep-huge-range", "simulate-leca-million-channels", "simulate-snn-million-channels",
                   "simulate-negative-seed", "image-str-dtype", "yaml-400-digit-parameter", "yaml-count-div-zero",
                   "report-out-unwritable", "yaml-adc-99-bit", "simulate-uncalibrated-temp")


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    """Run the SUBPROCESS_ROWS as processes (two at a time) and the others in-process, in a scratch working
    directory; hash calibration/ before and after all of them."""
    tmp = tmp_path_factory.mktemp("bad_input")
    rows = _rows(tmp)
    before = _tree_hash(ROOT / "calibration")
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {name: pool.submit(_run, rows[name][0], tmp) for name in SUBPROCESS_ROWS}
        cwd = os.getcwd()
        os.chdir(tmp)
        try:
            results = {name: _run_in_process(argv) for name, (argv, _) in rows.items()
                       if name not in SUBPROCESS_ROWS}
        finally:
            os.chdir(cwd)
        results.update({name: future.result() for name, future in futures.items()})
    after = _tree_hash(ROOT / "calibration")
    return rows, results, before, after


def _row_ids():
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        return list(_rows(Path(tmp)))


def _check(result, words):
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output
    assert result.returncode == 2, output
    message = result.stderr.strip()
    assert message.startswith("error:"), output
    assert "\n\n" not in message, f"more than one paragraph: {message}"
    for word in words:
        assert word in message, f"{word!r} not in: {message}"


@pytest.mark.parametrize("row", _row_ids())
def test_bad_input_refused(table, row):
    rows, results, _, _ = table
    _check(results[row], rows[row][1])


def test_calibration_tree_unchanged(table):
    *_, before, after = table
    assert len(before) > 10
    assert after == before


def test_huge_leca_config_refused_in_well_under_a_second():
    """Item 7: `simulate leca --config "1000000|4"` ran 185 s into a MemoryError; now refused up front."""
    from circuitsim.cli import main

    runner = CliRunner()
    runner.invoke(main, ["simulate", "leca", "--config", "4|9"])  # warm the imports
    start = time.perf_counter()
    result = runner.invoke(main, ["simulate", "leca", "--config", "1000000|4"])
    elapsed = time.perf_counter() - start
    assert isinstance(result.exception, SystemExit) and result.exit_code == 2, result.output
    assert elapsed < 1.0, elapsed


def test_huge_sweep_refused_in_well_under_a_second():
    from circuitsim.cli import main

    start = time.perf_counter()
    result = CliRunner().invoke(main, ["sweep", "leca-4x4", "--param", "N_ch=1..1e12"])
    assert isinstance(result.exception, SystemExit) and result.exit_code == 2, result.output
    assert time.perf_counter() - start < 1.0


def test_sensor_configs_refuse_channel_counts_they_cannot_have():
    """The library path refuses what the CLI refuses (LecaConfig / default_snn_config), before allocating."""
    from circuitsim.errors import InputRangeError
    from circuitsim.sensor import leca, snn

    with pytest.raises(InputRangeError, match=r"above the 64 channels"):
        leca.default_weights(leca.MAX_CHANNELS + 1)
    with pytest.raises(InputRangeError, match=r"above the 64 channels"):
        leca.LecaConfig(weights=np.zeros((leca.MAX_CHANNELS + 4, 4, 4), np.int64))
    for bad in (0, -3, 2.0, True):
        with pytest.raises(InputRangeError, match=r"--channels"):
            snn.default_snn_config(bad)
    assert leca.default_weights(leca.MAX_CHANNELS).shape == (64, 4, 4)

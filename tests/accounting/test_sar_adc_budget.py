"""The SAR ADC's whole-conversion budget at the architecture's resolution: calibrated sar_adc_<N>b artifacts
(integer N) with their hash and path in the source, the literature formula elsewhere (1.5 bit, 12 bit, no
artifact), literature totals unchanged by the switch from cdac_unit_switch/bit_cycle lines to one conversion
line, tamper refusal, and grids over the resolution."""

import json
import math

import pytest

from circuitsim.accounting import BudgetResolver, EnergyTableError, evaluate, load_energy_table
from circuitsim.accounting.sweep import sweep
from circuitsim.accounting.tables import parse_table
from circuitsim.config import project_root
from circuitsim.errors import ArtifactError

TABLE = load_energy_table()
E_CDAC = TABLE.budget("sar_adc", "cdac_unit_switch").energy_J
E_BIT = TABLE.budget("sar_adc", "bit_cycle").energy_J
PIXELS = 448 * 448
LECA_4X4_CONVERSIONS = 112 * 112 * 4            # blocks x N_ch outputs, one conversion each

#: Literature-mode figures of every shipped architecture before the ADC became one ``conversion`` line
#: (computed at commit 9f48a04 with cdac_unit_switch + bit_cycle lines): (energy_per_frame_J, adc J).
LITERATURE_BEFORE = {
    "agt": (4.17499543552e-06, 5.930562355199999e-07),
    "cnv": (4.8444687155199995e-06, 5.930562355199999e-07),
    "cs": (4.86737506304e-06, 7.146587750399999e-07),
    "leca-4x3": (4.675165859840001e-06, 2.698665984e-08),
    "leca-4x4": (4.761786695680001e-06, 3.771629568e-08),
    "leca-8x3": (9.350331719680003e-06, 5.397331968e-08),
    "leca-normal": (5.811360235519999e-06, 5.930562355199999e-07),
    "lr-1.5b": (2.8402407206119405e-06, 6.870664061193998e-08),
    "lr-1b": (2.69281245184e-06, 3.511517184e-08),
    "lr-3b": (3.22099111936e-06, 1.0794663936e-07),
    "ms": (3.89877655552e-06, 5.930562355199999e-07),
    "pixelrnn": (0.00018630326412799998, None),
    "pixelrnn-raw": (1.9021089996799998e-06, 1.9365101568e-07),
    "sd-2x2": (3.85813399552e-06, 5.930562355199999e-07),
    "sd-2x3": (3.71174551552e-06, 5.930562355199999e-07),
    "sd-2x4": (3.6310248755199996e-06, 5.930562355199999e-07),
    "snn": (0.0009033599633407999, None),
    "snn-baseline": (0.0010744959349555199, 5.930562355199999e-07),
}


def _adc(ev, term: str = "dynamic"):
    """The converter's line of one term (dynamic: the conversions; leakage: its idle power between them)."""
    table = ev.table()
    (row,) = table.index[(table["component"] == "adc") & (table["term"] == term)]
    return table.loc[row]


@pytest.mark.parametrize("name", sorted(LITERATURE_BEFORE))
def test_literature_totals_unchanged(name):
    """Before the static terms: dynamic lines only, the link at a flat 1.2 pJ/bit. The link now rests on the
    cited transmitters (HS lane power over the link time plus a per-bit part, issue 17 item 5,
    tests/accounting/test_link.py), so the old totals come back with the link's new energy swapped for the old
    flat 1.2 pJ/bit; the pixel's column-load static power is new (issue 17), and so is CNV's column amplifier
    (issue 18): one 55 pJ sample (the literature table's CamJ-model estimate) per pixel."""
    total_J, adc_J = LITERATURE_BEFORE[name]
    ev = evaluate(name)
    terms = ev.component_terms_J()
    link_dynamic = sum(t["dynamic"] for c, t in terms.items() if c == "link")
    old_link = 1.2e-12 * ev.summary()["bits_per_frame"]
    col_amp = terms.get("col_amp", {}).get("dynamic", 0.0)
    if name == "cnv":
        assert col_amp == pytest.approx(448 * 448 * 55e-12, rel=1e-12)
    assert ev.term_energy_J()["dynamic"] - col_amp - link_dynamic + old_link == pytest.approx(total_J, rel=1e-12)
    assert ev.component_energy_J().get("adc") == (None if adc_J is None else pytest.approx(adc_J, rel=1e-12))


@pytest.mark.parametrize("bits", [1, 1.5, 2, 3, 4, 8, 12])
def test_literature_conversion_formula(bits):
    budget = TABLE.budget("sar_adc", "conversion", bits=bits)
    assert budget.energy_J == pytest.approx(2 ** bits * E_CDAC + math.ceil(bits) * E_BIT, rel=1e-15)
    assert budget.latency_s == pytest.approx((math.ceil(bits) + 1) * 2.5e-9)
    assert budget.origin == "literature" and budget.kind == "estimate"
    assert budget.source.endswith(f"at N = {bits:g} bit")


def test_conversion_needs_a_resolution(write_arch, tiny_yaml):
    path = write_arch(tiny_yaml.replace("block: mipi_csi2\n    actions: {transmit_bit: bits_per_frame}",
                                        "block: sar_adc\n    actions: {conversion: pixels}"))
    with pytest.raises(EnergyTableError, match=r"components.link: .*'conversion' of 'sar_adc' depends on the "
                                               r"converter resolution; give the component 'resolution_bits'"):
        evaluate(path)


def test_resolution_table_entry_is_checked(tmp_path):
    entry = {"name": "conversion", "energy_J": "2 ** bits * unit_energy_J", "source": {"kind": "estimate",
             "derivation": "d"}}
    data = {"schema": "circuitsim.energy_table/1", "components": {"adc": {"actions": [
        {"name": "unit", "energy_J": 1e-15, "source": {"kind": "estimate", "derivation": "d"}}, entry]}}}
    with pytest.raises(EnergyTableError, match=r"needs 'artifact'.*\{bits\}"):
        parse_table(data, tmp_path / "t.yaml")
    entry["artifact"] = "adc_{bits}b"
    assert parse_table(data, tmp_path / "t.yaml").budget("adc", "conversion", bits=3).energy_J == pytest.approx(8e-15)
    entry["energy_J"] = "2 ** bits * unit_J"
    with pytest.raises(EnergyTableError, match=r"unknown symbol\(s\) unit_J; valid: bits, unit_energy_J"):
        parse_table(data, tmp_path / "t.yaml")


@pytest.fixture
def sar_root(tmp_path, write_energy_artifact):
    """Calibration root with sar_adc_8b and sar_adc_4b artifacts, and a stale whole-block ``sar_adc`` one
    (an older CDAC + comparator conversion) that a per-resolution budget must not read."""
    write_energy_artifact("sar_adc_8b", "conversion", 5.9e-12, 22.5e-9)
    write_energy_artifact("sar_adc_4b", "conversion", 3.3e-12, 12.5e-9)
    write_energy_artifact("sar_adc", "conversion", 1.0e-12, 22.5e-9)
    return tmp_path


@pytest.mark.parametrize("name, n_bits, energy_J, latency_s, conversions", [
    ("cnv", 8, 5.9e-12, 22.5e-9, PIXELS), ("leca-4x4", 4, 3.3e-12, 12.5e-9, LECA_4X4_CONVERSIONS)])
def test_calibrated_conversion_at_the_architecture_resolution(sar_root, name, n_bits, energy_J, latency_s,
                                                              conversions):
    resolver = BudgetResolver("sky130", calibration_root=sar_root)
    ev = evaluate(name, resolver=resolver)
    adc = _adc(ev)
    assert adc["action"] == "conversion" and adc["count"] == conversions
    assert adc["origin"] == "calibrated" and adc["energy_per_action_J"] == energy_J
    assert f"sky130/tt_27C/sar_adc_{n_bits}b sha256:" in adc["source"]
    assert ev.component_energy_J()["adc"] == pytest.approx(energy_J * conversions, rel=1e-12)
    assert resolver.budget("sar_adc", "conversion", bits=n_bits).latency_s == latency_s
    literature = evaluate(name)
    assert ev.energy_per_frame_J - literature.energy_per_frame_J == pytest.approx(
        (energy_J - TABLE.budget("sar_adc", "conversion", bits=n_bits).energy_J) * conversions, rel=1e-9)
    assert set(ev.table().set_index("component").drop(index="adc")["origin"]) == {"literature"}


@pytest.mark.parametrize("name, reason", [
    ("lr-1.5b", "1.5 bit is not an integer resolution: no sky130 artifact"),
    ("cs", "no sky130 artifact 'sar_adc_12b' at sky130 tt 27 °C; calibrated resolutions: sar_adc_4b, sar_adc_8b"),
    ("leca-4x3", "no sky130 artifact 'sar_adc_3b' at sky130 tt 27 °C; calibrated resolutions: sar_adc_4b, "
                 "sar_adc_8b")])
def test_other_resolutions_keep_the_literature_formula(sar_root, name, reason):
    ev = evaluate(name, resolver=BudgetResolver("sky130", calibration_root=sar_root))
    adc = _adc(ev)
    assert adc["origin"] == "literature" and adc["source_kind"] == "estimate" and adc["fallback_reason"] == reason
    assert ev.component_energy_J()["adc"] == pytest.approx(LITERATURE_BEFORE[name][1], rel=1e-12)


def test_tampered_sar_artifact_refused(sar_root):
    from circuitsim.store import ENERGY_FILE

    energy = sar_root / "sky130" / "tt_27C" / "sar_adc_8b" / ENERGY_FILE
    energy.write_text(energy.read_text().replace("5.9e-12", "1.9e-12"))
    with pytest.raises(ArtifactError):
        evaluate("cnv", resolver=BudgetResolver("sky130", calibration_root=sar_root))
    evaluate("leca-4x4", resolver=BudgetResolver("sky130", calibration_root=sar_root))   # 4 bit untouched


def test_sweep_over_the_resolution_mixes_calibrated_and_literature(sar_root):
    resolver = BudgetResolver("sky130", calibration_root=sar_root)
    frame = sweep("leca-4x4", {"Q_bit": [1.5, 2, 4, 8], "N_ch": [4, 8]}, resolver=resolver)
    for _, row in frame.iterrows():
        one = evaluate("leca-4x4", overrides={"Q_bit": row["Q_bit"], "N_ch": row["N_ch"]}, resolver=resolver)
        assert row["energy_adc_J"] == pytest.approx(one.component_energy_J()["adc"], rel=1e-12)
        assert row["energy_per_frame_J"] == pytest.approx(one.energy_per_frame_J, rel=1e-12)
    at_8 = frame[(frame["Q_bit"] == 8) & (frame["N_ch"] == 4)].iloc[0]
    assert at_8["energy_adc_J"] == pytest.approx(5.9e-12 * LECA_4X4_CONVERSIONS)


def _committed(n_bits: int):
    return project_root() / "calibration" / "sky130" / "tt_27C" / f"sar_adc_{n_bits}b" / "energy.json"


@pytest.mark.parametrize("name, n_bits, conversions", [("cnv", 8, PIXELS), ("leca-4x4", 4, LECA_4X4_CONVERSIONS)])
def test_committed_sar_artifacts_are_picked_up(name, n_bits, conversions):
    if not _committed(n_bits).is_file():
        pytest.skip(f"no committed sky130 artifact sar_adc_{n_bits}b yet")
    table = json.loads(_committed(n_bits).read_text())
    record = {a["name"]: a for a in table["actions"]}["conversion"]
    ev = evaluate(name, technology="sky130")
    assert _adc(ev)["origin"] == "calibrated"
    assert ev.component_terms_J()["adc"]["dynamic"] == pytest.approx(record["energy_J"] * conversions, rel=1e-12)
    # the artifact's idle figure (SPICE, issue 17 item 2) is the converter's leakage between conversions
    leakage = _adc(ev, "leakage")
    assert leakage["origin"] == "calibrated" and f"sar_adc_{n_bits}b" in leakage["source"]
    assert leakage["power_W"] == pytest.approx(table["leakage_W"], rel=1e-12)
    assert leakage["energy_J"] == pytest.approx(leakage["count"] * table["leakage_W"] * leakage["time_s"], rel=1e-12)

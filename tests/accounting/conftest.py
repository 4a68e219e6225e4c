import textwrap
from pathlib import Path

import pytest

TINY = """
schema: circuitsim.architecture/1
name: tiny
description: two components, hand-checkable
parameters:
  rows: 4
  cols: 8
  bits: 8
  t_row_s: 1.0e-6
  link_bps: 1.0e6
derived:
  pixels: rows * cols
output:
  bits_per_frame: pixels * bits
  reference_bits_per_frame: pixels * 8
timing:
  stages:
    - {name: readout, group: array, time_s: rows * t_row_s}
    - {name: adc, group: array, time_s: rows * 0.5e-6}
    - {name: link, group: link, time_s: bits_per_frame / link_bps}
components:
  pixel:
    block: pixel_4t
    actions: {readout: pixels}
  link:
    block: mipi_csi2
    actions: {transmit_bit: bits_per_frame}
"""


SHIPPED = ["cnv", "sd-2x2", "sd-2x3", "sd-2x4", "lr-3b", "lr-1.5b", "lr-1b", "cs", "ms", "agt", "leca-8x3",
           "leca-4x4", "leca-4x3", "leca-normal", "snn", "snn-baseline", "pixelrnn", "pixelrnn-raw"]


@pytest.fixture
def tiny_yaml():
    return TINY


@pytest.fixture
def shipped():
    """The 18 architecture names SPEC section 7 lists."""
    return list(SHIPPED)


@pytest.fixture
def write_arch(tmp_path):
    """Write an architecture YAML (default: the tiny one) into tmp_path; returns its path."""
    def write(text: str = TINY, name: str = "tiny.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text))
        return path
    return write


@pytest.fixture
def write_energy_artifact(tmp_path):
    """Write a calibration artifact ``<tmp_path>/sky130/tt_27C/<block>/`` with one action in its energy.json;
    returns its directory (``tmp_path`` is the calibration root)."""
    from circuitsim.store import ENERGY_FILE, MODEL_FILE, SPICE_FILE, ArtifactStore, OperatingPoint, json_bytes, npz_bytes

    def write(block: str, action: str, energy_J: float, latency_s: float) -> Path:
        energy = {"component": block, "technology": "sky130", "corner": "tt", "temperature_C": 27.0,
                  "actions": [{"name": action, "energy_J": energy_J, "latency_s": latency_s, "note": "test"}]}
        point = OperatingPoint("tt", 27.0, "sky130")
        files = {ENERGY_FILE: json_bytes(energy), MODEL_FILE: npz_bytes({}), SPICE_FILE: npz_bytes({})}
        return ArtifactStore(tmp_path).write(block, point, files, {"block": block, **point.as_dict()})
    return write

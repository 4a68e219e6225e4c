"""Architectures a hostile but fair user can write (issue 13 items 8 and 10): every one is refused with an
ArchitectureError naming the file, the key and what to do, never a ZeroDivisionError or OverflowError."""

import numpy as np
import pytest

from circuitsim.accounting import evaluate
from circuitsim.accounting.schema import ArchitectureError
from circuitsim.accounting.sweep import sweep
from circuitsim.errors import CircuitsimError

ADC = """
  adc:
    block: sar_adc
    resolution_bits: {bits}
    actions: {{conversion: pixels}}
"""
BIG = "9" * 400


def _with_adc(tiny_yaml, bits):
    return tiny_yaml + ADC.format(bits=bits)


@pytest.mark.parametrize("bits", [99, -3, 0, 2.5, 17, "bits / 0"])
def test_adc_resolution_outside_the_physical_range_refused(write_arch, tiny_yaml, bits):
    path = write_arch(_with_adc(tiny_yaml, bits))
    with pytest.raises(ArchitectureError, match=r"tiny.yaml: components.adc.resolution_bits .* integer 1..16 bit "
                                                r"or 1.5 \(ternary\)"):
        evaluate(path)


@pytest.mark.parametrize("bits", [1, 1.5, 2, 8, 16])
def test_adc_resolutions_in_range_accepted(write_arch, tiny_yaml, bits):
    assert evaluate(write_arch(_with_adc(tiny_yaml, bits))).energy_per_frame_J > 0


def test_adc_resolution_checked_on_a_grid(write_arch, tiny_yaml):
    path = write_arch(_with_adc(tiny_yaml, "bits"))
    with pytest.raises(ArchitectureError, match=r"is 99 bit at bits=99"):
        sweep(path, {"bits": np.array([4.0, 99.0])})


def test_count_dividing_by_zero_refused(write_arch, tiny_yaml):
    path = write_arch(tiny_yaml.replace("actions: {readout: pixels}", "actions: {readout: 1 / 0}"))
    with pytest.raises(ArchitectureError, match=r"action 'readout' has a negative or non-finite count at defaults "
                                                r"\(count formula gives inf\)"):
        evaluate(path)


def test_zero_parameter_names_the_constraint():
    """N_ch: 0 divided by zero in the compression ratio before the constraint could say N_ch >= 1."""
    with pytest.raises(ArchitectureError, match=r"N_ch must be at least 1 \(N_ch=0\)"):
        evaluate("leca-4x4", overrides={"N_ch": 0})


def test_zero_bits_per_frame_refused(write_arch, tiny_yaml):
    path = write_arch(tiny_yaml.replace("bits: 8\n", "bits: 0\n"))
    with pytest.raises(ArchitectureError, match=r"bits_per_frame from output.bits_per_frame is 0 .* finite and > 0"):
        evaluate(path)


@pytest.mark.parametrize("old, new, key", [
    ("rows: 4\n", f"rows: {BIG}\n", "parameters.rows"),
    ("rows: 4\n", "rows: .inf\n", "parameters.rows"),
    ("rows: 4\n", "rows: .nan\n", "parameters.rows"),
    ("actions: {readout: pixels}", f"actions: {{readout: {BIG}}}", "components.pixel.actions.readout"),
    ("actions: {readout: pixels}", f"actions: {{readout: 'pixels * {BIG}'}}", "components.pixel.actions.readout"),
    ("actions: {readout: pixels}", "actions: {readout: 'pixels * 1e999'}", "components.pixel.actions.readout"),
])
def test_numbers_too_large_for_a_float_refused(write_arch, tiny_yaml, old, new, key):
    path = write_arch(tiny_yaml.replace(old, new))
    with pytest.raises(CircuitsimError, match=rf"tiny.yaml: {key}: .*too large or not finite"):
        evaluate(path)


def test_power_overflow_is_a_non_finite_count(write_arch, tiny_yaml):
    path = write_arch(tiny_yaml.replace("actions: {readout: pixels}", "actions: {readout: '10 ** 400'}"))
    with pytest.raises(ArchitectureError, match=r"non-finite count"):
        evaluate(path)

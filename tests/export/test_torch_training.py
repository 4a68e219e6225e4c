"""The noise-aware training example learns: a tiny run (600 digits, 6 + 1 epochs) of
examples/noise_aware_training.py reaches an ideal test accuracy far above chance (0.1 for 10 classes), and the
fine-tuned weights give the frame simulator's codes (circuitsim.sensor.leca.simulate_frame, the independent
source) in hard mode.

Bugs this catches: gradients that never reach the encoder weights or the classifier (accuracy stays at
chance, as the first version of the example did when every 4x4 kernel saw one uniform digit pixel and
the codes did not depend on the image), codes saturated at one ADC level, a layer whose hard-mode codes
drift from the simulator's after training moved the weights and the full scale.
"""

import importlib.util
from pathlib import Path

import pytest

pytest.importorskip("sklearn")

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "noise_aware_training.py"


def test_tiny_training_run_learns_and_matches_the_simulator(capsys):
    spec = importlib.util.spec_from_file_location("noise_aware_training", EXAMPLE)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    result = example.main(["--small"])
    assert result["ideal"] > 0.25, result
    assert result["simulator_agreement"] == 1.0, result
    assert "accuracy" in capsys.readouterr().out

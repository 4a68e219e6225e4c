"""circuitsim: hardware-accurate circuit and energy simulation for image sensors that compute.

Layers, each importing only the ones above it:
technology -> spice -> sweep -> calibration -> blocks -> (sensor, accounting) -> (export, reports) -> cli.

Importing the package is cheap: PySpice, torch and matplotlib are imported only where used.
"""

__version__ = "0.1.0"

"""The calibration layer: the block contract, fitting LUTs and parameters to SPICE results, writing
artifacts, and validating models on held-out points against SPICE."""

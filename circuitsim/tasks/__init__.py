"""Task execution: calibration tasks (one deck, one batch of analyses), the content-addressed result
cache and the executors (local processes or Dask distributed). Not to be confused with the design-space
sweep of the accounting layer (``circuitsim sweep``)."""

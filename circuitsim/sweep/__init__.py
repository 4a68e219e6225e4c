"""The sweep layer: calibration tasks, the content-addressed result cache, executors (local processes
or Dask distributed) and atomic, hash-checked artifact I/O with provenance."""

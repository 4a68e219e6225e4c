"""The SPICE layer: deck rendering (pure text), the ngspice session, analyses, and measurements."""

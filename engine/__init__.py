"""stylebot's engine: the style-transfer library (``nst``) and the job queue it runs through (``jobs``)."""

import os

# OpenMP threads that spin after a parallel region take the cores from NNPACK's own threads, which
# run the Winograd convolutions between two such regions (engine.nst.winograd): a 256 px step took
# 0.56 s instead of 0.36 s. libgomp reads this once, when torch loads, so it is set before that; a
# value from the environment wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

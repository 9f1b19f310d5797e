"""stylebot's engine: the style-transfer library (``nst``) and the job queue it runs through (``jobs``)."""

import os

# OpenMP threads spin after a parallel region (libgomp: 300,000 rounds by default) and take the cores
# from NNPACK's own threads, which run the Winograd convolutions between two such regions
# (engine.nst.winograd). A short spin keeps back-to-back small operations quick and leaves the cores
# to NNPACK: a 256 px step took 0.37 s with 10,000 rounds, 0.42 s with OMP_WAIT_POLICY=PASSIVE (no
# spin), 0.45 s with 100,000 and 0.69 s with OMP_WAIT_POLICY=ACTIVE (python -m bench.winograd). libgomp
# reads this once, when torch loads, so it is set before that; a value or a wait policy from the
# environment wins.
if "OMP_WAIT_POLICY" not in os.environ:
    os.environ.setdefault("GOMP_SPINCOUNT", "10000")

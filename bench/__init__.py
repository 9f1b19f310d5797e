"""Benchmarks that print figures; each module says what it measures and how to run it."""

import engine  # noqa: F401  (before torch loads: sets OMP_WAIT_POLICY, see engine/__init__.py)

"""Benchmarks that print figures; each module says what it measures and how to run it."""

import engine  # noqa: F401  (before torch loads: sets GOMP_SPINCOUNT, see engine/__init__.py)

"""Fixtures shared by every test package."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from tests.support.images import SHARED_BENCH, SHARED_IMAGES


@pytest.fixture(scope="session")
def shared_images() -> Path:
    """The public-domain test images (:data:`tests.support.images.SHARED_IMAGES`); skip where absent."""
    if not SHARED_IMAGES.is_dir():
        pytest.skip(f"the test images are not present on this machine ({SHARED_IMAGES})")
    return SHARED_IMAGES


@pytest.fixture(scope="session")
def naive() -> ModuleType:
    """naive_gatys.py, the reference implementation and its fp32 ``evaluate`` (in :data:`SHARED_BENCH`)."""
    path = SHARED_BENCH / "naive_gatys.py"
    if not path.is_file():
        pytest.skip(f"the naive reference is not present on this machine ({path})")
    spec = importlib.util.spec_from_file_location("naive_gatys", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# Shared fixtures: a real redis-server and workers (redis_server, workers, make_queue, inprocess_worker),
# and the banner about Redis tests skipped for want of it; /metrics on a free port (port); and pytester,
# which runs pytest on a generated test file (tests/support/test_redis_skips.py).
pytest_plugins = ["tests.support.redis", "tests.support.scrape", "pytester"]

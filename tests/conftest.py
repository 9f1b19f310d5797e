"""Fixtures shared by every test package."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

SHARED_IMAGES = Path(__file__).resolve().parents[2] / "shared" / "images"
SHARED_BENCH = Path(__file__).resolve().parents[2] / "shared" / "bench"


@pytest.fixture(scope="session")
def shared_images() -> Path:
    """The public-domain test images beside the checkout (../shared/images); skip where absent."""
    if not SHARED_IMAGES.is_dir():
        pytest.skip("../shared/images is not present on this machine")
    return SHARED_IMAGES


def png_bytes(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


# The real redis-server and worker processes (fixtures redis_server, worker_pool, workers, make_queue).
pytest_plugins = ["tests.support.redis"]

"""Test images: small ones made on the spot (noise keeps PNGs from compressing to nothing), and where the
public-domain photographs and paintings and the naive reference script live.

The photographs, paintings and ``naive_gatys.py`` are not part of the repository: they sit in a folder
beside the checkout, ``../shared`` (``images/`` and ``bench/``), or wherever ``STYLEBOT_SHARED`` says.
This module is the one place that names that folder; every test takes it from here, and the tests
that need it skip where it is absent.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
from PIL import Image

SHARED = Path(os.environ.get("STYLEBOT_SHARED") or Path(__file__).resolve().parents[3] / "shared")
SHARED_IMAGES = SHARED / "images"  # tubingen.jpg, starry_night.jpg, ...
SHARED_BENCH = SHARED / "bench"  # naive_gatys.py, the reference implementation and its fp32 evaluate


def png_bytes(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def noise_image(seed: int = 0, width: int = 48, height: int = 40) -> Image.Image:
    """A seeded RGB noise image."""
    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8))


def noise_png(seed: int = 0, width: int = 48, height: int = 40) -> bytes:
    return png_bytes(noise_image(seed, width, height))

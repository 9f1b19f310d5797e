"""Small test images, made on the spot (noise keeps PNGs from compressing to nothing)."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image


def png_bytes(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def noise_image(seed: int = 0, width: int = 48, height: int = 40) -> Image.Image:
    """A seeded RGB noise image."""
    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8))


def noise_png(seed: int = 0, width: int = 48, height: int = 40) -> bytes:
    return png_bytes(noise_image(seed, width, height))

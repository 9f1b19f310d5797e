"""``make demo``: stylize a photo an installed package ships with a painting drawn here, offline.

The photo is NASA's public-domain portrait of astronaut Eileen Collins, bundled with
scikit-image. The "painting" is drawn by :func:`draw_painting`: brush strokes following
a swirling flow field in a night-sky palette, so no third-party artwork is needed.
"""

from __future__ import annotations

import logging
import math
import random
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFilter

from engine.errors import InputError
from engine.nst.params import parse_options

log = logging.getLogger(__name__)

PALETTE = [(16, 32, 84), (28, 62, 140), (52, 98, 180), (96, 150, 210), (235, 205, 80), (250, 240, 170)]


def _flow(x: float, y: float, size: int) -> float:
    """Direction of the brush at (x, y): slow swirls around a few centres."""
    angle = 0.0
    for cx, cy, spin in ((0.3, 0.35, 1.0), (0.7, 0.6, -1.0), (0.5, 0.15, 0.6)):
        dx, dy = x / size - cx, y / size - cy
        angle += spin * math.atan2(dy, dx) + math.pi / 2 * spin / (1 + 12 * (dx * dx + dy * dy))
    return angle


def draw_painting(size: int = 384, seed: int = 1) -> Image.Image:
    """A square, deterministic 'painting' of swirling brush strokes."""
    rng = random.Random(seed)
    img = Image.new("RGB", (size, size), PALETTE[0])
    draw = ImageDraw.Draw(img)
    for _ in range(size * 9):
        x, y = rng.uniform(0, size), rng.uniform(0, size)
        colour = rng.choices(PALETTE, weights=[3, 4, 3, 2, 1, 1])[0]
        jitter = tuple(max(0, min(255, c + rng.randint(-18, 18))) for c in colour)
        points = [(x, y)]
        for _ in range(rng.randint(4, 9)):
            a = _flow(x, y, size)
            x, y = x + 4 * math.cos(a), y + 4 * math.sin(a)
            points.append((x, y))
        draw.line(points, fill=jitter, width=rng.randint(2, 5), joint="curve")
    return img.filter(ImageFilter.SMOOTH)


def demo_photo() -> Image.Image:
    try:
        from skimage import data
    except ImportError:
        raise InputError("the demo photo comes from scikit-image: pip install scikit-image") from None
    return Image.fromarray(data.astronaut()).convert("RGB")


def run_demo(output: Path, size: str | int = 256) -> dict[str, Any]:
    from engine.nst.images import encode_image
    from engine.nst.stylize import render

    params = parse_options({"size": size})
    content, style = demo_photo(), draw_painting()
    output.parent.mkdir(parents=True, exist_ok=True)
    style.save(output.with_name(output.stem + "-style.png"))
    log.info("stylizing the astronaut photo (scikit-image) with a drawn painting at %d px", params.size)
    image, report = render(encode_image(content), [encode_image(style)], params)
    image.save(output)
    return {"output": str(output), **report}

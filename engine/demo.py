"""``make demo``: stylize a photo an installed package ships with a painting drawn here, offline.

The photo is NASA's public-domain portrait of astronaut Eileen Collins, bundled with
scikit-image. The "painting" is drawn by :func:`draw_painting`: brush strokes following
a swirling flow field in a night-sky palette, so no third-party artwork is needed.

The animations the tests and benchmarks stylize are made here too, on the spot: nothing is
downloaded. :func:`moving_scene` draws a seeded procedural texture that the camera pans across
while a textured disc crosses it the other way (so there is parallax, occlusion and
disocclusion, as in real footage); :func:`astronaut_pan` pans and zooms across the astronaut
portrait. Both return RGB PIL frames.
"""

from __future__ import annotations

import io
import logging
import math
import random
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from engine.errors import InputError
from engine.nst.params import StyleParams

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
    from engine.nst.render import render

    params = StyleParams(size=size)
    content, style = demo_photo(), draw_painting()
    output.parent.mkdir(parents=True, exist_ok=True)
    style.save(output.with_name(output.stem + "-style.png"))
    log.info("stylizing the astronaut photo (scikit-image) with a drawn painting at %d px", params.size)
    done = render(encode_image(content), [encode_image(style)], params)
    assert done.picture is not None  # the photo is a still
    done.picture.save(output)
    return {"output": str(output), **done.report}


def _texture(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A colourful multi-scale noise texture (uint8 RGB) with edges for the flow to hold on to."""
    out = np.zeros((height, width, 3), np.float32)
    for scale, amp in ((64, 1.0), (16, 0.6), (4, 0.35)):
        small = rng.random((max(2, height // scale), max(2, width // scale), 3)).astype(np.float32)
        out += amp * cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)
    out = (out - out.min()) / (out.max() - out.min() + 1e-6)
    return (np.clip(out, 0, 1) * 255).astype(np.uint8)


def moving_scene(frames: int = 12, width: int = 96, height: int = 72, seed: int = 0,
                 pan_px: float = 1.5, disc_px: float = 3.0) -> list[Image.Image]:
    """A camera panning right by ``pan_px`` per frame over a texture; a disc moving left by ``disc_px``."""
    rng = np.random.default_rng(seed)
    margin = int(abs(pan_px) * frames) + 8
    background = _texture(rng, height, width + margin)
    radius = max(6, min(width, height) // 5)
    disc = _texture(rng, 2 * radius, 2 * radius)
    yy, xx = np.mgrid[: 2 * radius, : 2 * radius]
    inside = ((yy - radius + 0.5) ** 2 + (xx - radius + 0.5) ** 2) <= radius ** 2
    out = []
    for i in range(frames):
        shift = np.float32([[1, 0, -pan_px * i], [0, 1, 0]])  # sub-pixel pan, as a camera would
        frame = cv2.warpAffine(background, shift, (width, height), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REFLECT)
        cx = round(width * 0.75 - disc_px * i)
        cy = height // 2
        x0, y0 = cx - radius, cy - radius
        xs, ys = slice(max(0, x0), min(width, x0 + 2 * radius)), slice(max(0, y0), min(height, y0 + 2 * radius))
        sub = inside[ys.start - y0: ys.stop - y0, xs.start - x0: xs.stop - x0]
        frame[ys, xs][sub] = disc[ys.start - y0: ys.stop - y0, xs.start - x0: xs.stop - x0][sub]
        out.append(Image.fromarray(frame))
    return out


def astronaut_pan(frames: int = 24, side: int = 256) -> list[Image.Image]:
    """A slow pan and zoom across scikit-image's public-domain astronaut photo (NASA)."""
    photo = np.asarray(demo_photo())  # 512 x 512
    h, w = photo.shape[:2]
    out = []
    for i in range(frames):
        t = i / max(1, frames - 1)
        crop = int(h * (0.8 - 0.15 * t))  # zoom in a little
        x0 = int((w - crop) * (0.2 + 0.5 * t))
        y0 = int((h - crop) * 0.3)
        window = photo[y0: y0 + crop, x0: x0 + crop]
        out.append(Image.fromarray(cv2.resize(window, (side, side), interpolation=cv2.INTER_AREA)))
    return out


def gif_bytes(frames: list[Image.Image], duration_ms: int = 80) -> bytes:
    """The frames as an animated GIF (one adaptive palette per frame), as a chat user would post it."""
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], duration=duration_ms, loop=0)
    return buf.getvalue()

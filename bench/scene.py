"""Synthetic animations for the tests and the benchmark: moving, textured scenes made on the spot.

Nothing is downloaded: :func:`moving_scene` draws a seeded procedural texture that the camera
pans across while a textured disc crosses it the other way (so there is parallax, occlusion and
disocclusion, as in real footage); :func:`astronaut_pan` pans and zooms across NASA's
public-domain portrait that scikit-image ships. Both return RGB PIL frames.
"""

from __future__ import annotations

import io

import cv2
import numpy as np
from PIL import Image


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
    from skimage import data

    photo = data.astronaut()  # 512 x 512
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

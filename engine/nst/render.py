"""The one bytes-in path: uploaded files in, the painted picture or animation and its report out.

The CLI, ``make demo`` and the job runtime (both queues) come through :func:`render`, so a
file is decoded, and refused, the same way everywhere, and whether a job is a still or an
animation is decided here, once. What a still job paints (one picture, a grid, an upscale)
is the caller's ``paint``; a batch of stills comes in through :func:`decode_still`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from PIL import Image

from engine.nst.images import decode_image
from engine.nst.media import AnimationLimits, is_animation
from engine.nst.params import StyleParams
from engine.nst.stylize import get_stylizer
from engine.nst.types import Engine, Painted
from engine.nst.video import paint_clip

#: How a still is painted: (engine, photo, paintings, params, **hooks) -> (picture, report).
PaintStill = Callable[..., Painted]


@dataclass(frozen=True)
class Rendered:
    """A finished job: a still ``picture``, or an animation's encoded ``clip``; and its report."""

    report: dict[str, Any]
    picture: Image.Image | None = None
    clip: bytes | None = None  # in report["animation"]["format"]


def render(content: bytes, styles: Sequence[bytes], params: StyleParams, *, stylizer: Engine | None = None,
           paint: PaintStill | None = None, limits: AnimationLimits | None = None,
           animated: Callable[[StyleParams], StyleParams] | None = None, **hooks: Any) -> Rendered:
    """Decode the uploads once and paint them: an animation frame by frame, a still with ``paint``.

    ``stylizer`` defaults to the shared one of ``params.backbone``; ``paint`` to its ``stylize``.
    An animation's params pass through ``animated`` first (the CLI takes the format from the
    output's name) and its ``limits`` are checked before anything is painted. ``hooks`` are
    :meth:`Stylizer.stylize`'s (``on_progress``, ``should_cancel``, ``preview_every``, ...).
    """
    engine = stylizer or get_stylizer(params.backbone)
    if is_animation(content):  # GIF/WebP/APNG with several frames, or an MP4/WebM/MOV clip
        params = animated(params) if animated is not None else params
        clip, report = paint_clip(engine, content, [decode_image(s) for s in styles], params, limits=limits,
                                  **hooks)
        return Rendered(report, clip=clip)
    photo, paintings = decode_still(content, styles)
    picture, report = (paint or _stylize)(engine, photo, paintings, params, **hooks)
    return Rendered(report, picture=picture)


def decode_still(content: bytes, styles: Sequence[bytes]) -> tuple[Image.Image, list[Image.Image]]:
    """A still job's photo and paintings, decoded (also how a batch's members come in)."""
    return decode_image(content), [decode_image(s) for s in styles]


def _stylize(engine: Engine, photo: Image.Image, paintings: list[Image.Image], params: StyleParams,
             **hooks: Any) -> Painted:
    return engine.stylize(photo, paintings, params, **hooks)

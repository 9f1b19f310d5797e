"""What a job draws with the feed-forward draft network (:mod:`engine.nst.draft`), in both queues.

* Every painted job's **first look**: before the optimisation starts, the photo drafted in the
  painting's style is published as the job's first preview (:func:`show_draft`), within about a
  second of the job starting on two CPU cores, whatever the size.
* A **quick** job (``JobSpec.draft == "quick"``): the draft itself is the result.
* A **try** job (``"try"``): one contact sheet of the photo drafted in each style image, each cell
  captioned (a server's saved styles by name).

Blocking; runs in the job's thread like the optimisation. Neither torch nor the VGG19 weights are
loaded for a quick or try job, so a fresh worker answers it at once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from engine.errors import JobCancelled
from engine.jobs.contract import JobResult, JobSpec
from engine.jobs.report import JobReport
from engine.nst.params import StyleParams
from engine.nst.types import Progress

if TYPE_CHECKING:
    from PIL import Image

log = logging.getLogger(__name__)

OnProgress = Callable[[Progress], None]

TRY_CELL = 192  # px, the longest side of one draft on a "try" sheet
TRY_COLUMNS = 5  # drafts per row of a "try" sheet
TRY_PREVIEW_EVERY = 5  # a "try" sheet's preview shows the cells drawn so far, every this many cells


def first_look(spec: JobSpec, params: StyleParams, on_progress: OnProgress) -> None:
    """A painted job's first preview, a draft of its photo in its style(s) (:func:`show_draft`).

    Drawn first thing in the job's thread, before the optimisation's engine is even loaded, from
    the photo decoded for the draft alone. Not for an upscale (it starts from a painted result)
    or an animation (its frames come painted one by one).
    """
    from engine.nst.images import decode_image
    from engine.nst.media import is_animation

    if spec.start_image is not None or is_animation(spec.content):
        return
    show_draft(decode_image(spec.content), [decode_image(s) for s in spec.styles], params, on_progress)


def show_draft(content: Image.Image, styles: Sequence[Image.Image], params: StyleParams,
               on_progress: OnProgress) -> None:
    """Publish the job's first look: the photo drafted in its style(s), as a preview at step 0.

    A preview only: the optimisation that follows is not touched. A draft that fails (its models
    missing from a hand-made install, say) is logged and the job goes on without it.
    """
    from engine.nst.draft import draft
    from engine.nst.images import PREVIEW_SIDE, preview_jpeg

    t0 = time.perf_counter()
    try:
        image = draft(content, styles, min(params.size, PREVIEW_SIDE), blend=params.style_blend,
                      preserve_colors=params.preserve_colors)
    except Exception:  # a preview must never fail the job
        log.warning("could not draw the draft; the job goes on without it", exc_info=True)
        return
    on_progress(Progress(step=0, total=0, losses={}, elapsed=time.perf_counter() - t0, preview=preview_jpeg(image)))


def render_draft(spec: JobSpec, params: StyleParams, *, on_progress: OnProgress,
                 should_cancel: Callable[[], bool]) -> JobResult:
    """A quick or try job's encoded result and report (``params`` are checked already)."""
    from engine.jobs.paint import result
    from engine.nst.images import decode_image

    content, styles = decode_image(spec.content), [decode_image(s) for s in spec.styles]
    if spec.draft == "try":
        image, report = paint_try(content, styles, spec.captions, params, on_progress=on_progress,
                                  should_cancel=should_cancel)
    else:
        image, report = paint_quick(content, styles, params)
    return result(image, JobReport.from_dict(report, spec.kind))


def paint_quick(content: Image.Image, styles: Sequence[Image.Image], params: StyleParams,
                ) -> tuple[Image.Image, dict[str, Any]]:
    """The draft as the result, at the job's size; its report says it is one (``"quick": True``)."""
    from engine.nst.draft import draft

    t0 = time.perf_counter()
    image = draft(content, styles, params.size, blend=params.style_blend, preserve_colors=params.preserve_colors)
    return image, {"params": params.to_dict(), "width": image.width, "height": image.height,
                   "seconds": round(time.perf_counter() - t0, 3), "steps": 0}


def paint_try(content: Image.Image, styles: Sequence[Image.Image], captions: Sequence[str], params: StyleParams,
              *, on_progress: OnProgress, should_cancel: Callable[[], bool]) -> tuple[Image.Image, dict[str, Any]]:
    """One sheet: the photo drafted in each style, captioned, :data:`TRY_COLUMNS` per row.

    Progress counts the cells; every :data:`TRY_PREVIEW_EVERY` cells the preview shows the sheet
    so far. Cancelling stops between two cells.
    """
    from engine.nst.draft import paint, style_vector
    from engine.nst.images import preview_jpeg
    from engine.nst.schedule import level_shape
    from engine.tiles import compose

    t0 = time.perf_counter()
    shape = level_shape(content.size, min(TRY_CELL, params.size))
    cells: list[Image.Image | None] = [None] * len(styles)
    columns = min(TRY_COLUMNS, len(styles))
    for i, style in enumerate(styles):
        if should_cancel():
            raise JobCancelled("cancelled")
        cells[i] = paint(content, style_vector(style), shape)
        preview = None
        if (i + 1) % TRY_PREVIEW_EVERY == 0 and i + 1 < len(styles):
            preview = preview_jpeg(compose(cells, list(captions), columns=columns, cell=shape).image)
        on_progress(Progress(step=i + 1, total=len(styles), losses={}, elapsed=time.perf_counter() - t0,
                             preview=preview))
    sheet = compose(cells, list(captions), columns=columns, cell=shape)
    report = {"try": {"names": list(captions), "boxes": [list(b) for b in sheet.boxes]},
              "params": params.to_dict(), "width": sheet.image.width, "height": sheet.image.height,
              "seconds": round(time.perf_counter() - t0, 3), "steps": 0}
    return sheet.image, report

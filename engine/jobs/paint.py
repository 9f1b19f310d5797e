"""What a job paints: one picture (with a first look in seconds), an upscale, or a strength grid.

:func:`paint_job` is called by :mod:`engine.jobs.runtime` (which decides how a job ends) with
the engine, the job and its checked params; everything here is blocking and runs in the job's
thread. Importing this module loads neither torch nor Pillow, so the bot can read the
constants (:data:`GRID_FACTORS`, :func:`grid_caption`) in a process that never runs a job.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from engine.jobs.contract import JobSpec
from engine.nst.params import StyleParams

if TYPE_CHECKING:
    from PIL import Image

OnProgress = Callable[[Any], None]  # receives engine.nst.stylize.Progress

FIRST_LOOK_SIDE = 128  # px: a picture this small is painted in a few seconds on two CPU cores
FIRST_LOOK_STEPS = 40  # L-BFGS steps of the first look: enough for the painting's colours and strokes
GRID_FACTORS = (0.5, 1.0, 2.0, 4.0)  # the strength grid: style_weight × each, in reading order
MAX_GRID_CELLS = 4
UPSCALE_STEPS = 0.5  # an upscale runs this fraction of the job's full-size steps (see upscale_params)
PREVIEW_SIDE = 256  # longest side of preview JPEGs, as the engine's own


def paint_job(engine: Any, spec: JobSpec, params: StyleParams, *, on_progress: OnProgress,
              should_cancel: Callable[[], bool], preview_every: int) -> tuple[Image.Image, dict[str, Any]]:
    """Decode the job's images and paint what it asks for; the image and its report.

    ``engine`` is a :class:`~engine.nst.stylize.Stylizer` (or a test's stand-in). Previews are
    on when ``preview_every`` is: then each coarse rung's result is shown too.
    """
    from engine.nst.images import decode_image

    content, styles = decode_image(spec.content), [decode_image(s) for s in spec.styles]
    hooks: dict[str, Any] = {"should_cancel": should_cancel, "preview_every": preview_every,
                             "preview_levels": preview_every > 0}
    if spec.grid:
        return render_grid(engine, content, styles, params, spec.grid, on_progress=on_progress, **hooks)
    if spec.start_image is not None:
        start = decode_image(spec.start_image)
        image, report = engine.stylize(content, styles, upscale_params(params), init=start,
                                       on_progress=on_progress, **hooks)
        report.update(params=params.to_dict(), upscaled_from=[start.width, start.height])
        return image, report
    return paint_one(engine, content, styles, params, on_progress=on_progress, **hooks)


def upscale_params(params: StyleParams) -> StyleParams:
    """What an upscale runs: one rung at the new size, started from the result, with fewer steps.

    The result already holds the painting's layout, colours and strokes; what the larger size
    lacks is detail, which a single full-size rung of :data:`UPSCALE_STEPS` × ``steps`` adds
    (the coarse rungs would only redo what the result did). The report keeps the job's own
    params, so "More style" on an upscaled result runs the full schedule again.
    """
    return params.replace(levels=1, steps=max(1, round(params.steps * UPSCALE_STEPS)))


def needs_first_look(params: StyleParams, previews: bool) -> bool:
    """Whether the job's first preview would come late: its first rung is larger than a first look."""
    from engine.nst.stylize import schedule

    return previews and schedule(params)[0][0] > FIRST_LOOK_SIDE


def paint_one(engine: Any, content: Image.Image, styles: Sequence[Image.Image], params: StyleParams, *,
              on_progress: OnProgress, look: bool = True, **hooks: Any) -> tuple[Image.Image, dict[str, Any]]:
    """One picture; with previews on, a first look at it comes within seconds.

    The first rung of a 512 px job (256 px, 50 steps) takes about 12 s on two CPU cores. So a
    separate small run (:data:`FIRST_LOOK_SIDE` px, :data:`FIRST_LOOK_STEPS` steps) is shown
    first, then the job runs its own schedule, unchanged. Starting the schedule itself that low
    instead gave a higher final cost at 256 and 512 px (README, "A first look"), so the look
    costs its few seconds on top, and the result is what it was without it.
    """
    if not (look and needs_first_look(params, hooks.get("preview_levels", False))):
        return engine.stylize(content, styles, params, on_progress=hide_unpainted(on_progress, params), **hooks)
    from engine.nst.stylize import schedule

    t0 = time.perf_counter()
    total = FIRST_LOOK_STEPS + sum(steps for _, steps in schedule(params))
    quick = params.replace(size=FIRST_LOOK_SIDE, levels=1, steps=FIRST_LOOK_STEPS)
    last: list[Any] = []

    def early(progress: Any) -> None:  # the last step is reported with the look, once it is an image
        last[:] = [replace(progress, total=total, preview=None)]
        if progress.step < FIRST_LOOK_STEPS:
            on_progress(last[0])

    look_image, _ = engine.stylize(content, styles, quick, on_progress=early,
                                   **{**hooks, "preview_every": 0, "preview_levels": False})
    if last:
        on_progress(replace(last[0], preview=preview_jpeg(look_image)))
    look_s = time.perf_counter() - t0

    def later(progress: Any) -> None:
        on_progress(replace(progress, step=FIRST_LOOK_STEPS + progress.step, total=total))

    image, report = engine.stylize(content, styles, params, on_progress=hide_unpainted(later, params), **hooks)
    report["first_look"] = {"size": FIRST_LOOK_SIDE, "steps": FIRST_LOOK_STEPS, "seconds": round(look_s, 3)}
    report["seconds"] = round(report["seconds"] + look_s, 3)
    return image, report


def hide_unpainted(on_progress: OnProgress, params: StyleParams) -> OnProgress:
    """``on_progress`` without the previews taken before the first coarse rung is finished.

    Those show the photo with a faint texture; from the first rung's result on, every
    preview is painted.
    """
    from engine.nst.stylize import schedule

    rungs = schedule(params)
    first_rung = rungs[0][1] if len(rungs) > 1 else 0

    def forward(progress: Any) -> None:
        if progress.preview is not None and progress.level == 0 and progress.step < first_rung:
            progress = replace(progress, preview=None)
        on_progress(progress)

    return forward


def preview_jpeg(image: Image.Image) -> bytes:
    """A small JPEG of ``image``, like the engine's own previews."""
    from engine.nst.images import encode_image, fit_to_size

    return encode_image(fit_to_size(image, PREVIEW_SIDE), format="JPEG", quality=70)


def grid_caption(params: StyleParams, factor: float) -> str:
    """A grid cell's label, e.g. ``beta x2 = 200`` (ASCII: Pillow's bundled font has no β)."""
    return f"beta x{factor:g} = {params.style_weight * factor:g}"


def render_grid(engine: Any, content: Image.Image, styles: Sequence[Image.Image], params: StyleParams,
                factors: Sequence[float], *, on_progress: OnProgress, **hooks: Any,
                ) -> tuple[Image.Image, dict[str, Any]]:
    """The strength grid: the photo painted at ``style_weight × factor`` per factor, labelled, two per row.

    Here the cells run one after another (``hooks`` are :meth:`Stylizer.stylize`'s), with
    progress counted across all of them and a preview that fills in cell by cell (the first
    cell with a first look). The cells share the photo, the painting and their shape: on a
    GPU this loop is the one place to replace with a single batched call (one
    forward/backward for all cells, a batched L-BFGS).
    """
    from engine.nst.stylize import schedule
    from engine.tiles import compose

    cells = [params.replace(style_weight=params.style_weight * f) for f in factors]
    look = needs_first_look(params, hooks.get("preview_levels", False))
    totals = [sum(s for _, s in schedule(c)) + (FIRST_LOOK_STEPS if look and i == 0 else 0)
              for i, c in enumerate(cells)]
    captions = [grid_caption(params, f) for f in factors]
    shown: list[Image.Image | None] = [None] * len(cells)
    reports: list[dict[str, Any]] = []
    for i, cell in enumerate(cells):
        forward = _grid_progress(on_progress, i, sum(totals[:i]), sum(totals), shown, captions)
        image, report = paint_one(engine, content, styles, cell, on_progress=forward, look=i == 0, **hooks)
        shown[i] = image
        reports.append(report)
    sheet = compose(shown, captions, columns=2)
    shared = {k: v for k, v in reports[0].items() if k not in ("initial_loss", "final_loss", "first_look")}
    report = {**shared, "params": params.to_dict(), "width": sheet.image.width, "height": sheet.image.height,
              "seconds": round(sum(r["seconds"] for r in reports), 3), "steps": sum(r["steps"] for r in reports),
              "grid": {"factors": list(factors), "boxes": [list(b) for b in sheet.boxes],
                       "final_loss": [r["final_loss"] for r in reports]}}
    return sheet.image, report


def _grid_progress(on_progress: OnProgress, index: int, offset: int, total: int,
                   shown: list[Image.Image | None], captions: list[str]) -> OnProgress:
    """Progress of cell ``index`` as progress of the whole grid; a preview shows every cell so far."""
    from PIL import Image

    from engine.nst.images import encode_image
    from engine.tiles import compose

    def forward(progress: Any) -> None:
        preview = None
        if progress.preview is not None:
            with Image.open(io.BytesIO(progress.preview)) as current:
                tiles = [*shown[:index], current.convert("RGB"), *shown[index + 1:]]
                small = [t.resize((128, max(1, round(128 * t.height / t.width)))) if t else None for t in tiles]
                preview = encode_image(compose(small, captions, columns=2).image, format="JPEG", quality=70)
        on_progress(replace(progress, step=offset + progress.step, total=total, preview=preview))

    return forward

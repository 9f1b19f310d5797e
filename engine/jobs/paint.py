"""What a job paints: one picture (with a first look in seconds), an upscale, or a strength grid.

:func:`render` is called by :mod:`engine.jobs.runtime` (which decides how a job ends) with
the engine, the job and its checked params, and takes the one bytes-in path
(:func:`engine.nst.render.render`); everything here is blocking and runs in the job's thread.
Importing this module loads neither torch nor Pillow, so the bot can read the constants
(:data:`GRID_FACTORS`, :func:`grid_caption`) in a process that never runs a job.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING, Any

from engine.jobs.contract import JobResult, JobSpec
from engine.jobs.report import JobReport, Kind
from engine.nst.params import StyleParams
from engine.nst.types import Engine, Job, Painted, Progress
from engine.texts import english, msg

if TYPE_CHECKING:
    from PIL import Image

OnProgress = Callable[[Progress], None]

# A small Gatys run shown before a large job's schedule. Off: with previews on, the runtime shows the
# feed-forward draft (engine.jobs.drafts.first_look) within a second of the job's start, so the look only
# delayed the result by its seconds (docs/performance.md). True brings it back (a worker without the draft network).
GATYS_FIRST_LOOK = False
FIRST_LOOK_SIDE = 128  # px: a picture this small is painted in a few seconds on two CPU cores
FIRST_LOOK_STEPS = 40  # L-BFGS steps of the first look: enough for the painting's colours and strokes
# The strength grid: style_weight × each, in reading order. Spread so that every cell looks different:
# with the default schedule the style cost stops falling past β × 2 (it was 1.75e4, 1.39e4, 1.32e4 at
# × 1, 2, 4 and 1.42e4 at × 10: docs/performance.md, `python -m bench.grid`), so the grid reaches
# down to gentle cells, where both the style and the content cost still move a lot per step.
GRID_FACTORS = (0.1, 0.25, 1.0, 4.0)
UPSCALE_STEPS = 0.5  # an upscale runs this fraction of the job's full-size steps (see upscale_params)


def render(engine: Engine, spec: JobSpec, params: StyleParams, *, on_progress: OnProgress,
           should_cancel: Callable[[], bool], preview_every: int) -> JobResult:
    """The job's encoded result and report: its picture (:func:`paint_job`) or, for an animated photo, its
    painted animation; through the one bytes-in path. ``params`` are checked already."""
    from engine.nst.render import render as from_bytes  # torch and the weights load only once a job runs

    done = from_bytes(spec.content, spec.styles, params, stylizer=engine, paint=partial(paint_job, spec),
                      on_progress=on_progress, should_cancel=should_cancel, preview_every=preview_every)
    if done.clip is not None:
        return JobResult(image=done.clip, report=JobReport.from_dict(done.report, Kind.ANIMATION))
    assert done.picture is not None
    return result(done.picture, JobReport.from_dict(done.report, spec.kind))


def result(image: Image.Image, report: JobReport) -> JobResult:
    """A painted picture as a job's result: the PNG and the report."""
    from engine.nst.images import encode_image

    return JobResult(image=encode_image(image, format="PNG"), report=report)


def batch_key(spec: JobSpec) -> str | None:
    """Jobs with the same key may run as one batch (see engine.nst.schedule.batch_key); None: run it alone.

    Only plain pictures share a batch: an animation's frames wait for each other, a strength grid
    is a batch of its own, an upscale starts from its own image. Read from the options and the
    photo's header only (no decoding, no torch), so a queue can group waiting jobs cheaply; a job
    whose options or photo cannot be read runs alone, and fails there.
    """
    from engine.nst.images import peek  # torch-free
    from engine.nst.media import is_animation
    from engine.nst.schedule import batch_key as shape_key

    if spec.grid or spec.start_image is not None or spec.draft or is_animation(spec.content):
        return None
    try:
        params = spec.params
    except Exception:  # noqa: BLE001 - bad options: it runs alone and fails with their words
        return None
    found = peek(spec.content)
    return shape_key(params, found[1]) if found is not None else None  # unreadable: alone, fails there


def batch_member(spec: JobSpec, params: StyleParams, **hooks: Any) -> Job:
    """The engine's Job for a plain picture in a batch of jobs, its images decoded the one way.

    A batch runs on a GPU, where a first rung takes a second or so: no separate first look.
    """
    from engine.nst.render import decode_still

    return Job(*decode_still(spec.content, spec.styles), params, **hooks)


def paint_job(spec: JobSpec, engine: Engine, content: Image.Image, styles: Sequence[Image.Image],
              params: StyleParams, *, on_progress: OnProgress, should_cancel: Callable[[], bool],
              preview_every: int) -> Painted:
    """Paint what a still job asks for (its picture, grid or upscale) from its decoded images.

    ``engine`` is a :class:`~engine.nst.stylize.Stylizer` (or a test's stand-in). Previews are
    on when ``preview_every`` is: then each coarse rung's result is shown too.
    """
    hooks: dict[str, Any] = {"should_cancel": should_cancel, "preview_every": preview_every,
                             "preview_levels": preview_every > 0}
    if spec.grid:
        return render_grid(engine, content, styles, params, spec.grid, on_progress=on_progress, **hooks)
    if spec.start_image is not None:
        from engine.nst.images import decode_image

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
    from engine.nst.schedule import schedule

    return GATYS_FIRST_LOOK and previews and schedule(params)[0][0] > FIRST_LOOK_SIDE


def paint_one(engine: Engine, content: Image.Image, styles: Sequence[Image.Image], params: StyleParams, *,
              on_progress: OnProgress, look: bool = True, **hooks: Any) -> Painted:
    """One picture; with previews on, a first look at it comes within seconds.

    The first rung of a 512 px job (256 px, 50 steps) takes about 12 s on two CPU cores. So a
    separate small run (:data:`FIRST_LOOK_SIDE` px, :data:`FIRST_LOOK_STEPS` steps) is shown
    first, then the job runs its own schedule, unchanged. Starting the schedule itself that low
    instead gave a higher final cost at 256 and 512 px (docs/performance.md, "The first look"), so the look
    costs its few seconds on top, and the result is what it was without it.
    """
    if not (look and needs_first_look(params, hooks.get("preview_levels", False))):
        return engine.stylize(content, styles, params, on_progress=on_progress, **hooks)
    from engine.nst.schedule import schedule

    t0 = time.perf_counter()
    total = FIRST_LOOK_STEPS + sum(steps for _, steps in schedule(params))
    quick = params.replace(size=FIRST_LOOK_SIDE, levels=1, steps=FIRST_LOOK_STEPS)
    last: list[Progress] = []

    def early(progress: Progress) -> None:  # the last step is reported with the look, once it is an image
        last[:] = [replace(progress, total=total, preview=None)]
        if progress.step < FIRST_LOOK_STEPS:
            on_progress(last[0])

    look_image, _ = engine.stylize(content, styles, quick, on_progress=early,
                                   **{**hooks, "preview_every": 0, "preview_levels": False})
    if last:
        from engine.nst.images import preview_jpeg

        on_progress(replace(last[0], preview=preview_jpeg(look_image)))
    look_s = time.perf_counter() - t0

    def later(progress: Progress) -> None:
        on_progress(replace(progress, step=FIRST_LOOK_STEPS + progress.step, total=total))

    image, report = engine.stylize(content, styles, params, on_progress=later, **hooks)
    report["first_look"] = {"size": FIRST_LOOK_SIDE, "steps": FIRST_LOOK_STEPS, "seconds": round(look_s, 3)}
    report["seconds"] = round(report["seconds"] + look_s, 3)
    return image, report


def grid_caption(params: StyleParams, factor: float) -> str:
    """A grid cell's label, e.g. ``beta x2 = 200`` (ASCII: Pillow's bundled font has no β)."""
    return english(msg("grid.caption", factor=factor, beta=params.style_weight * factor))


def render_grid(engine: Engine, content: Image.Image, styles: Sequence[Image.Image], params: StyleParams,
                factors: Sequence[float], *, on_progress: OnProgress, batched: bool | None = None, **hooks: Any,
                ) -> Painted:
    """The strength grid: the photo painted at ``style_weight × factor`` per factor, labelled, two per row.

    The cells share the photo, the painting and their shape, so ``batched`` (the default on a
    GPU) paints them as one batch: one forward/backward pass for all cells per step, an L-BFGS
    per cell (:meth:`Stylizer.stylize_many`), about the cost of one job. Otherwise (the default
    on a CPU, where a batch of four costs four jobs anyway) they run one after another and the
    first cell starts with a first look. Either way progress counts across all cells and the
    preview shows every cell as far as it has got. ``hooks`` are :meth:`Stylizer.stylize`'s.
    """
    from engine.nst.schedule import schedule
    from engine.nst.stylize import resolve_device
    from engine.tiles import compose

    cells = [params.replace(style_weight=params.style_weight * f) for f in factors]
    if batched is None:
        batched = resolve_device(params.device).type == "cuda"
    look = not batched and needs_first_look(params, hooks.get("preview_levels", False))
    totals = [sum(s for _, s in schedule(c)) + (FIRST_LOOK_STEPS if look and i == 0 else 0)
              for i, c in enumerate(cells)]
    board = _GridBoard(on_progress, totals, [grid_caption(params, f) for f in factors])
    if batched:
        jobs = [Job(content, styles, cell, on_progress=board.forward(i), **hooks) for i, cell in enumerate(cells)]
        results = engine.stylize_many(jobs)
        for result in results:
            if isinstance(result, BaseException):
                raise result
        images, reports = [r[0] for r in results], [r[1] for r in results]  # type: ignore[index]
        seconds = max(r["seconds"] for r in reports)
    else:
        images, reports = [], []
        for i, cell in enumerate(cells):
            image, report = paint_one(engine, content, styles, cell, on_progress=board.forward(i), look=i == 0,
                                      **hooks)
            board.tiles[i] = image
            images.append(image)
            reports.append(report)
        seconds = sum(r["seconds"] for r in reports)
    sheet = compose(images, board.captions, columns=2)
    shared = {k: v for k, v in reports[0].items() if k not in ("initial_loss", "final_loss", "first_look")}
    report = {**shared, "params": params.to_dict(), "width": sheet.image.width, "height": sheet.image.height,
              "seconds": round(seconds, 3), "steps": sum(r["steps"] for r in reports),
              "grid": {"factors": list(factors), "boxes": [list(b) for b in sheet.boxes], "batched": batched,
                       "final_loss": [r["final_loss"] for r in reports]}}
    return sheet.image, report


class _GridBoard:
    """The grid as its progress shows it: steps summed over the cells, a preview of every cell so far."""

    def __init__(self, on_progress: OnProgress, totals: list[int], captions: list[str]) -> None:
        self.on_progress, self.totals, self.captions = on_progress, totals, captions
        self.steps = [0] * len(totals)
        self.tiles: list[Image.Image | None] = [None] * len(totals)  # each cell's latest look

    def forward(self, index: int) -> OnProgress:
        """``on_progress`` for cell ``index``."""
        from engine.nst.images import decode_image, preview_jpeg
        from engine.tiles import compose

        def forward(progress: Progress) -> None:
            self.steps[index] = progress.step
            preview = None
            if progress.preview is not None:
                self.tiles[index] = decode_image(progress.preview)
                small = [t.resize((128, max(1, round(128 * t.height / t.width)))) if t else None for t in self.tiles]
                preview = preview_jpeg(compose(small, self.captions, columns=2).image, longest_side=None)
            self.on_progress(replace(progress, step=sum(self.steps), total=sum(self.totals), preview=preview))

        return forward

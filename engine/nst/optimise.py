"""The optimiser loop of a batch of jobs: gradient descent on B images at once, over the rungs of their schedule.

One forward and one backward pass serve every job of the batch; each job keeps its own
weights, targets, start, optimiser history, progress, previews and fate - a job that is
cancelled or diverges is frozen where it is and reported on its own, the others go on.
All per-batch state lives in :class:`Batch` and its :class:`Run` per job, so one Stylizer serves
many batches; the loop knows the Stylizer only through the objective it is handed.

On a GPU nothing here waits for the device between steps except to report progress, which
happens every :data:`REPORT_EVERY_CUDA` steps (and at the end of each rung): the L-BFGS is
:class:`engine.nst.lbfgs.BatchedLBFGS`, and a job's cost terms are read back only then.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from PIL import Image

from engine.errors import JobCancelled, JobDiverged
from engine.nst.images import preview_jpeg, to_image, to_tensor
from engine.nst.lbfgs import BatchedLBFGS
from engine.nst.params import StyleParams
from engine.nst.precondition import Pyramid
from engine.nst.types import Job, Progress, Targets, Terms
from engine.nst.warmstart import draft_start

LBFGS_HISTORY = 100  # neural-style's default (optim.lbfgs' nCorrection)
LBFGS_HISTORY_BYTES = 1 << 30  # cap the 2*m*numel floats of history per job at large sizes
#: Levels of the pyramid L-BFGS optimises instead of the pixels (engine.nst.precondition); 1 = the pixels.
PYRAMID_LEVELS = 1
PYRAMID_DECAY = 0.5  # weight of level k: decay**k (1.0 overshoots: without a line search, 64 px runs diverged)
REPORT_EVERY_CUDA = 5  # steps between progress reports on a GPU (each one waits for the device)

Cost = Callable[[torch.Tensor], Terms]  # images (B x 3 x H x W) -> each job's cost terms (B values each)
Objective = Callable[[int], Cost]  # rung -> the batch's cost at that rung


@dataclass
class Run:
    """One job as a run of the loop sees it: the request, its targets at every rung, and how it stopped."""

    job: Job
    levels: list[Targets]
    error: BaseException | None = None  # set when this job stopped early


def initial_image(params: StyleParams, targets: Targets) -> torch.Tensor:
    """Where the optimisation starts: the photo itself, or noise with ``init=noise``.

    Departure from Gatys et al., who start from white noise (as neural-style does by default):
    starting from the photo keeps its layout from the first step and needs far fewer steps for
    the same cost, which is what a chat bot needs. ``init=noise`` is the paper's start.
    """
    if params.init in ("content", "draft"):  # a draft starts the coarse rung only (start_image)
        return targets.content.clone()
    gen = torch.Generator().manual_seed(params.seed)
    noise = torch.randn(targets.content.shape, generator=gen) * 32.0 + 127.5
    return noise.to(targets.content.device)


def start_image(run: Run) -> torch.Tensor:
    """The job's own start (``init``, resized to the first rung exactly), else the draft of a job of several
    rungs with ``init=draft`` (:mod:`engine.nst.warmstart`), else :func:`initial_image`."""
    first, init = run.levels[0], run.job.init
    if init is None and run.job.params.init == "draft" and len(run.levels) > 1:
        height, width = first.content.shape[-2:]
        job = run.job
        init = draft_start(job.content, job.styles, job.params.style_blend, (width, height),
                           job.params.preserve_colors)
    if init is None:
        return jitter(initial_image(run.job.params, first), run.job.params)
    height, width = first.content.shape[-2:]
    resized = init.convert("RGB").resize((width, height), Image.Resampling.LANCZOS)
    return jitter(to_tensor(resized).to(first.content.device) * 255.0, run.job.params)


JITTER = 8.0  # standard deviation of a seed's jitter, in 0-255 pixel units


def jitter(start: torch.Tensor, params: StyleParams) -> torch.Tensor:
    """A start from the photo or a draft, moved by a little seeded noise when ``seed`` is set (not 0).

    Not in Gatys et al., whose noise start is the only random part: from the photo or a draft the
    optimisation is deterministic, so without this every seed would paint the same picture. A small
    jitter sends L-BFGS to a nearby minimum of its own, so a variation (a new seed) differs in its
    brush strokes, not in its layout. Seed 0 (the default) leaves the start as it was.
    """
    if params.seed == 0 or params.init == "noise":  # the noise start is seeded already
        return start
    gen = torch.Generator().manual_seed(params.seed)
    noise = torch.randn(start.shape, generator=gen) * JITTER
    return (start + noise.to(start.device)).clamp(0.0, 255.0)


class Batch:
    """Runs the schedule of several jobs whose images have the same shapes at every rung.

    ``objective(rung)`` is the batch's cost at a rung (the Stylizer's :meth:`batch_objective` over
    these jobs); a job that stops early gets its ``error`` set on its :class:`Run`.
    """

    def __init__(self, runs: Sequence[Run], objective: Objective):
        self.runs, self.cost = list(runs), objective
        self.start = time.perf_counter()
        self.device = runs[0].levels[0].content.device
        self.report_every = REPORT_EVERY_CUDA if self.device.type == "cuda" else 1
        self.total = sum(t.steps for t in runs[0].levels)
        self.done = 0

    def evaluate(self, images: torch.Tensor, rung: int) -> list[dict[str, float]]:
        with torch.no_grad():
            return self._per_job(self.cost(rung)(images))

    def run(self) -> tuple[torch.Tensor, list[dict[str, float]], list[dict[str, float]]]:
        """Optimise; returns the images (B x 3 x H x W, RGB 0..255) and each job's initial and final costs."""
        runs, last = self.runs, len(self.runs[0].levels) - 1
        images = torch.cat([start_image(r) for r in runs])
        full = images if last == 0 else torch.cat([initial_image(r.job.params, r.levels[-1]) for r in runs])
        initial = self.evaluate(full, last)
        for rung in range(last + 1):
            if rung:
                size = runs[0].levels[rung].content.shape[-2:]
                images = F.interpolate(images, size=size, mode="bicubic").clamp(0, 255)
            images = self._rung(images.detach().requires_grad_(True), rung)
            if all(r.error is not None for r in runs):
                return images, initial, []  # nothing left to finish
        final = self.evaluate(images.clamp(0, 255), last)
        return images, initial, final

    def _rung(self, images: torch.Tensor, rung: int) -> torch.Tensor:
        steps, rungs = self.runs[0].levels[rung].steps, len(self.runs[0].levels)
        stepper = Stepper(self.runs[0].job.params, images, self.cost(rung))
        for b, run in enumerate(self.runs):
            if run.error is not None:
                stepper.freeze(b)
        for k in range(steps):
            self._check_cancels(stepper)
            if stepper.idle:
                break
            terms = stepper.step()
            self.done += 1
            rung_end = k == steps - 1
            if self.done % self.report_every == 0 or rung_end:
                self._report(stepper, images, terms, rung, rungs, rung_end and rung < rungs - 1)
        return images.detach()

    def _check_cancels(self, stepper: Stepper) -> None:
        for b, run in enumerate(self.runs):
            if run.error is None and run.job.should_cancel is not None and run.job.should_cancel():
                run.error = JobCancelled("cancelled")
                stepper.freeze(b)

    def _report(self, stepper: Stepper, images: torch.Tensor, terms: Terms, rung: int, rungs: int,
                rung_done: bool) -> None:
        elapsed = time.perf_counter() - self.start
        for b, values in enumerate(self._per_job(terms)):
            run, job = self.runs[b], self.runs[b].job
            if run.error is not None:
                continue
            if not math.isfinite(values["total"]):
                run.error = JobDiverged()
                stepper.freeze(b)
                continue
            if job.on_progress is not None:
                wanted = _wants_preview(job, self.done, rung, rungs, rung_done)
                preview = preview_jpeg(to_image(images[b:b + 1].detach() / 255.0)) if wanted else None
                job.on_progress(Progress(self.done, self.total, values, elapsed, preview, rung, rungs))

    def _per_job(self, terms: Terms) -> list[dict[str, float]]:
        """Each job's own terms as numbers (one transfer from the device for the whole batch)."""
        names = list(terms)
        table = torch.stack([terms[n].detach().float() for n in names], dim=1).cpu().tolist()
        out = []
        for run, row in zip(self.runs, table):
            keep = _reported_names(run.job, names)
            out.append({n: v for n, v in zip(names, row) if n in keep})
        return out


def _wants_preview(job: Job, step: int, rung: int, rungs: int, rung_done: bool) -> bool:
    """Whether ``job`` shows its image after ``step``: every ``preview_every`` steps and, with
    ``preview_levels``, at the end of each rung - but then never before the first rung is done,
    while the image is still the photo with a faint texture."""
    if job.preview_levels and rung_done:
        return True
    if job.preview_levels and rung == 0 and rungs > 1:
        return False
    return bool(job.preview_every) and step % job.preview_every == 0


def _reported_names(job: Job, names: list[str]) -> set[str]:
    """A job reports content, style and total, tv only if it uses tv, and the extra terms it has."""
    base = {"content", "style", "total"} | ({"tv"} if job.params.tv_weight else set())
    extra = set(names) - {"content", "style", "total", "tv"}
    return base | (extra if job.extra_terms is not None else set())


class Stepper:
    """One optimiser over a batch of images (L-BFGS or Adam); ``step()`` evaluates the cost once."""

    def __init__(self, params: StyleParams, images: torch.Tensor, cost: Callable[[torch.Tensor], Terms]):
        self.images, self.cost = images, cost
        self._frozen: dict[int, torch.Tensor] = {}
        self.pyramid: Pyramid | None = None
        if params.optimizer == "lbfgs":
            # on a GPU, static shapes from the first step (a rung could be one captured CUDA graph)
            fixed = images.device.type == "cuda"
            variables = images
            if PYRAMID_LEVELS > 1:  # L-BFGS on the pyramid's variables (engine.nst.precondition)
                self.pyramid = Pyramid(images, PYRAMID_LEVELS, PYRAMID_DECAY)
                variables = self.pyramid.z
            self.lbfgs: BatchedLBFGS | None = BatchedLBFGS(variables, history_size(variables[0].numel()), fixed=fixed)
            self.adam = None
        else:  # elementwise: one Adam over the batch is each job's own Adam
            self.lbfgs, self.adam = None, torch.optim.Adam([images], lr=params.learning_rate)

    @property
    def idle(self) -> bool:
        """Every job is frozen (known on the host: no wait for the device)."""
        return len(self._frozen) == self.images.shape[0]

    def freeze(self, index: int) -> None:
        """Stop moving this job's image (a cancel, a divergence); the others go on unchanged."""
        if self.lbfgs is not None:
            self.lbfgs.active[index] = False  # it stops updating this job's history
        self._frozen[index] = self.images[index].detach().clone()

    def step(self) -> Terms:
        if self.pyramid is not None:
            return self._pyramid_step()
        self.images.grad = None
        terms = self.cost(self.images)
        terms["total"].sum().backward()
        if self.lbfgs is not None:
            self.lbfgs.step(self.images.grad)
        else:
            assert self.adam is not None
            self.adam.step()
            with torch.no_grad():
                for index, kept in self._frozen.items():
                    self.images[index] = kept
        return {k: v.detach() for k, v in terms.items()}

    def _pyramid_step(self) -> Terms:
        """One step of L-BFGS on the pyramid's variables; ``images`` is then the image they stand for."""
        assert self.pyramid is not None and self.lbfgs is not None
        z = self.pyramid.z
        z.grad = None
        terms = self.cost(self.pyramid.image())
        terms["total"].sum().backward()
        self.lbfgs.step(z.grad)
        with torch.no_grad():
            self.images.copy_(self.pyramid.image())
        return {k: v.detach() for k, v in terms.items()}


def history_size(image_numel: int) -> int:
    """L-BFGS pairs kept per job: neural-style's 100, fewer where 2 x m x numel floats would pass 1 GiB."""
    return max(5, min(LBFGS_HISTORY, LBFGS_HISTORY_BYTES // (8 * image_numel)))



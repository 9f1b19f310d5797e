"""How long a job takes on a device, and so which size fits a time budget: a small linear time model.

A job's *work* is the sum over its schedule's rungs of pixels × steps, in megapixel-steps (Mpx·steps):
a VGG19 step costs about in proportion to the pixels it sees, and a job's rungs add up. Its time is
then about

    seconds ≈ a + b · work

with ``a`` what a job costs besides its steps (decoding, the paintings' targets, encoding) and ``b``
the seconds one megapixel-step takes on the device. Both are fitted per device: first from the
two small calibration jobs a queue runs at start-up (:data:`CALIBRATION`, the warm-up), then from
the jobs that ran since (their reports say their schedule and shape). With samples of different
work, ``a`` and ``b`` are a least-squares line; with all samples alike, ``b`` is refitted through
the last ``a``. The bot picks the largest size of :data:`LADDER` whose predicted time fits
``TARGET_JOB_S`` (:func:`pick_size`) and shows the same prediction as the ETA. Torch-free.
"""

from __future__ import annotations

import io
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from engine.jobs.contract import JobSpec
from engine.jobs.report import JobReport
from engine.nst.params import StyleParams
from engine.nst.schedule import level_shape, schedule

LADDER = (256, 384, 512, 768, 1024)  # sizes the bot chooses from when a job names none
WINDOW = 20  # samples the model keeps (calibration and jobs), newest last
# The warm-up: two small single-rung jobs of a square photo; their different work fixes a and b.
CALIBRATION = ({"size": 64, "steps": 2, "levels": 1}, {"size": 160, "steps": 6, "levels": 1})
CALIBRATION_SIDE = 160  # px: the calibration photo and painting


def work(params: StyleParams, content_size: tuple[int, int] | None = None) -> float:
    """Mpx·steps of a job of ``params`` on a photo of ``content_size`` (None: square, the most pixels)."""
    shape = content_size or (params.size, params.size)
    return sum(_pixels(level_shape(shape, size)) * steps for size, steps in schedule(params)) / 1e6


def work_from_report(report: JobReport) -> float | None:
    """Mpx·steps of a finished still picture from its report (None for animations, grids and drafts)."""
    if not report.kind.still or not report.schedule:
        return None
    shape = (report.width, report.height)
    return sum(_pixels(level_shape(shape, size)) * steps for size, steps in report.schedule) / 1e6


def _pixels(shape: tuple[int, int]) -> int:
    return shape[0] * shape[1]


@dataclass(frozen=True)
class Sample:
    work: float  # Mpx·steps
    seconds: float


class TimeModel:
    """``seconds ≈ a + b · work`` for one device, refitted after every sample (see the module's docstring)."""

    def __init__(self, samples: Iterable[Sample] = (), window: int = WINDOW):
        self.samples: deque[Sample] = deque(maxlen=window)
        self.a: float | None = None
        self.b: float | None = None
        for sample in samples:
            self.observe(sample.work, sample.seconds)

    @property
    def ready(self) -> bool:
        return self.b is not None

    def observe(self, work: float, seconds: float) -> None:
        """One more finished job (or calibration job) of ``work`` Mpx·steps that took ``seconds``."""
        if work > 0 and seconds >= 0:
            self.samples.append(Sample(work, seconds))
            self._fit()

    def predict(self, work: float) -> float | None:
        """Seconds a job of ``work`` takes here; None before any sample."""
        if self.a is None or self.b is None:
            return None
        return self.a + self.b * work

    def _fit(self) -> None:
        works = [s.work for s in self.samples]
        if max(works) >= 1.5 * min(works):  # different works: a least-squares line
            n, mw = len(works), sum(works) / len(works)
            mt = sum(s.seconds for s in self.samples) / n
            var = sum((w - mw) ** 2 for w in works)
            b = sum((s.work - mw) * (s.seconds - mt) for s in self.samples) / var
            a = mt - b * mw
            if b > 0 and a >= 0:
                self.a, self.b = a, b
                return
        a = self.a or 0.0  # all alike (or a line through a negative a): refit b through the last a
        self.a = a
        self.b = max(1e-9, sum(s.work * (s.seconds - a) for s in self.samples) / sum(w * w for w in works))


def slowest(models: Sequence[TimeModel], work_mpx: float) -> float | None:
    """The longest prediction of several devices' models (Redis mode: any worker may take the job)."""
    found = [p for p in (m.predict(work_mpx) for m in models) if p is not None]
    return max(found) if found else None


def pick_size(params: StyleParams, content_size: tuple[int, int] | None, predict, target_s: float,
              max_size: int) -> int | None:
    """The largest size of :data:`LADDER` (up to ``max_size``) whose predicted seconds fit ``target_s``.

    ``predict(work)`` is the time model; None when it cannot predict yet (then the job keeps the
    engine's default size). The smallest rung is chosen when none fits: the bot still paints.
    """
    sizes = [s for s in LADDER if s <= max_size] or [min(LADDER[0], max_size)]
    if predict(1.0) is None:
        return None
    fits = [s for s in sizes if predict(work(params.replace(size=s), content_size)) <= target_s]
    return max(fits) if fits else sizes[0]


def calibration_specs() -> list[JobSpec]:
    """The warm-up's calibration jobs (:data:`CALIBRATION`) on a smooth colour ramp (speed only, no texture)."""
    from PIL import Image  # the engine's own dependency; only the processes that paint calibrate

    image = Image.linear_gradient("L").resize((CALIBRATION_SIDE, CALIBRATION_SIDE)).convert("RGB")
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return [JobSpec(buf.getvalue(), (buf.getvalue(),), dict(options)) for options in CALIBRATION]


def sample_of(outcome_seconds: float, report: JobReport | None) -> Sample | None:
    """A finished job as a sample of the model (None for what the model does not cover)."""
    found = work_from_report(report) if report is not None else None
    return Sample(found, outcome_seconds) if found else None


def photo_size(content: bytes) -> tuple[int, int] | None:
    """(width, height) of an encoded photo as it is shown, from its header (None if unreadable: it fails
    later, with the decoder's words)."""
    from engine.nst.images import peek

    found = peek(content)
    return found[1] if found is not None else None


def predict_job(predict: Callable[[float], float | None], spec: JobSpec) -> float | None:
    """The model's seconds for a plain picture job (None for animations, grids, upscales or before calibration)."""
    from engine.nst.media import is_animation

    if spec.grid or spec.start_image is not None or predict(1.0) is None or is_animation(spec.content):
        return None
    try:
        params = spec.params
    except Exception:  # noqa: BLE001 - the submission check says what is wrong
        return None
    return predict(work(params, photo_size(spec.content)))

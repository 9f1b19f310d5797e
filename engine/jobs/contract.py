"""The job-queue contract the bot talks to; two implementations plug in behind it.

* :class:`engine.jobs.local.LocalJobQueue` - in-process executor (default).
* :class:`engine.jobs.redis.queue.RedisJobQueue` - arq/Redis, workers anywhere.

Everything that crosses the queue is bytes and plain dicts (no pickled objects),
so a job can be stored in Redis and run by a worker on another machine. The bot
never knows which implementation is live: it submits a :class:`JobSpec`, gets a
:class:`JobHandle`, follows :meth:`JobHandle.updates`, and delivers the result
once :meth:`JobHandle.claim_delivery` says it is the one to do it.
"""

from __future__ import annotations

import abc
import enum
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field, replace
from itertools import islice
from typing import Any

from engine.jobs.report import JobReport, Kind
from engine.nst.params import StyleParams, parse_options
from engine.texts import Message


class JobState(str, enum.Enum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (JobState.DONE, JobState.FAILED, JobState.CANCELLED)


MAX_GRID_CELLS = 4  # most cells of a strength grid (JobSpec.grid)


@dataclass(frozen=True)
class JobSpec:
    """One stylization request, as the bot hands it over.

    ``options`` are the user's options in their one serialised form (names or aliases, text or typed
    values), read by :attr:`params`, the one reader, when the job is submitted (so a bad value fails
    before anything is queued) and wherever the job runs. ``meta`` is opaque
    to the engine: the bot keeps there what it needs to deliver the result after a
    restart (channel id, message id, status message id, ...). JSON-able values only.

    Two variants of a job, both run by :mod:`engine.jobs.runtime`: ``start_image`` (an encoded
    image) makes it an *upscale*, which starts from that image (a posted result) instead of the
    photo; ``grid`` (style-weight factors, e.g. ``(0.5, 1, 2, 4)``) makes it a *strength grid*,
    one image of the photo painted at each ``style_weight × factor``, side by side.

    ``draft`` makes it a feed-forward draft instead of a Gatys painting (:mod:`engine.jobs.drafts`):
    ``"quick"`` answers with the draft itself; ``"try"`` with one contact sheet of the photo drafted
    in each style image, captioned with ``captions`` (one per style, e.g. a library's names).
    """

    content: bytes
    styles: tuple[bytes, ...]
    options: dict[str, Any] = field(default_factory=dict)
    user_id: int = 0
    guild_id: int | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    time_limit_s: float | None = None
    start_image: bytes | None = None
    grid: tuple[float, ...] = ()
    draft: str = ""  # "", or one of DRAFT_KINDS
    captions: tuple[str, ...] = ()  # a "try" sheet's cell captions, one per style image

    @property
    def params(self) -> StyleParams:
        """The job's checked parameters (ParamError if an option is bad)."""
        return parse_options(self.options)

    @property
    def kind(self) -> Kind:
        """What the job makes, as far as the request tells (an animated photo makes an animation instead)."""
        if self.draft:
            return Kind(self.draft)
        if self.grid:
            return Kind.GRID
        return Kind.UPSCALE if self.start_image is not None else Kind.PAINTING


DRAFT_KINDS = ("quick", "try")  # JobSpec.draft: the draft as the result; a sheet of drafts, one per style
MAX_TRY_STYLES = 100  # most style images of one "try" sheet


def draft_fields(spec: JobSpec) -> str | None:
    """A draft job's kind and captions as JSON, as both queues store them (None for a painting)."""
    return json.dumps({"kind": spec.draft, "captions": list(spec.captions)}) if spec.draft else None


def with_draft(spec: JobSpec, stored: str | bytes | None) -> JobSpec:
    """``spec`` with the draft fields read back from :func:`draft_fields`'s JSON."""
    if not stored:
        return spec
    data = json.loads(stored)
    return replace(spec, draft=data["kind"], captions=tuple(data.get("captions", ())))


@dataclass(frozen=True)
class JobResult:
    image: bytes  # PNG, or the encoded animation (WebP/GIF/MP4; report.animation says which)
    report: JobReport


@dataclass(frozen=True)
class JobStatus:
    """A snapshot of one job; every field is plain data so it can travel through Redis."""

    job_id: str
    state: JobState
    position: int | None = None  # jobs ahead of this one (0 = next), while queued
    eta_s: float | None = None  # seconds until finished, best guess
    step: int = 0
    total: int = 0
    losses: dict[str, float] = field(default_factory=dict)
    preview: bytes | None = None  # small JPEG of the current image, when asked for
    frame: int = 0  # an animation's frame being painted (1-based) and its frames; 0 for a still
    frames: int = 0
    error: Message | None = None  # user-facing reason (a key and its arguments), when failed or cancelled

    @property
    def fraction(self) -> float:
        return self.step / self.total if self.total else 0.0


ETA_WINDOW = 10  # finished jobs whose run times the ETAs average


def average_run_s(newest_first: Iterable[float]) -> float | None:
    """The run time ETAs assume, the same rule in both queues: the mean of the last ``ETA_WINDOW``
    finished jobs (a slow job weighs on the ETAs for ten jobs, then is forgotten); None before the first."""
    recent = list(islice(newest_first, ETA_WINDOW))
    return sum(recent) / len(recent) if recent else None


def queued_eta(position: int, slots: int, avg_job_s: float | None, all_busy: bool) -> float | None:
    """Seconds until a waiting job is finished: the jobs ahead run ``slots`` at a time, then this one."""
    if avg_job_s is None:
        return None
    return round(avg_job_s * (position // max(1, slots) + 1 + (1 if all_busy else 0)), 1)


def running_eta(elapsed: float, step: int, total: int, avg_job_s: float | None,
                predicted_s: float | None = None) -> float | None:
    """Seconds until a running job is finished: its pace so far, or the average before its first step.

    With the time model's ``predicted_s`` for this job (engine.jobs.timing), what is left of it - or its
    pace where that says longer (its coarse rungs' cheap steps make the pace hopeful early on).
    """
    pace = elapsed / step * (total - step) if step else None
    if predicted_s is not None:
        return max(predicted_s - elapsed, pace or 0.0)
    if pace is not None:
        return pace
    return max(avg_job_s - elapsed, 0.0) if avg_job_s is not None else None


def predicted_queued_eta(position: int, slots: int, avg_job_s: float | None, all_busy: bool,
                         predicted_s: float | None) -> float | None:
    """:func:`queued_eta` with this job's own time from the time model: the jobs ahead at their average, then it."""
    if predicted_s is None:
        return queued_eta(position, slots, avg_job_s, all_busy)
    ahead = position // max(1, slots) + (1 if all_busy else 0)
    return round((avg_job_s or predicted_s) * ahead + predicted_s, 1)


class JobHandle(abc.ABC):
    """A submitted job, followed from the submitting process (or any other)."""

    job_id: str
    user_id: int
    guild_id: int | None
    meta: dict[str, Any]

    @abc.abstractmethod
    async def status(self) -> JobStatus:
        """The current snapshot."""

    @abc.abstractmethod
    def updates(self) -> AsyncIterator[JobStatus]:
        """Snapshots as they change (queue position, progress); the last one is finished."""

    @abc.abstractmethod
    async def result(self) -> JobResult:
        """Wait for the job. Raises JobFailed (with a user-facing reason) or JobCancelled."""

    @abc.abstractmethod
    async def cancel(self, reason: Message | str | None = None) -> bool:
        """Ask the job to stop (queued: removed; running: stops at the next step). False if already finished.

        ``reason`` is what its user reads: a message (:func:`engine.texts.msg`), or free text.
        """

    @abc.abstractmethod
    async def claim_delivery(self) -> bool:
        """True exactly once per job across all processes: the caller then replies to the user."""


Screen = Callable[[], Awaitable[None]]  # see JobQueue.start
Predict = Callable[[float], "float | None"]  # a job's work (Mpx-steps, engine.jobs.timing) -> its seconds here


class JobQueue(abc.ABC):
    """Submit jobs and find them again. One instance per process; ``start`` before use."""

    @abc.abstractmethod
    async def start(self, screen: Screen | None = None) -> None:
        """Connect, or open the jobs' storage; then ``await screen()``, if given, before any job runs here.

        ``screen`` may look at the jobs a previous process left (:meth:`undelivered`, :meth:`get`) and
        cancel those that must not run; it should not raise. The in-process queue takes its jobs back
        first and starts none of them until ``screen`` returns. With Redis, workers run jobs on their
        own: ``screen`` then only happens as early as this process can.
        """

    @abc.abstractmethod
    async def close(self, drain_timeout: float = 0.0) -> None:
        """Stop taking jobs; running ones get ``drain_timeout`` to finish (local mode: then they are stopped).

        No job is lost: waiting and stopped jobs are kept (SQLite or Redis) and run, or are answered
        for, after the next ``start`` - see :meth:`undelivered`.
        """

    @abc.abstractmethod
    async def submit(self, spec: JobSpec) -> JobHandle:
        """Queue a job. Raises ParamError/InputError, UserLimitReached or QueueFull before queueing anything."""

    @abc.abstractmethod
    async def get(self, job_id: str) -> JobHandle | None: ...

    @abc.abstractmethod
    async def undelivered(self) -> list[JobHandle]:
        """Jobs submitted but not yet claimed for delivery (to pick up again after a bot restart)."""

    @abc.abstractmethod
    async def depth(self) -> int:
        """Jobs queued or running."""

    async def predictor(self) -> Predict:
        """This queue's time model (engine.jobs.timing): a job's work -> its seconds, None until calibrated.

        The bot sizes the jobs that name no size with it; the ETAs come from the same model.
        """
        return lambda work: None

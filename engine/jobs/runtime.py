"""How one job runs, whichever queue carries it: the one place that decides outcomes and their words.

Both queues hand a job to :func:`execute` - the in-process queue from its event loop, the
Redis worker from inside arq - and get an :class:`Outcome` back; neither has failure
handling of its own. Here, and only here, a job is decoded, validated, stylized and
encoded; its progress is published at a bounded rate; its time limit is enforced; a job
that runs out of GPU memory is tried once more at a smaller size; and every way a job can
end is turned into the sentence its user reads (:data:`TEXTS`) and a metrics reason.

What a job paints - one picture with a first look in seconds, an upscale, or a strength
grid - is :mod:`engine.jobs.paint`'s business; this module decides how the job ends.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from dataclasses import dataclass, replace
from typing import Any

from engine.errors import EngineError, InputError, JobCancelled, JobFailed, ParamError
from engine.jobs.contract import MAX_GRID_CELLS, JobResult, JobSpec, JobState
from engine.nst.media import is_animation
from engine.nst.params import StyleParams, parse_options
from engine.ops import metrics
from engine.ops.logs import JobLogAdapter, job_logger

log = logging.getLogger(__name__)

PUBLISH_EVERY_S = 0.2  # progress leaves the engine thread at most this often
STOP_GRACE_S = 30.0  # a job past its time limit that has not stopped by then is given up on
OOM_SHRINK = 0.7  # after running out of GPU memory, try once more at this fraction of the size
MAX_ATTEMPTS = 3  # a job whose process died this many times while running it is given up on
AUTO_BATCH_CUDA = 16  # jobs per batch on a GPU unless MAX_BATCH says otherwise (bench/throughput.py)

#: What users read when a job is refused or ends without a picture (engine errors speak for themselves).
TEXTS = {
    "user_limit": "you already have {limit} {jobs} in the queue; wait for one to finish or cancel one",
    "queue_full": "the queue is full ({limit} jobs); please try again in a few minutes",
    "closing": "the queue is shutting down; please try again in a minute",
    "gone": "this job is no longer known (finished jobs are kept for a limited time)",
    "result_gone": "the result is no longer available (results are kept {ttl} s)",
    "no_style": "give at least one style image",
    "bad_grid": "a strength grid takes 1 to {cells} positive style-weight factors",
    "still_only": "strength grids and upscales are made of still pictures, not animations",
    "grid_upscale": "a strength grid cannot start from an image; upscale one of its cells instead",
    "internal": "the engine hit an internal error; the admins can see it in the logs",
    "timeout": "the job took longer than {limit:.0f} s and was stopped",
    "oom": "the GPU ran out of memory even at size {size}; try a smaller size",
    "too_large": "size {size} is larger than this worker allows ({side} px)",
    "interrupted": "the job was interrupted {attempts} times (the bot or a worker stopped while running it); "
                   "giving up",
    "expired": "the job's images expired before a worker was free; please submit it again",
}

Publish = Callable[["Control"], Awaitable[None]]


def user_limit_text(limit: int) -> str:
    return TEXTS["user_limit"].format(limit=limit, jobs="job" if limit == 1 else "jobs")


@dataclass(frozen=True)
class Outcome:
    """How a job ended: its final state, the user-facing reason and metrics reason if it failed, or its result."""

    state: JobState
    error: str | None = None
    reason: str | None = None  # one of metrics.REASONS when not DONE
    result: JobResult | None = None
    seconds: float = 0.0

    @classmethod
    def failed(cls, reason: str, error: str) -> Outcome:
        state = JobState.CANCELLED if reason == "cancelled" else JobState.FAILED
        return cls(state, error=error, reason=reason)


class Control:
    """A running job as its engine thread and its queue share it: cancel, time limit, latest progress.

    ``cancel`` may be called from any thread; the engine sees it at its next step. A cancel with
    ``interrupted=True`` means "stop, but the job is not over" (a shutdown that will resume it).
    """

    def __init__(self, time_limit_s: float | None = None):
        self.time_limit_s = time_limit_s or None
        self.started = time.monotonic()
        self.reason = "cancelled"
        self.timed_out = self.interrupted = False
        self.latest = None  # the newest engine.nst.stylize.Progress
        self.preview: bytes | None = None
        self._stop = threading.Event()

    def cancel(self, reason: str = "cancelled", *, interrupted: bool = False, timed_out: bool = False) -> None:
        if not self._stop.is_set():
            self.reason, self.interrupted, self.timed_out = reason, interrupted, timed_out
            self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def overdue_by(self) -> float:
        """Seconds past the time limit (negative before it; -inf without one)."""
        if self.time_limit_s is None:
            return float("-inf")
        return time.monotonic() - self.started - self.time_limit_s

    def should_cancel(self) -> bool:
        """The engine's cancel hook: true once cancelled or past the time limit."""
        if self.overdue_by() > 0:
            self.cancel(TEXTS["timeout"].format(limit=self.time_limit_s), timed_out=True)
        return self._stop.is_set()

    def on_progress(self, progress: Any) -> None:  # the engine thread
        if progress.preview is not None:
            self.preview = progress.preview
        self.latest = progress


def progress_fields(progress: Any) -> dict[str, Any]:
    """The plain data of an engine Progress that a queue publishes (an animation's also says which frame)."""
    return {"step": progress.step, "total": progress.total, "losses": progress.losses,
            "frame": getattr(progress, "frame", 0), "frames": getattr(progress, "frames", 0)}


def check_submission(spec: JobSpec) -> StyleParams:
    """What every queue checks before queueing anything: the options parse, a style image is there,
    and a grid's factors are usable."""
    params = parse_options(spec.options)
    if not spec.styles:
        raise InputError(TEXTS["no_style"])
    if spec.grid:
        if len(spec.grid) > MAX_GRID_CELLS or not all(0 < f < 1e6 for f in spec.grid):
            raise ParamError(TEXTS["bad_grid"].format(cells=MAX_GRID_CELLS))
        if spec.start_image is not None:
            raise ParamError(TEXTS["grid_upscale"])
        parse_options({"style_weight": params.style_weight * max(spec.grid)})  # still within bounds
    if (spec.grid or spec.start_image is not None) and is_animation(spec.content):
        raise ParamError(TEXTS["still_only"])
    return params


def check_attempts(attempts: int) -> Outcome | None:
    """The outcome of a job started for the ``attempts``-th time, if it must not run again."""
    if attempts > MAX_ATTEMPTS:
        return Outcome.failed("internal", TEXTS["interrupted"].format(attempts=attempts - 1))
    return None


def failure_reason(exc: BaseException) -> str:
    """The metrics reason of an exception a job raised."""
    if isinstance(exc, ParamError):
        return "params"
    if isinstance(exc, InputError):
        return "input"
    if isinstance(exc, JobCancelled):
        return "cancelled"
    return "oom" if is_out_of_memory(exc) else "internal"


def is_out_of_memory(exc: BaseException) -> bool:
    """torch's OutOfMemoryError, or a RuntimeError saying so (older torch, other backends)."""
    return type(exc).__name__ == "OutOfMemoryError" or "out of memory" in str(exc).lower()


def run(spec: JobSpec, control: Control, *, job_id: str | None = None, device: str | None = None,
        max_pixels: int | None = None, preview_every: int = 0, stylizer: Any = None, compile: str = "off",  # noqa: A002
        ) -> Outcome:
    """Decode, validate, stylize and encode one job (blocking); every failure becomes an Outcome. Never raises.

    ``device`` (a worker's own) overrides the option; ``max_pixels`` caps the output; ``stylizer``
    replaces the shared one of the job's backbone (tests inject faults this way); ``compile`` is the
    shared one's torch.compile mode (engine.nst.stylize.COMPILE_MODES).
    """
    jlog = job_logger(log, job_id)
    t0 = time.perf_counter()
    options, shrunk = dict(spec.options), None
    while True:
        try:
            result = _render(replace(spec, options=options), control, device, max_pixels, preview_every,
                             stylizer, compile)
        except Exception as exc:  # noqa: BLE001 - one job's failure must never reach the queue
            if not is_out_of_memory(exc):
                return _failure(exc, control, jlog)
            size = parse_options(options).size
            _free_gpu_memory()
            if shrunk is not None or size <= 16:
                jlog.warning("out of GPU memory at size %d", size)
                return Outcome.failed("oom", TEXTS["oom"].format(size=size))
            shrunk = (size, max(16, int(size * OOM_SHRINK)))
            jlog.warning("out of GPU memory at size %d; retrying at %d", *shrunk)
            options["size"] = shrunk[1]
            continue
        if shrunk is not None:
            result.report["oom_retry"] = {"from_size": shrunk[0], "to_size": shrunk[1]}
        return Outcome(JobState.DONE, result=result, seconds=time.perf_counter() - t0)


def run_batch(specs: list[JobSpec], controls: list[Control], *, job_ids: list[str | None] | None = None,
              device: str | None = None, max_pixels: int | None = None, preview_every: int = 0,
              stylizer: Any = None, compile: str = "off") -> list[Outcome]:  # noqa: A002
    """Jobs of one :func:`engine.jobs.paint.batch_key` as one batch (blocking); each ends on its own. Never raises.

    A batch that fails as a whole (out of memory, most likely) is run again one job at a time, each
    with :func:`run`'s own retry, so no job pays for its neighbours.
    """
    alone = {"device": device, "max_pixels": max_pixels, "preview_every": preview_every, "stylizer": stylizer,
             "compile": compile}
    if len(specs) == 1:
        return [run(specs[0], controls[0], job_id=(job_ids or [None])[0], **alone)]
    ids = job_ids or [None] * len(specs)
    outcomes: dict[int, Outcome] = {}
    jobs: dict[int, Any] = {}
    for i, (spec, control) in enumerate(zip(specs, controls)):
        try:
            jobs[i] = _job(spec, control, device, max_pixels, preview_every)
        except Exception as exc:  # noqa: BLE001 - a bad job of the batch fails alone
            outcomes[i] = _failure(exc, control, job_logger(log, ids[i]))
    t0 = time.perf_counter()
    try:
        engine = _engine(stylizer, next(iter(jobs.values())).params, compile) if jobs else None
        results = engine.stylize_many(list(jobs.values())) if engine is not None else []
    except Exception as exc:  # noqa: BLE001 - the batch as a whole failed: every job tries alone
        log.warning("a batch of %d failed (%s); running its jobs one by one", len(jobs), type(exc).__name__)
        _free_gpu_memory()
        for i in jobs:
            outcomes[i] = run(specs[i], controls[i], job_id=ids[i], **alone)
        return [outcomes[i] for i in range(len(specs))]
    seconds = time.perf_counter() - t0
    for i, result in zip(jobs, results):
        if isinstance(result, BaseException):
            outcomes[i] = _failure(result, controls[i], job_logger(log, ids[i]))
        else:
            outcomes[i] = _done(*result, seconds)
    return [outcomes[i] for i in range(len(specs))]


def auto_batch(device: str) -> int:
    """How many waiting jobs of one shape to run as one batch on ``device`` (auto, cpu, cuda:N, ...).

    A GPU has room for many (one pass for all pays for its launch and sync overheads); on a CPU a
    step of one job already fills the cores, so jobs run one by one.
    """
    from engine.nst.stylize import resolve_device  # loads torch: call it where the engine runs

    return AUTO_BATCH_CUDA if resolve_device(device).type == "cuda" else 1


def _render(spec: JobSpec, control: Control, device: str | None, max_pixels: int | None, preview_every: int,
            stylizer: Any, compile: str) -> JobResult:  # noqa: A002
    from engine.jobs.paint import render  # torch and the weights load only once a job runs

    params = _params(spec, device, max_pixels)
    return render(_engine(stylizer, params, compile), spec, params, on_progress=control.on_progress,
                  should_cancel=control.should_cancel, preview_every=preview_every)


def _params(spec: JobSpec, device: str | None, max_pixels: int | None) -> StyleParams:
    """The job's parameters, checked against what this worker runs and allows."""
    params = check_submission(spec)
    if device is not None:
        params = params.replace(device=device)
    if max_pixels and params.size * params.size > max_pixels:
        raise ParamError(TEXTS["too_large"].format(size=params.size, side=int(max_pixels ** 0.5)))
    return params


def _job(spec: JobSpec, control: Control, device: str | None, max_pixels: int | None, preview_every: int) -> Any:
    """The engine's Job of one batch member: options checked against the worker, images decoded."""
    from engine.jobs.paint import batch_member

    return batch_member(spec, _params(spec, device, max_pixels), on_progress=control.on_progress,
                        should_cancel=control.should_cancel, preview_every=preview_every)


def _engine(stylizer: Any, params: StyleParams, compile: str) -> Any:  # noqa: A002
    from engine.nst.stylize import get_stylizer

    return stylizer or get_stylizer(params.backbone, compile)


def _done(image: Any, report: dict[str, Any], seconds: float) -> Outcome:
    from engine.jobs.paint import result

    return Outcome(JobState.DONE, result=result(image, report), seconds=seconds)


def _failure(exc: BaseException, control: Control, jlog: JobLogAdapter) -> Outcome:
    """The outcome of a job that raised ``exc``: a cancel, a time limit, bad input, or a bug (logged)."""
    if isinstance(exc, JobCancelled):
        return Outcome.failed("timeout" if control.timed_out else "cancelled", control.reason)
    if isinstance(exc, (InputError, JobFailed)):
        return Outcome.failed(failure_reason(exc), str(exc))
    # EngineError here is the operator's problem (e.g. missing weights): its message is enough
    jlog.error("internal error: %s", exc, exc_info=None if isinstance(exc, EngineError) else exc)
    return Outcome.failed("internal", TEXTS["internal"])


def _free_gpu_memory() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()


@dataclass
class Task:
    """One job handed to :func:`execute_batch`: what to run, its control, and where its progress goes."""

    spec: JobSpec
    control: Control
    job_id: str
    attempts: int = 1  # how many times it has been started, this time included
    publish: Publish | None = None  # awaited with the control when its progress changed


async def execute(spec: JobSpec, control: Control, *, job_id: str, attempts: int = 1,
                  executor: Executor | None = None, publish: Publish | None = None, **run_options: Any) -> Outcome:
    """Run one job in ``executor``, publishing its progress and enforcing its time limit (see :func:`execute_batch`)."""
    (outcome,) = await execute_batch([Task(spec, control, job_id, attempts, publish)], executor=executor,
                                     **run_options)
    return outcome


async def execute_batch(tasks: list[Task], *, executor: Executor | None = None, **run_options: Any) -> list[Outcome]:
    """Run jobs of one batch key as one batch in ``executor``; publish progress, enforce time limits, count them.

    Each task's ``publish`` is awaited at most every :data:`PUBLISH_EVERY_S` while its progress
    changes. A job past its time limit is stopped at its next step; one that has not stopped
    :data:`STOP_GRACE_S` later is abandoned (a thread cannot be killed) and reported as timed out,
    while the rest of its batch goes on. A job started for the ``attempts``-th time may not run at
    all (:func:`check_attempts`). ``run_options`` are :func:`run`'s.
    """
    outcomes: dict[int, Outcome] = {}
    for i, task in enumerate(tasks):
        refused = _refusal(task.spec, task.control, task.attempts)
        if refused is not None:
            _count(refused, job_logger(log, task.job_id))
            outcomes[i] = refused
    live = [i for i in range(len(tasks)) if i not in outcomes]
    if live:
        await _supervise([tasks[i] for i in live], live, outcomes, executor, run_options)
    for i in live:
        jlog = job_logger(log, tasks[i].job_id)
        if tasks[i].control.interrupted:  # not over: it runs again later, and is counted then
            jlog.info("stopped (%s); it runs again later", tasks[i].control.reason)
        else:
            _count(outcomes[i], jlog)
    return [outcomes[i] for i in range(len(tasks))]


async def _supervise(tasks: list[Task], where: list[int], outcomes: dict[int, Outcome], executor: Executor | None,
                     run_options: dict[str, Any]) -> None:
    """Run the batch's thread; meanwhile publish progress and watch the time limits."""
    for task in tasks:
        job_logger(log, task.job_id).info("started" + (f" in a batch of {len(tasks)}" if len(tasks) > 1 else ""))
        metrics.job_started()
    specs, controls = [t.spec for t in tasks], [t.control for t in tasks]
    thread = asyncio.get_running_loop().run_in_executor(
        executor, lambda: run_batch(specs, controls, job_ids=[t.job_id for t in tasks], **run_options))
    sent: list[Any] = [None] * len(tasks)
    while True:
        done, _ = await asyncio.wait({thread}, timeout=PUBLISH_EVERY_S)
        if done:
            for i, outcome in zip(where, thread.result()):
                outcomes.setdefault(i, outcome)
            return
        for k, task in enumerate(tasks):
            if where[k] in outcomes:
                continue
            if task.publish is not None and task.control.latest is not sent[k]:
                sent[k] = task.control.latest
                await task.publish(task.control)
            task.control.should_cancel()  # a step can take long: do not wait for the engine to notice
            if task.control.overdue_by() > STOP_GRACE_S:
                job_logger(log, task.job_id).error("did not stop %g s after its time limit; abandoning it",
                                                   STOP_GRACE_S)
                outcomes[where[k]] = Outcome.failed("timeout", task.control.reason)
        if all(i in outcomes for i in where):
            return


def _refusal(spec: JobSpec, control: Control, attempts: int) -> Outcome | None:
    """The outcome of a job that must not start at all."""
    if control.stopping:  # cancelled between being taken and starting
        return Outcome.failed("timeout" if control.timed_out else "cancelled", control.reason)
    if not spec.content:  # the Redis queue's inputs expired while it waited
        return Outcome.failed("input", TEXTS["expired"])
    return check_attempts(attempts)


def _count(outcome: Outcome, jlog: JobLogAdapter) -> None:
    if outcome.state is JobState.DONE:
        assert outcome.result is not None
        metrics.job_finished(outcome.seconds, outcome.result.report.get("steps"))
        jlog.info("done in %.1f s", outcome.seconds)
    else:
        metrics.job_failed(outcome.reason or "internal")
        jlog.info("%s: %s", outcome.state.value, outcome.error)

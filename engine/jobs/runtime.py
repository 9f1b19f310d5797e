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
from engine.jobs.contract import JobResult, JobSpec, JobState
from engine.jobs.paint import MAX_GRID_CELLS
from engine.nst.params import StyleParams, parse_options
from engine.ops import metrics
from engine.ops.logs import JobLogAdapter, job_logger

log = logging.getLogger(__name__)

PUBLISH_EVERY_S = 0.2  # progress leaves the engine thread at most this often
STOP_GRACE_S = 30.0  # a job past its time limit that has not stopped by then is given up on
OOM_SHRINK = 0.7  # after running out of GPU memory, try once more at this fraction of the size
MAX_ATTEMPTS = 3  # a job whose process died this many times while running it is given up on

#: What users read when a job is refused or ends without a picture (engine errors speak for themselves).
TEXTS = {
    "user_limit": "you already have {limit} {jobs} in the queue; wait for one to finish or cancel one",
    "queue_full": "the queue is full ({limit} jobs); please try again in a few minutes",
    "closing": "the queue is shutting down; please try again in a minute",
    "gone": "this job is no longer known (finished jobs are kept for a limited time)",
    "result_gone": "the result is no longer available (results are kept {ttl} s)",
    "no_style": "give at least one style image",
    "bad_grid": "a strength grid takes 1 to {cells} positive style-weight factors",
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
        max_pixels: int | None = None, preview_every: int = 0, stylizer: Any = None) -> Outcome:
    """Decode, validate, stylize and encode one job (blocking); every failure becomes an Outcome. Never raises.

    ``device`` (a worker's own) overrides the option; ``max_pixels`` caps the output; ``stylizer``
    replaces the shared one of the job's backbone (tests inject faults this way).
    """
    jlog = job_logger(log, job_id)
    t0 = time.perf_counter()
    options, shrunk = dict(spec.options), None
    while True:
        try:
            result = _render(spec, options, control, device, max_pixels, preview_every, stylizer)
        except JobCancelled:
            return Outcome.failed("timeout" if control.timed_out else "cancelled", control.reason)
        except (InputError, JobFailed) as exc:
            return Outcome.failed(failure_reason(exc), str(exc))
        except Exception as exc:  # noqa: BLE001 - one job's failure must never reach the queue
            if not is_out_of_memory(exc):
                # EngineError here is the operator's problem (e.g. missing weights): its message is enough
                jlog.error("internal error: %s", exc, exc_info=None if isinstance(exc, EngineError) else exc)
                return Outcome.failed("internal", TEXTS["internal"])
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


def _render(spec: JobSpec, options: dict[str, Any], control: Control, device: str | None,
            max_pixels: int | None, preview_every: int, stylizer: Any) -> JobResult:
    # torch and the weights load only once a job runs
    from engine.jobs.paint import paint_job
    from engine.nst.images import encode_image
    from engine.nst.stylize import get_stylizer

    params = check_submission(replace(spec, options=options))
    if device is not None:
        params = params.replace(device=device)
    if max_pixels and params.size * params.size > max_pixels:
        raise ParamError(TEXTS["too_large"].format(size=params.size, side=int(max_pixels ** 0.5)))
    engine = stylizer or get_stylizer(params.backbone)
    image, report = paint_job(engine, spec, params, on_progress=control.on_progress,
                              should_cancel=control.should_cancel, preview_every=preview_every)
    return JobResult(image=encode_image(image, format="PNG"), report=report)


def _free_gpu_memory() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()


async def execute(spec: JobSpec, control: Control, *, job_id: str, attempts: int = 1,
                  executor: Executor | None = None, publish: Publish | None = None, **run_options: Any) -> Outcome:
    """Run one job in ``executor``, publishing its progress and enforcing its time limit; count it in metrics.

    ``publish(control)`` is awaited at most every :data:`PUBLISH_EVERY_S` while the job runs and
    ``control.latest`` changed. A job that does not stop within :data:`STOP_GRACE_S` of its time
    limit is abandoned (its thread cannot be killed) and reported as timed out. A job started
    for the ``attempts``-th time may not run at all (:func:`check_attempts`). ``run_options``
    are :func:`run`'s.
    """
    jlog = job_logger(log, job_id)
    refused = _refusal(spec, control, attempts)
    if refused is not None:
        _count(refused, jlog)
        return refused
    jlog.info("started")
    metrics.job_started()
    loop = asyncio.get_running_loop()
    thread = loop.run_in_executor(executor, lambda: run(spec, control, job_id=job_id, **run_options))
    sent = None
    while True:
        done, _ = await asyncio.wait({thread}, timeout=PUBLISH_EVERY_S)
        if publish is not None and control.latest is not sent and not done:
            sent = control.latest
            await publish(control)
        if done:
            outcome = thread.result()
            break
        control.should_cancel()  # a step can take long: do not wait for the engine to notice
        if control.overdue_by() > STOP_GRACE_S:
            jlog.error("did not stop %g s after its time limit; abandoning it", STOP_GRACE_S)
            outcome = Outcome.failed("timeout", control.reason)
            break
    if control.interrupted:  # not over: it runs again later, and is counted then
        jlog.info("stopped (%s); it runs again later", control.reason)
    else:
        _count(outcome, jlog)
    return outcome


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

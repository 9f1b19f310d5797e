"""The default JobQueue: jobs run in a bounded thread pool inside this process.

One worker per GPU (or one on the CPU): the optimisation saturates a device on its
own, so running two at once only makes both slower. Users are served round-robin,
not first-come-first-served, so one user queueing five jobs cannot starve the rest.
"""

from __future__ import annotations

import asyncio
import bisect
import itertools
import logging
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

from engine.ops import metrics
from engine.errors import EngineError, InputError, JobCancelled, JobFailed, QueueFull, UserLimitReached
from engine.jobs import JobHandle, JobQueue, JobResult, JobSpec, JobState, JobStatus
from engine.nst.params import parse_options

log = logging.getLogger(__name__)

Runner = Callable[..., JobResult]


class LocalJobHandle(JobHandle):
    def __init__(self, queue: LocalJobQueue, spec: JobSpec):
        self.job_id = uuid.uuid4().hex[:12]
        self.user_id, self.guild_id, self.meta = spec.user_id, spec.guild_id, dict(spec.meta)
        self.spec = spec
        self._queue = queue
        self._status = JobStatus(self.job_id, JobState.QUEUED)
        self._changed = asyncio.Condition()
        self._done = asyncio.get_running_loop().create_future()
        self._cancel = threading.Event()
        self._cancel_reason = "cancelled"
        self._timed_out = False
        self._claimed = False
        self.started_at: float | None = None
        self.round = self.arrival = 0  # place in the fair order, set by the queue

    async def status(self) -> JobStatus:
        return self._queue._with_position(self)

    async def updates(self) -> AsyncIterator[JobStatus]:
        last = None
        while True:
            current = self._queue._with_position(self)
            if current != last:
                last = current
                yield current
            if current.state.finished:
                return
            async with self._changed:
                await self._changed.wait()

    async def result(self) -> JobResult:
        return await asyncio.shield(self._done)

    async def cancel(self, reason: str = "cancelled") -> bool:
        return self._queue._cancel(self, reason)

    async def claim_delivery(self) -> bool:
        first, self._claimed = not self._claimed, True
        return first

    def _set(self, **changes: Any) -> None:
        """Update the snapshot and wake every follower (event-loop thread only)."""
        self._status = replace(self._status, **changes)
        asyncio.ensure_future(self._notify())

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    def _finish(self, state: JobState, *, result: JobResult | None = None, error: str | None = None) -> None:
        self._set(state=state, error=error, preview=None, position=None, eta_s=0.0)
        if self._done.done():
            return
        if result is not None:
            self._done.set_result(result)
            return
        exc_type = JobCancelled if state is JobState.CANCELLED else JobFailed
        self._done.set_exception(exc_type(error or state.value))
        self._done.exception()  # nobody may await result(); don't warn about an unretrieved exception


class LocalJobQueue(JobQueue):
    """In-process queue. ``workers`` jobs run at once, each in its own thread."""

    def __init__(self, *, workers: int = 1, per_user_limit: int = 3, max_queue: int = 50,
                 time_limit_s: float | None = 900.0, preview_every: int = 0, device: str | None = None,
                 runner: Runner | None = None, keep_finished: int = 500):
        self.workers, self.per_user_limit, self.max_queue = workers, per_user_limit, max_queue
        self.time_limit_s, self.preview_every, self.device = time_limit_s, preview_every, device
        self._runner = runner
        self._keep_finished = keep_finished
        # Start-time fair queueing: a job's round is one past its owner's previous job's round, but
        # never behind the round now being served; jobs run by (round, arrival). So users take turns,
        # and a user whose job just started does not jump ahead of someone who has had none.
        self._waiting: list[LocalJobHandle] = []  # sorted by (round, arrival)
        self._last_round: dict[int, int] = {}
        self._round = 0  # round of the job started last
        self._arrivals = itertools.count()
        self._running: set[LocalJobHandle] = set()
        self._jobs: OrderedDict[str, LocalJobHandle] = OrderedDict()
        self._wakeup = asyncio.Event()
        self._tasks: list[asyncio.Task] = []
        self._executor: ThreadPoolExecutor | None = None
        self._accepting = False
        self._avg_job_s = 30.0  # first guess for ETAs; learned from finished jobs

    async def start(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="stylize")
        self._tasks = [asyncio.create_task(self._work(), name=f"stylize-worker-{i}") for i in range(self.workers)]
        self._accepting = True

    async def close(self, drain_timeout: float = 0.0) -> None:
        self._accepting = False
        for handle in list(self._queued()):
            self._cancel(handle, "the bot is shutting down; please send the command again later")
        if self._running and drain_timeout > 0:
            running = [h._done for h in self._running]
            await asyncio.wait(running, timeout=drain_timeout)
        stopping = list(self._running)
        for handle in stopping:
            self._cancel(handle, "the bot is shutting down; please send the command again later")
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for handle in stopping:  # their worker task is gone: nobody else will report how they ended
            if not handle._status.state.finished:
                handle._finish(JobState.CANCELLED, error=handle._cancel_reason)
                metrics.job_failed("cancelled")
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)

    async def submit(self, spec: JobSpec) -> LocalJobHandle:
        if not self._accepting:
            raise QueueFull("the bot is shutting down; please try again in a minute")
        parse_options(spec.options)  # ParamError now, not after waiting in the queue
        if not spec.styles:
            raise InputError("give at least one style image")
        mine = sum(1 for h in self._active() if h.user_id == spec.user_id)
        if mine >= self.per_user_limit:
            raise UserLimitReached(f"you already have {mine} jobs waiting; wait for one to finish")
        if sum(1 for _ in self._active()) >= self.max_queue:
            raise QueueFull("the queue is full right now; please try again in a few minutes")
        handle = LocalJobHandle(self, spec)
        handle.round = max(self._round, self._last_round.get(spec.user_id, -1) + 1)
        handle.arrival = next(self._arrivals)
        self._last_round[spec.user_id] = handle.round
        self._jobs[handle.job_id] = handle
        bisect.insort(self._waiting, handle, key=lambda h: (h.round, h.arrival))
        self._changed()
        return handle

    async def get(self, job_id: str) -> LocalJobHandle | None:
        return self._jobs.get(job_id)

    async def undelivered(self) -> list[JobHandle]:
        return [h for h in self._jobs.values() if not h._claimed]

    async def depth(self) -> int:
        return sum(1 for _ in self._active())

    # -- scheduling -------------------------------------------------------------------------

    def _queued(self) -> list[LocalJobHandle]:
        """Waiting jobs in the order they will run."""
        return list(self._waiting)

    def _active(self) -> Iterator[LocalJobHandle]:
        yield from self._running
        yield from self._waiting

    def _pop_next(self) -> LocalJobHandle | None:
        if not self._waiting:
            return None
        handle = self._waiting.pop(0)
        self._round = handle.round
        # users whose last round is behind the current one get the current round anyway: forget them
        self._last_round = {u: r for u, r in self._last_round.items() if r >= self._round}
        return handle

    def _with_position(self, handle: LocalJobHandle) -> JobStatus:
        status = handle._status
        if status.state is not JobState.QUEUED:
            return status
        position = self._waiting.index(handle) if handle in self._waiting else 0
        eta = self._avg_job_s * (position // self.workers + 1 + (1 if len(self._running) >= self.workers else 0))
        return replace(status, position=position, eta_s=round(eta, 1))

    def _changed(self) -> None:
        self._wakeup.set()
        metrics.set_queue_depth(sum(1 for _ in self._active()))
        for handle in self._queued():
            asyncio.ensure_future(handle._notify())

    def _cancel(self, handle: LocalJobHandle, reason: str) -> bool:
        if handle._status.state.finished:
            return False
        if handle in self._waiting:
            self._waiting.remove(handle)
            handle._finish(JobState.CANCELLED, error=reason)
            metrics.job_failed("cancelled")
            self._changed()
        else:
            handle._cancel_reason = reason
            handle._cancel.set()
        return True

    # -- running ----------------------------------------------------------------------------

    async def _work(self) -> None:
        while True:
            handle = self._pop_next()
            if handle is None:
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            self._running.add(handle)
            self._changed()
            try:
                await self._run(handle)
            finally:
                self._running.discard(handle)
                self._prune()
                self._changed()

    async def _run(self, handle: LocalJobHandle) -> None:
        loop = asyncio.get_running_loop()
        handle.started_at = time.monotonic()
        handle._set(state=JobState.RUNNING)
        deadline = handle.started_at + (handle.spec.time_limit_s or self.time_limit_s or float("inf"))

        def should_cancel() -> bool:
            if time.monotonic() > deadline and not handle._cancel.is_set():
                handle._timed_out = True
                handle._cancel_reason = f"the job took longer than {deadline - handle.started_at:.0f} s and was stopped"
                handle._cancel.set()
            return handle._cancel.is_set()

        def on_progress(p) -> None:
            eta = p.elapsed / p.step * (p.total - p.step) if p.step else None
            changes = {"step": p.step, "total": p.total, "losses": p.losses, "eta_s": eta}
            if p.preview is not None:
                changes["preview"] = p.preview
            loop.call_soon_threadsafe(lambda: handle._status.state.finished or handle._set(**changes))

        job = self._job_callable(handle, on_progress, should_cancel)
        log.info("job %s started (user %s, guild %s)", handle.job_id, handle.user_id, handle.guild_id)
        metrics.job_started()
        try:
            result = await loop.run_in_executor(self._executor, job)
        except JobCancelled:
            timed_out = handle._timed_out
            handle._finish(JobState.FAILED if timed_out else JobState.CANCELLED, error=handle._cancel_reason)
            metrics.job_failed("timeout" if timed_out else "cancelled")
        except EngineError as exc:  # InputError, ParamError, JobFailed, BackboneUnavailable: say why
            handle._finish(JobState.FAILED, error=str(exc))
            metrics.job_failed(metrics.failure_reason(exc))
        except Exception as exc:  # a bug must not take the queue down
            if metrics.failure_reason(exc) == "oom":
                handle._finish(JobState.FAILED, error="the GPU ran out of memory; try a smaller size")
                metrics.job_failed("oom")
            else:
                log.exception("job %s crashed", handle.job_id)
                handle._finish(JobState.FAILED,
                               error="the engine hit an internal error; the admins can see it in the logs")
                metrics.job_failed("internal")
        else:
            seconds = time.monotonic() - handle.started_at
            self._avg_job_s = 0.7 * self._avg_job_s + 0.3 * seconds
            handle._finish(JobState.DONE, result=result)
            metrics.job_finished(seconds, result.report.get("steps"))
            log.info("job %s done in %.1fs", handle.job_id, seconds)

    def _job_callable(self, handle: LocalJobHandle, on_progress, should_cancel) -> Callable[[], JobResult]:
        from engine.jobs.runtime import run_job  # torch is imported only once a job runs

        runner = self._runner or run_job
        spec = handle.spec
        return lambda: runner(spec.content, spec.styles, spec.options, on_progress=on_progress,
                              should_cancel=should_cancel, preview_every=self.preview_every, device=self.device)

    def _prune(self) -> None:
        finished = [k for k, h in self._jobs.items() if h._status.state.finished]
        for key in finished[: max(0, len(finished) - self._keep_finished)]:
            del self._jobs[key]

"""The default JobQueue: jobs run in a bounded thread pool inside this process, and are kept on disk.

One worker per GPU (or one on the CPU): the optimisation saturates a device on its own, so
running two at once only makes both slower. Users are served in turn (start-time fair
queueing), so one user queueing five jobs cannot starve the rest. Every job is written to
the :class:`~engine.jobs.journal.Journal` (SQLite) before anything happens to it, so a
restart - even after SIGKILL - loses none: see :meth:`LocalJobQueue.start`.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

from engine.errors import QueueFull, UserLimitReached
from engine.jobs import runtime
from engine.jobs.contract import (
    ETA_WINDOW,
    JobHandle,
    JobQueue,
    JobSpec,
    JobState,
    JobStatus,
    Predict,
    Screen,
    average_run_s,
    predicted_queued_eta,
    running_eta,
)
from engine.jobs.journal import Journal, StoredJob
from engine.jobs.local.fair import FairOrder
from engine.jobs.local.handle import LocalJobHandle
from engine.jobs.settings import QueueSettings, RunnerSettings
from engine.jobs.timing import TimeModel, calibration_specs, predict_job, sample_of
from engine.ops import metrics
from engine.texts import Message, as_message, note

log = logging.getLogger(__name__)

STOP_WAIT_S = 10.0  # on close, how long a stopped job may take to reach its next step


class LocalJobQueue(JobQueue):
    """In-process queue. ``workers`` jobs run at once, each in its own thread.

    ``settings`` are the caps and the time limit (the Redis-only ones are not read here); ``runner``
    is how jobs run here: the device, how many waiting jobs of the same shapes run as one batch (one
    pass for all; pays on a GPU; unset: settled for the device at :meth:`start`) and the engine's
    torch.compile mode. ``database_path`` is the SQLite file jobs are kept in (None: memory only,
    nothing survives the process); ``stylizer`` replaces the engine's shared one (tests inject
    faults with it).
    """

    def __init__(self, settings: QueueSettings, runner: RunnerSettings, *, workers: int = 1,
                 preview_every: int = 0, database_path: str | None = None, stylizer: Any = None,
                 keep_finished: int = 500, calibrate: bool = False):
        self.settings, self.runner, self.workers = settings, runner, workers
        self.preview_every = preview_every
        self.max_batch = runner.max_batch or 1  # unset: settled for the device at start()
        self.journal = Journal(database_path)
        self._stylizer = stylizer
        self._keep_finished = keep_finished
        self._waiting: FairOrder[LocalJobHandle] = FairOrder()  # users take turns
        self._running: set[LocalJobHandle] = set()
        self._idle = asyncio.Event()  # set while no job runs
        self._jobs: OrderedDict[str, LocalJobHandle] = OrderedDict()
        self._wakeup = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._executor: ThreadPoolExecutor | None = None
        self._accepting = False
        self._run_times: deque[float] = deque(maxlen=ETA_WINDOW)  # of the last finished jobs, newest first
        self.timing = TimeModel()  # this device's seconds per job (engine.jobs.timing): sizes and ETAs
        self._calibrate = calibrate

    async def start(self, screen: Screen | None = None) -> None:
        """Open the journal and take back every job a previous process left: waiting, running or unanswered.

        None of them runs before ``screen`` (if given) has looked at them and cancelled those that must not.
        """
        self.max_batch = self.runner.max_batch or runtime.auto_batch(self.runner.device)
        await self.journal.open()
        for stored in await self.journal.load():
            self._restore(stored)
        if screen is not None:
            await screen()  # no worker runs yet: a job cancelled here never reaches the engine
        self._executor = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="stylize")
        if self._calibrate:
            await self.calibrate()
        self._waiting.resume()
        self._idle.set()
        self._accepting = True
        self._tasks = [asyncio.create_task(self._work(), name=f"stylize-worker-{i}") for i in range(self.workers)]
        self._changed()

    async def close(self, drain_timeout: float = 0.0) -> None:
        """Stop taking jobs; running ones get ``drain_timeout`` s, then stop and wait again at the next start."""
        self._accepting = False  # no new job starts either: waiting jobs wait for the next start
        if drain_timeout > 0:
            await self._until_idle(drain_timeout)
        for handle in list(self._running):
            if handle.control is not None:
                handle.control.cancel(note("the bot restarted"), interrupted=True)
        await self._until_idle(STOP_WAIT_S)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
        await self.journal.close()

    async def submit(self, spec: JobSpec) -> LocalJobHandle:
        if not self._accepting:
            raise QueueFull(runtime.msg("refusal.closing"))
        runtime.check_submission(spec)  # ParamError/InputError now, not after waiting in the queue
        limits = self.settings
        if sum(1 for h in self._active() if h.user_id == spec.user_id) >= limits.per_user_limit:
            raise UserLimitReached(runtime.user_limit(limits.per_user_limit))
        if sum(1 for _ in self._active()) >= limits.max_queue:
            raise QueueFull(runtime.msg("refusal.queue_full", count=limits.max_queue))
        stored = StoredJob(uuid.uuid4().hex[:12], spec, *self._waiting.place(spec.user_id), "queued")
        await self.journal.add(stored)  # on disk before anyone hears of it
        handle = self._restore(stored)
        handle.predicted_s = self.predict(spec)
        self._changed()
        return handle

    async def get(self, job_id: str) -> LocalJobHandle | None:
        return self._jobs.get(job_id)

    async def undelivered(self) -> list[JobHandle]:
        return [h for h in self._jobs.values() if not h._claimed]

    async def depth(self) -> int:
        return sum(1 for _ in self._active())

    # -- scheduling -------------------------------------------------------------------------

    def _restore(self, stored: StoredJob) -> LocalJobHandle:
        """Track a job (new, or read back from the journal) in its place in the fair order."""
        handle = LocalJobHandle(self, stored)
        self._jobs[handle.job_id] = handle
        self._waiting.seen(stored.arrival)
        if stored.state in ("queued", "running"):  # running: its process died; it runs again
            self._waiting.add(handle)
        else:
            handle._finish(JobState(stored.state), result=stored.result, error=stored.error)
        return handle

    def _active(self) -> Iterator[LocalJobHandle]:
        yield from self._running
        yield from self._waiting

    def _pop_next(self) -> LocalJobHandle | None:
        return self._waiting.pop() if self._accepting else None

    def status_of(self, handle: LocalJobHandle) -> JobStatus:
        """The handle's snapshot, with its place in line and ETA while it waits."""
        status = handle._status
        if status.state is JobState.QUEUED:
            position = self._waiting.index(handle) if handle in self._waiting else 0
            busy = len(self._running) >= self.workers
            return replace(status, position=position,
                           eta_s=predicted_queued_eta(position, self.workers, average_run_s(self._run_times), busy,
                                                      handle.predicted_s))
        return status

    def _changed(self) -> None:
        self._wakeup.set()
        metrics.set_queue_depth(sum(1 for _ in self._active()))
        for handle in self._waiting:
            asyncio.ensure_future(handle._notify())

    async def cancel_job(self, handle: LocalJobHandle, reason: Message | str | None) -> bool:
        """Cancel a waiting job at once, a running one at its next step; False if it had ended."""
        if handle._status.state.finished:
            return False
        reason = as_message(reason)
        if handle in self._waiting:
            self._waiting.remove(handle)
            await self.journal.finish(handle.job_id, JobState.CANCELLED.value, reason, None)
            handle._finish(JobState.CANCELLED, error=reason)
            metrics.job_failed("cancelled")
            self._changed()
        elif handle.control is not None:
            handle.control.cancel(reason)
        return True

    # -- running ----------------------------------------------------------------------------

    async def _work(self) -> None:
        while True:
            handle = self._pop_next()
            if handle is None:
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            batch = [handle, *self._batch_mates(handle)]
            self._running.update(batch)
            self._idle.clear()
            self._changed()
            try:
                await self._run(batch)
            finally:
                self._running.difference_update(batch)
                if not self._running:
                    self._idle.set()
                self._prune()
                self._changed()

    def _batch_mates(self, head: LocalJobHandle) -> list[LocalJobHandle]:
        """Waiting jobs that can run in one batch with ``head`` (same shapes), first in line first."""
        if self.max_batch <= 1 or head.batch_key is None:
            return []
        mates = [h for h in self._waiting if h.batch_key == head.batch_key][: self.max_batch - 1]
        for mate in mates:
            self._waiting.remove(mate)
        return mates

    async def _until_idle(self, timeout: float) -> None:
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            log.warning("%d job(s) still running after %.1f s", len(self._running), timeout)

    async def _run(self, batch: list[LocalJobHandle]) -> None:
        tasks = []
        for handle in batch:
            attempts = await self.journal.started(handle.job_id)
            control = handle.control = runtime.Control(handle.spec.time_limit_s or self.settings.job_time_limit_s)
            handle._set(state=JobState.RUNNING)
            tasks.append(runtime.Task(handle.spec, control, handle.job_id, attempts, self._publisher(handle)))
        outcomes = await runtime.execute_batch(tasks, executor=self._executor, device=self.runner.device,
                                               preview_every=self.preview_every, stylizer=self._stylizer,
                                               compile=self.runner.compile)
        for handle, task, outcome in zip(batch, tasks, outcomes):
            await self._end(handle, task.control, outcome)

    async def _end(self, handle: LocalJobHandle, control: runtime.Control, outcome: runtime.Outcome) -> None:
        handle.control = None
        if control.interrupted:  # a shutdown stopped it: back in line, to run after the next start
            await self.journal.requeue(handle.job_id)
            handle._set(state=JobState.QUEUED, step=0, total=0, frame=0, frames=0, losses={}, preview=None)
            self._waiting.put_back(handle)
            return
        await self.journal.finish(handle.job_id, outcome.state.value, outcome.error, outcome.result)
        if outcome.state is JobState.DONE:
            self._run_times.appendleft(outcome.seconds)
            self._learn(outcome)
        handle._finish(outcome.state, result=outcome.result, error=outcome.error)

    def _publisher(self, handle: LocalJobHandle) -> runtime.Publish:
        async def publish(control: runtime.Control) -> None:
            p = control.latest
            if p is not None and not handle._status.state.finished:
                eta = running_eta(time.monotonic() - control.started, p.step, p.total,
                                  average_run_s(self._run_times), handle.predicted_s)
                handle._set(**runtime.progress_fields(p), eta_s=eta, preview=control.preview)

        return publish

    # -- timing -----------------------------------------------------------------------------

    async def calibrate(self) -> None:
        """The warm-up: load the weights, then run the calibration jobs, so the time model can predict."""
        assert self._executor is not None
        loop = asyncio.get_running_loop()
        specs = calibration_specs()
        await loop.run_in_executor(self._executor, self._run_alone, specs[0])  # loads the weights: not timed
        for spec in specs:
            self._learn(await loop.run_in_executor(self._executor, self._run_alone, spec))
        for handle in self._waiting:  # taken back from the journal before the model could predict
            handle.predicted_s = self.predict(handle.spec)
        log.info("calibrated on %s: %.2f s + %.3f s per Mpx-step", self.runner.device, self.timing.a or 0.0,
                 self.timing.b or 0.0)

    def _run_alone(self, spec: JobSpec) -> runtime.Outcome:
        return runtime.run(spec, runtime.Control(), device=self.runner.device, stylizer=self._stylizer,
                           compile=self.runner.compile)

    def _learn(self, outcome: runtime.Outcome) -> None:
        sample = sample_of(outcome.seconds, outcome.result.report if outcome.result is not None else None)
        if sample is not None:
            self.timing.observe(sample.work, sample.seconds)

    async def predictor(self) -> Predict:
        return self.timing.predict

    def predict(self, spec: JobSpec) -> float | None:
        """Seconds the time model gives a job of ``spec`` here (None: not a plain picture, or not calibrated)."""
        return predict_job(self.timing.predict, spec)

    def _prune(self) -> None:
        finished = [k for k, h in self._jobs.items() if h._status.state.finished and h._claimed]
        for key in finished[: max(0, len(finished) - self._keep_finished)]:
            del self._jobs[key]

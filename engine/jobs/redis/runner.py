"""What a worker does with one wake-up token: take jobs under a lease, run them, store how they ended.

:class:`JobRunner` takes the first job in the fair order (and waiting jobs of the same shapes,
up to ``max_batch``), reads them back from Redis, runs them through :mod:`engine.jobs.runtime`
on this worker's device while it renews their leases and publishes their progress, then stores
each outcome - or, when the worker stops, gives them back, first in line. The worker around it
(:class:`~engine.jobs.redis.worker.StyleWorker`) owns the process: arq, warm-up, heartbeats.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

from redis.exceptions import RedisError

from engine.jobs import runtime
from engine.jobs.contract import JobSpec, with_draft
from engine.jobs.redis.settings import WorkerSettings
from engine.jobs.redis.store import JobStore
from engine.jobs.timing import sample_of
from engine.ops.logs import job_logger
from engine.texts import note, to_json

log = logging.getLogger(__name__)


@dataclass
class _Job:
    """One taken job, as read back from Redis."""

    job_id: str
    user: int
    spec: JobSpec
    preview_every: int
    result_ttl: int
    cancel: str
    about: dict[str, Any] = field(default_factory=dict)  # what the report says about the run


class JobRunner:
    """Runs the jobs of one queue that a worker's tokens take, on the worker's device.

    ``settings`` are the worker's (its lease, its ``max_pixels``, how jobs run, and the fall-backs of
    jobs queued without a time limit or TTL); ``device`` and ``max_batch`` are settled once the worker
    is warm. ``running`` maps the jobs running now to their controls (the worker's cancels reach
    them there); ``done`` counts the outcomes stored.
    """

    def __init__(self, store: JobStore, worker_id: str, settings: WorkerSettings, *, device: str,
                 max_batch: int, executor: Executor, stylizer: Any = None):
        self.store, self.worker_id, self.settings = store, worker_id, settings
        self.device, self.max_batch = device, max_batch
        self._executor, self._stylizer = executor, stylizer
        self.running: dict[str, runtime.Control] = {}
        self.done = 0

    @property
    def _lease_ms(self) -> int:
        return int(self.settings.lease_s * 1000)

    async def next_job(self) -> None:
        """Take the first job in line (and batch mates), run them, store their outcomes."""
        token = uuid.uuid4().hex
        taken = await self.store.take(token, self.worker_id, self._lease_ms, self.max_batch)
        if not taken:
            return  # another token took it first
        jobs, tasks = [], []
        for job_id, attempts, now_ms, submitted_ms in taken:
            job = await self._load(job_id)
            job.about = {"id": self.worker_id, "device": self.device, "attempt": attempts, "batch": len(taken),
                         "queued_s": (now_ms - submitted_ms) / 1000, "started_at_ms": now_ms}
            control = self.running[job_id] = runtime.Control(job.spec.time_limit_s)
            if job.cancel:
                control.cancel(job.cancel)
            jobs.append(job)
            tasks.append(runtime.Task(job.spec, control, job_id, attempts, self._publisher(job_id, token)))
        try:
            for job, outcome in zip(jobs, await self._execute(jobs, tasks, token)):
                if outcome is not None:
                    await self._store_outcome(job, token, outcome)
        except asyncio.CancelledError:  # the worker is stopping: give the jobs back, first in line
            for task in tasks:
                task.control.cancel(note("the worker is shutting down"), interrupted=True)
            await asyncio.shield(self._give_back([t.job_id for t in tasks], token))
            raise
        except Exception:  # Redis gone for good, or a bug here: the leases run out, they run again
            log.exception("worker error on jobs %s; they run again once their leases run out",
                          ", ".join(t.job_id for t in tasks))
        finally:
            for task in tasks:
                self.running.pop(task.job_id, None)

    async def _load(self, job_id: str) -> _Job:
        async with self.store.redis.pipeline(transaction=False) as pipe:
            pipe.hmget(self.store.job(job_id), "user", "options", "time_limit", "preview_every", "result_ttl",
                       "cancel", "grid", "draft")
            pipe.hgetall(self.store.inputs(job_id))
            (user, options, limit, preview_every, ttl, cancel, grid, draft), inputs = await pipe.execute()
        styles = sorted((int(k.split(b":")[1]), v) for k, v in inputs.items() if k.startswith(b"style:"))
        spec = JobSpec(inputs.get(b"content", b""), tuple(v for _, v in styles), json.loads(options or b"{}"),
                       int(user or 0), time_limit_s=float(limit or 0) or self.settings.job_time_limit_s,
                       start_image=inputs.get(b"start"),
                       grid=tuple(json.loads(grid or b"[]")))
        spec = with_draft(spec, draft)
        return _Job(job_id, int(user or 0), spec, int(preview_every or 0),
                    int(ttl or self.settings.result_ttl_s),
                    (cancel or b"").decode())

    async def _execute(self, jobs: list[_Job], tasks: list[runtime.Task],
                       token: str) -> list[runtime.Outcome | None]:
        """Each job's outcome; None for a job whose lease was lost (another worker runs it now)."""
        lost: set[str] = set()
        run = asyncio.create_task(runtime.execute_batch(
            tasks, executor=self._executor, device=self.device, max_pixels=self.settings.max_pixels,
            preview_every=jobs[0].preview_every, stylizer=self._stylizer, compile=self.settings.compile))
        lease = asyncio.create_task(self._hold_leases(tasks, token, lost))
        try:
            outcomes = await run
        finally:
            lease.cancel()
            if not run.done():
                run.cancel()
        return [None if t.job_id in lost else o for t, o in zip(tasks, outcomes)]

    async def _hold_leases(self, tasks: list[runtime.Task], token: str, lost: set[str]) -> None:
        """Renew each job's lease every third of it, pass on cancels; a job whose lease is lost is let go."""
        while True:
            await asyncio.sleep(self.settings.lease_s / 3)
            for task in tasks:
                if task.job_id in lost:
                    continue
                jlog = job_logger(log, task.job_id)
                try:
                    owned, reason = await self.store.heartbeat(task.job_id, token, self._lease_ms)
                except RedisError as exc:  # Redis restarting: the lease has some seconds left, keep going
                    jlog.warning("could not reach Redis (%s)", exc)
                    continue
                if not owned:
                    jlog.warning("lease lost, another worker runs the job now")
                    lost.add(task.job_id)
                    task.control.cancel(note("lease lost"), interrupted=True)
                elif reason:
                    task.control.cancel(reason)

    def _publisher(self, job_id: str, token: str) -> runtime.Publish:
        sent_preview: list[bytes | None] = [None]

        async def publish(control: runtime.Control) -> None:
            p = control.latest
            preview = control.preview if control.preview is not sent_preview[0] else None
            try:
                _, reason = await self.store.heartbeat(
                    job_id, token, self._lease_ms, runtime.progress_fields(p), preview)
            except RedisError as exc:
                job_logger(log, job_id).warning("could not publish progress (%s)", exc)
                return
            sent_preview[0] = control.preview
            if reason:
                control.cancel(reason)

        return publish

    async def _store_outcome(self, job: _Job, token: str, outcome: runtime.Outcome) -> None:
        """Store the outcome (a result's report also says which worker ran it, and when)."""
        done = outcome.result is not None
        report = outcome.result.report.with_figures(worker=job.about) if outcome.result is not None else None
        sample = sample_of(outcome.seconds, report) if done and job.about.get("batch", 1) == 1 else None
        if sample is not None:  # recorded before the end is told: a batch's time is shared, lone jobs only
            await self.store.record_time(self.device, sample.work, sample.seconds)
        res = await self.store.finish(job.job_id, job.user, outcome.state.value, to_json(outcome.error),
                                      job.result_ttl, token=token, report=report.to_dict() if report else None,
                                      run_s=outcome.seconds if done else None,
                                      png=outcome.result.image if done else b"")
        if res == "not_owner":
            job_logger(log, job.job_id).warning("lease lost before the outcome was stored; discarding it")
            return
        self.done += 1

    async def _give_back(self, job_ids: list[str], token: str) -> None:
        released = []
        for job_id in job_ids:
            try:
                if await self.store.release(job_id, token):
                    released.append(job_id)
            except RedisError as exc:
                job_logger(log, job_id).warning("could not hand it back (%s); it runs again when its lease ends",
                                                exc)
        if released:
            try:
                await self.store.reap()
            except RedisError as exc:
                log.warning("could not put jobs back in line (%s); the next reap does", exc)
            log.info("handed back to the queue (worker shutting down): %s", ", ".join(released))

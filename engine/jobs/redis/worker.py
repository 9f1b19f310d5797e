"""A worker of the Redis queue: takes jobs in the fair order and runs them through the job runtime.

Started by ``python -m engine.worker`` (see :mod:`engine.worker`) on any machine that reaches
Redis; it needs nothing else (the images travel in Redis). arq runs the worker loop (polling,
concurrency, signals, graceful stop) on wake-up tokens; each token takes the first job in line
and holds it under a lease that this worker renews while the job runs. If the process dies,
the lease runs out, a live worker puts the job back in line (``reap``) and wakes a worker for
it. On SIGTERM the worker stops taking jobs, lets the running ones finish for up to
``grace_s``, then gives them back, first in line again.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import signal
import socket
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from arq.worker import Worker, func
from pydantic import Field
from pydantic_settings import SettingsConfigDict
from redis.exceptions import RedisError

from engine.jobs import runtime
from engine.jobs.contract import JobSpec, JobState
from engine.jobs.redis.store import (
    TOKEN_FUNCTION,
    JobStore,
    arq_queue,
    connect,
    json_dumps,
    subscribe_forever,
)
from engine.jobs.settings import QueueSettings, RunnerSettings
from engine.ops import metrics
from engine.ops.logs import job_logger
from engine.ops.settings import ProcessSettings, load_settings

log = logging.getLogger(__name__)

MAX_RUN_S = 24 * 3600  # arq's own limit per token; jobs have their own (runtime), far shorter


class WorkerSettings(ProcessSettings, QueueSettings, RunnerSettings):
    """Every setting of a worker: environment (``REDIS_URL=...``) or flags (``--redis-url ...``), flags win.

    The queue's settings are the bot's (:class:`~engine.jobs.settings.QueueSettings`): a worker reads
    ``QUEUE_NAME``, and ``JOB_TIME_LIMIT_S`` and ``RESULT_TTL_S`` for jobs queued without them; the caps
    are checked by the bot when it submits, and each job carries the bot's limit and TTL. How jobs run on
    this worker's device (``DEVICE``, ``MAX_BATCH``, ``COMPILE``) is :class:`~engine.jobs.settings.RunnerSettings`,
    as for a bot that paints itself.
    """

    model_config = SettingsConfigDict(cli_kebab_case=True, cli_prog_name="python -m engine.worker")

    redis_url: str = Field("redis://127.0.0.1:6379/0", description="Redis of the queue (REDIS_URL)")
    max_pixels: int | None = Field(None, ge=256, description="refuse jobs whose output has more pixels")
    concurrency: int = Field(1, ge=1, le=64, description="jobs at a time on this device")
    lease_s: float = Field(15.0, gt=0, description="seconds after which a vanished worker's job runs elsewhere")
    grace_s: float = Field(20.0, ge=0, description="on SIGTERM, seconds running jobs may finish before they "
                                                   "are handed back")
    poll_delay_s: float = Field(0.25, gt=0, description="seconds between polls of the queue")
    heartbeat_s: float = Field(2.0, gt=0, description="seconds between advertisements; a worker silent for "
                                                      "3 of them counts as gone")


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


class StyleWorker:
    """Runs jobs of one Redis queue on one device, ``concurrency`` at a time.

    ``stylizer`` replaces the engine's shared one (tests inject faults with it);
    ``handle_signals=False`` lets a test run the worker inside its own event loop.
    """

    def __init__(self, settings: WorkerSettings, *, stylizer: Any = None, handle_signals: bool = True):
        self.settings = s = settings
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.device = s.device
        self.max_batch = s.max_batch or 1  # "auto" is settled once the device is known (_startup)
        self._stylizer = stylizer
        self._executor = ThreadPoolExecutor(max_workers=s.concurrency, thread_name_prefix="job")
        self._running: dict[str, runtime.Control] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._done = 0
        self.store: JobStore
        self.arq = Worker(
            functions=[func(self._next_job, name=TOKEN_FUNCTION, keep_result=0, timeout=MAX_RUN_S,
                            max_tries=1_000_000)],  # a token retried after a shutdown is still good
            queue_name=arq_queue(s.queue_name),
            redis_pool=connect(s.redis_url, s.queue_name),
            max_jobs=s.concurrency,
            keep_result=0,
            job_serializer=json_dumps,  # tokens are JSON, never pickle
            job_deserializer=json.loads,
            poll_delay=s.poll_delay_s,
            on_startup=self._startup,
            on_shutdown=self._shutdown,
            job_completion_wait=int(s.grace_s),
            handle_signals=handle_signals,
            health_check_interval=60,
        )

    @property
    def _lease_ms(self) -> int:
        return int(self.settings.lease_s * 1000)

    def run(self) -> None:
        """Blocks until SIGTERM/SIGINT (arq installs the handlers)."""
        self.arq.run()

    async def serve(self) -> None:
        """Run inside the caller's event loop until :meth:`stop`."""
        await self.arq.async_run()

    async def stop(self) -> None:
        self.arq.handle_sig(signal.SIGTERM)
        await self.arq.close()

    async def _startup(self, ctx: dict[str, Any]) -> None:
        self.store = JobStore(ctx["redis"], self.settings.queue_name)
        self.device = await asyncio.get_running_loop().run_in_executor(self._executor, self._warm_up)
        self.max_batch = self.settings.max_batch or runtime.auto_batch(self.device)
        self._tasks = [
            asyncio.create_task(self._advertise()),
            asyncio.create_task(self._maintain()),
            asyncio.create_task(subscribe_forever(self.store.redis, self.store.cancels, self._on_cancel)),
        ]
        if self.settings.metrics_port is not None:
            metrics.start_metrics_server(self.settings.metrics_port)
            self._tasks.append(asyncio.create_task(metrics.heartbeat_forever(self.store.depth)))
        log.info("worker %s ready on %s (max_pixels=%s, concurrency=%d, max_batch=%d)", self.worker_id,
                 self.device, self.settings.max_pixels, self.settings.concurrency, self.max_batch)

    def _warm_up(self) -> str:
        """Load the weights and run one tiny job, so the first user waits for neither."""
        from PIL import Image  # the engine's own dependency; only needed for this dummy image

        from engine.nst.stylize import resolve_device

        device = str(resolve_device(self.device))
        buf = io.BytesIO()
        Image.new("RGB", (16, 16), (128, 96, 64)).save(buf, format="PNG")
        spec = JobSpec(buf.getvalue(), (buf.getvalue(),), {"size": 16, "steps": 1, "levels": 1})
        outcome = runtime.run(spec, runtime.Control(), device=device, stylizer=self._stylizer,
                              compile=self.settings.compile)
        if outcome.state is not JobState.DONE:
            log.error("warm-up job failed: %s", outcome.error)
        return device

    async def _shutdown(self, ctx: dict[str, Any]) -> None:
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        try:
            await self.store.redis.delete(self.store.worker(self.worker_id))
            await self.store.redis.srem(self.store.workers, self.worker_id)
        except RedisError as exc:
            log.warning("could not unregister worker %s: %s", self.worker_id, exc)
        self._executor.shutdown(wait=False, cancel_futures=True)
        log.info("worker %s stopped after %d jobs", self.worker_id, self._done)

    async def _advertise(self) -> None:
        """Advertise this worker (a hash with TTL) so operators and ETAs see the live ones."""
        key, started, s = self.store.worker(self.worker_id), time.time(), self.settings
        while True:
            info = {"id": self.worker_id, "host": socket.gethostname(), "pid": os.getpid(),
                    "device": self.device, "max_pixels": s.max_pixels or "", "concurrency": s.concurrency,
                    "max_batch": self.max_batch,
                    "running": ",".join(self._running), "jobs_done": self._done,
                    "started_at": started, "heartbeat": time.time()}
            try:
                async with self.store.redis.pipeline(transaction=True) as pipe:
                    pipe.hset(key, mapping=info).expire(key, int(s.heartbeat_s * 3) + 1)
                    pipe.sadd(self.store.workers, self.worker_id)
                    await pipe.execute()
            except RedisError as exc:
                log.warning("heartbeat of worker %s failed: %s", self.worker_id, exc)
            await asyncio.sleep(s.heartbeat_s)

    async def _maintain(self) -> None:
        """Every half lease: put back the jobs of vanished workers, and wake a worker for each.

        Also wakes one when this worker sat idle for two rounds while jobs waited: a token can
        go missing if a bot dies between queueing a job and enqueueing its token.
        """
        starved = False
        while True:
            try:
                for job_id in await self.store.reap():
                    log.warning("job %s lost its worker; it waits again", job_id)
                    await self.arq.pool.enqueue_job(TOKEN_FUNCTION)
                waiting, _ = await self.store.sizes()
                idle = waiting > 0 and len(self._running) < self.settings.concurrency
                if idle and starved:
                    await self.arq.pool.enqueue_job(TOKEN_FUNCTION)
                starved = idle
            except RedisError as exc:
                log.warning("queue maintenance failed: %s", exc)
            await asyncio.sleep(self.settings.lease_s / 2)

    def _on_cancel(self, msg: dict[str, Any]) -> None:
        control = self._running.get(msg.get("id", ""))
        if control is not None:
            control.cancel(msg.get("reason") or "cancelled")

    # -- one job -------------------------------------------------------------------------

    async def _next_job(self, ctx: dict[str, Any]) -> None:
        """arq's job function: take the first job in line (and batch mates), run them, store their outcomes."""
        token = uuid.uuid4().hex
        taken = await self.store.take(token, self.worker_id, self._lease_ms, self.max_batch)
        if not taken:
            return  # another token took it first
        jobs, tasks = [], []
        for job_id, attempts, now_ms, submitted_ms in taken:
            job = await self._load(job_id)
            job.about = {"id": self.worker_id, "device": self.device, "attempt": attempts, "batch": len(taken),
                         "queued_s": (now_ms - submitted_ms) / 1000, "started_at_ms": now_ms}
            control = self._running[job_id] = runtime.Control(job.spec.time_limit_s)
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
                task.control.cancel("the worker is shutting down", interrupted=True)
            await asyncio.shield(self._give_back([t.job_id for t in tasks], token))
            raise
        except Exception:  # Redis gone for good, or a bug here: the leases run out, they run again
            log.exception("worker error on jobs %s; they run again once their leases run out",
                          ", ".join(t.job_id for t in tasks))
        finally:
            for task in tasks:
                self._running.pop(task.job_id, None)

    async def _load(self, job_id: str) -> _Job:
        async with self.store.redis.pipeline(transaction=False) as pipe:
            pipe.hmget(self.store.job(job_id), "user", "options", "time_limit", "preview_every", "result_ttl",
                       "cancel", "grid")
            pipe.hgetall(self.store.inputs(job_id))
            (user, options, limit, preview_every, ttl, cancel, grid), inputs = await pipe.execute()
        styles = sorted((int(k.split(b":")[1]), v) for k, v in inputs.items() if k.startswith(b"style:"))
        spec = JobSpec(inputs.get(b"content", b""), tuple(v for _, v in styles), json.loads(options or b"{}"),
                       int(user or 0), time_limit_s=float(limit or 0) or self.settings.job_time_limit_s, start_image=inputs.get(b"start"),
                       grid=tuple(json.loads(grid or b"[]")))
        return _Job(job_id, int(user or 0), spec, int(preview_every or 0), int(ttl or self.settings.result_ttl_s),
                    (cancel or b"").decode())

    async def _execute(self, jobs: list[_Job], tasks: list[runtime.Task], token: str) -> list[runtime.Outcome | None]:
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
        """Renew every job's lease each third of it and pass on cancels; a job whose lease is lost is let go."""
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
                    task.control.cancel("lease lost", interrupted=True)
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
        report = {**outcome.result.report, "worker": job.about} if outcome.result is not None else None
        res = await self.store.finish(job.job_id, job.user, outcome.state.value, outcome.error or "",
                                      job.result_ttl, token=token, report=report,
                                      run_s=outcome.seconds if done else None,
                                      png=outcome.result.image if done else b"")
        if res == "not_owner":
            job_logger(log, job.job_id).warning("lease lost before the outcome was stored; discarding it")
            return
        self._done += 1

    async def _give_back(self, job_ids: list[str], token: str) -> None:
        released = []
        for job_id in job_ids:
            try:
                if await self.store.release(job_id, token):
                    released.append(job_id)
            except RedisError as exc:
                job_logger(log, job_id).warning("could not hand it back (%s); it runs again when its lease ends", exc)
        if released:
            try:
                await self.store.reap()
            except RedisError as exc:
                log.warning("could not put jobs back in line (%s); the next reap does", exc)
            log.info("handed back to the queue (worker shutting down): %s", ", ".join(released))


def main(argv: list[str] | None = None) -> None:
    """``python -m engine.worker``: settings from the environment and flags, then run until SIGTERM."""
    from engine.ops.logs import setup_logging

    settings = load_settings(WorkerSettings, _cli_parse_args=argv if argv is not None else True)
    setup_logging(settings.log_level, json=settings.log_format == "json")
    StyleWorker(settings).run()

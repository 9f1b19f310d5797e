"""A worker of the Redis queue: the process that takes jobs in the fair order and runs them (:mod:`.runner`).

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
from typing import Any

from arq.worker import Worker, func
from redis.exceptions import RedisError

from engine.jobs import runtime
from engine.jobs.contract import JobSpec, JobState
from engine.jobs.redis.runner import JobRunner
from engine.jobs.redis.settings import WorkerSettings
from engine.jobs.redis.store import (
    TOKEN_FUNCTION,
    JobStore,
    arq_queue,
    connect,
    json_dumps,
    subscribe_forever,
)
from engine.jobs.timing import Sample, calibration_specs, sample_of
from engine.ops import metrics
from engine.ops.settings import load_settings

log = logging.getLogger(__name__)

MAX_RUN_S = 24 * 3600  # arq's own limit per token; jobs have their own (runtime), far shorter


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
        self._tasks: list[asyncio.Task[None]] = []
        self.store: JobStore
        self.jobs: JobRunner  # what each token does: take jobs, run them, store outcomes (from _startup)
        self.arq = Worker(
            functions=[func(self._take_token, name=TOKEN_FUNCTION, keep_result=0, timeout=MAX_RUN_S,
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
        self.device, samples = await asyncio.get_running_loop().run_in_executor(self._executor, self._warm_up)
        for sample in samples:
            await self.store.record_time(self.device, sample.work, sample.seconds)
        self.max_batch = self.settings.max_batch or runtime.auto_batch(self.device)
        self.jobs = JobRunner(self.store, self.worker_id, self.settings, device=self.device,
                              max_batch=self.max_batch, executor=self._executor, stylizer=self._stylizer)
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

    def _warm_up(self) -> tuple[str, list[Sample]]:
        """Load the weights and run one tiny job, so the first user waits for neither; then the calibration
        jobs of the bot's time model (engine.jobs.timing), whose samples the worker records."""
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
        _warm_drafts()
        samples = []
        for calibration in calibration_specs():
            done = runtime.run(calibration, runtime.Control(), device=device, stylizer=self._stylizer,
                               compile=self.settings.compile)
            sample = sample_of(done.seconds, done.result.report if done.result is not None else None)
            if sample is not None:
                samples.append(sample)
        return device, samples

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
        runner = getattr(self, "jobs", None)  # absent when start-up failed: arq shuts down all the same
        log.info("worker %s stopped after %d jobs", self.worker_id, runner.done if runner is not None else 0)

    async def _advertise(self) -> None:
        """Advertise this worker (a hash with TTL) so operators and ETAs see the live ones."""
        key, started, s = self.store.worker(self.worker_id), time.time(), self.settings
        while True:
            info = {"id": self.worker_id, "host": socket.gethostname(), "pid": os.getpid(),
                    "device": self.device, "max_pixels": s.max_pixels or "", "concurrency": s.concurrency,
                    "max_batch": self.max_batch,
                    "running": ",".join(self.jobs.running), "jobs_done": self.jobs.done,
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
                idle = waiting > 0 and len(self.jobs.running) < self.settings.concurrency
                if idle and starved:
                    await self.arq.pool.enqueue_job(TOKEN_FUNCTION)
                starved = idle
            except RedisError as exc:
                log.warning("queue maintenance failed: %s", exc)
            await asyncio.sleep(self.settings.lease_s / 2)

    async def _take_token(self, ctx: dict[str, Any]) -> None:
        """arq's job function: one token, one look at the queue (see :class:`JobRunner`)."""
        await self.jobs.next_job()

    def _on_cancel(self, msg: dict[str, Any]) -> None:
        control = self.jobs.running.get(msg.get("id", ""))
        if control is not None:
            control.cancel(msg.get("reason") or "cancelled")


def main(argv: list[str] | None = None) -> None:
    """``python -m engine.worker``: settings from the environment and flags, then run until SIGTERM."""
    from engine.ops.logs import setup_logging

    settings = load_settings(WorkerSettings, _cli_parse_args=argv if argv is not None else True)
    setup_logging(settings.log_level, json=settings.log_format == "json")
    StyleWorker(settings).run()


def _warm_drafts() -> None:
    """Load the draft network too, so a job's first look (and a quick job) is not kept waiting for it."""
    from engine.nst.draft import warm

    try:
        warm()
    except Exception:  # without it jobs still paint, only without a draft
        log.warning("the draft network could not be loaded; jobs will have no draft", exc_info=True)

"""A GPU worker of the Redis queue: ``python -m engine.worker --redis-url redis://host:6379/0 --device cuda:0``.

Runs on any machine that reaches Redis; needs nothing else (the images travel in Redis).
arq polls the fair queue that :mod:`engine.jobs.redis.queue` fills and holds each job under a lease
(arq's in-progress key, renewed every ``lease/3`` s while the job runs): if this process dies,
the lease runs out and another worker runs the job again. On SIGTERM the worker stops taking
jobs, lets the running ones finish for up to ``--grace`` seconds, then hands them back.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import logging
import os
import socket
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from arq.connections import ArqRedis
from arq.worker import RetryJob, Worker, func
from redis.exceptions import RedisError

from engine.ops import metrics
from engine.errors import InputError, JobCancelled, JobFailed
from engine.ops.logs import JobLogAdapter, job_logger, setup_logging
from engine.jobs.redis.store import ARQ_FUNCTION, JobStore, connect, json_dumps, subscribe_forever
from engine.jobs.runtime import run_job
from engine.nst.stylize import Progress, get_stylizer, resolve_device

log = logging.getLogger(__name__)

PUBLISH_EVERY_S = 0.2  # progress goes to Redis at most this often per job
STOP_GRACE_S = 30.0  # a job past its time limit that has not stopped by then is given up on
OOM_SHRINK = 0.7  # after running out of GPU memory, try once more at this fraction of the size


@dataclass
class _Run:
    """One running job as its engine thread and the worker's async side share it."""

    job_id: str
    log: JobLogAdapter
    stop: threading.Event = field(default_factory=threading.Event)
    reason: str = "cancelled"
    timed_out: bool = False
    latest: Progress | None = None
    preview: bytes | None = None

    def cancel(self, reason: str, timed_out: bool = False) -> None:
        if not self.stop.is_set():
            self.reason, self.timed_out = reason, timed_out
            self.stop.set()

    def on_progress(self, p: Progress) -> None:  # engine thread
        if p.preview is not None:
            self.preview = p.preview
        self.latest = p


@dataclass
class _Outcome:
    state: str  # a finished JobState value
    error: str = ""
    reason: str = ""  # why it failed, as metrics.REASONS name it
    png: bytes = b""
    report: dict[str, Any] | None = None
    run_s: float | None = None


@dataclass
class _Spec:
    options: dict[str, Any]
    time_limit: float
    preview_every: int
    result_ttl: int
    cancel: str
    content: bytes | None
    styles: list[bytes]


class StyleWorker:
    """Runs jobs of one Redis queue on one device, ``concurrency`` at a time."""

    def __init__(self, redis_url: str, *, queue_name: str = "stylebot", device: str = "auto",
                 max_pixels: int | None = None, concurrency: int = 1, lease_s: float = 15.0,
                 grace_s: float = 20.0, poll_delay_s: float = 0.25, heartbeat_s: float = 2.0,
                 max_attempts: int = 3, metrics_port: int = 0):
        self.redis_url, self.queue_name, self.device = redis_url, queue_name, device
        self.max_pixels, self.concurrency = max_pixels, concurrency
        self.lease_s, self.grace_s, self.poll_delay_s = lease_s, grace_s, poll_delay_s
        self.heartbeat_s, self.max_attempts, self.metrics_port = heartbeat_s, max_attempts, metrics_port
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._executor = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="job")
        self._running: dict[str, _Run] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._done = 0
        self.store: JobStore

    def run(self) -> None:
        """Blocks until SIGTERM/SIGINT (arq installs the handlers)."""
        pool = connect(self.redis_url, ArqRedis)
        pool.job_serializer, pool.job_deserializer = json_dumps, json.loads
        worker = Worker(
            functions=[func(self._job, name=ARQ_FUNCTION, keep_result=0)],
            queue_name=f"{self.queue_name}:arq",
            redis_pool=pool,
            max_jobs=self.concurrency,
            job_timeout=None,  # time limits are per job, enforced in _supervise
            keep_result=0,
            poll_delay=self.poll_delay_s,
            max_tries=1_000_000,  # crashes are counted in the job itself (max_attempts)
            job_serializer=json_dumps,
            job_deserializer=json.loads,
            on_startup=self._startup,
            on_shutdown=self._shutdown,
            job_completion_wait=self.grace_s,  # type: ignore[arg-type]
            health_check_interval=60,
        )
        # arq's in-progress key is our lease: short, and renewed while the job runs.
        worker.in_progress_timeout_s = self.lease_s
        worker.run()

    async def _startup(self, ctx: dict[str, Any]) -> None:
        self.store = JobStore(ctx["redis"], self.queue_name)
        self.device = await asyncio.get_running_loop().run_in_executor(self._executor, self._warm_up)
        self._tasks = [
            asyncio.create_task(self._heartbeat()),
            asyncio.create_task(subscribe_forever(self.store.redis, self.store.cancels, self._on_cancel)),
        ]
        if self.metrics_port:
            metrics.start_metrics_server(self.metrics_port)
            self._tasks.append(asyncio.create_task(metrics.heartbeat_forever(self.store.depth)))
        log.info("worker %s ready on %s (max_pixels=%s, concurrency=%d)",
                 self.worker_id, self.device, self.max_pixels, self.concurrency)

    def _warm_up(self) -> str:
        """Load the weights and run one tiny job, so the first user does not wait for either."""
        device = str(resolve_device(self.device))
        get_stylizer("pastiche")
        from PIL import Image  # the engine's own dependency; only needed for this dummy image

        buf = io.BytesIO()
        Image.new("RGB", (16, 16), (128, 96, 64)).save(buf, format="PNG")
        run_job(buf.getvalue(), [buf.getvalue()], {"size": 16, "steps": 1}, device=device)
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

    async def _heartbeat(self) -> None:
        """Advertise this worker (a hash with TTL) so operators and ETAs see the live ones."""
        key, started = self.store.worker(self.worker_id), time.time()
        while True:
            info = {"id": self.worker_id, "host": socket.gethostname(), "pid": os.getpid(),
                    "device": self.device, "max_pixels": self.max_pixels or "", "concurrency": self.concurrency,
                    "running": ",".join(self._running), "jobs_done": self._done,
                    "started_at": started, "heartbeat": time.time()}
            try:
                async with self.store.redis.pipeline(transaction=True) as pipe:
                    pipe.hset(key, mapping=info).expire(key, int(self.heartbeat_s * 3) + 1)
                    pipe.sadd(self.store.workers, self.worker_id)
                    await pipe.execute()
            except RedisError as exc:
                log.warning("heartbeat of worker %s failed: %s", self.worker_id, exc)
            await asyncio.sleep(self.heartbeat_s)

    def _on_cancel(self, msg: dict[str, Any]) -> None:
        run = self._running.get(msg.get("id", ""))
        if run is not None:
            run.cancel(msg.get("reason") or "cancelled")

    # -- one job -------------------------------------------------------------------------

    async def _job(self, ctx: dict[str, Any], job_id: str) -> None:
        """arq's job function: run the job, or hand it back to the queue if this worker stops first."""
        token = uuid.uuid4().hex
        started = await self.store.start(job_id, token, self.worker_id, int(self.lease_s * 1000))
        if started is None:
            log.info("job %s is finished already; dropping it from the queue", job_id)
            return
        run = self._running[job_id] = _Run(job_id, job_logger(log, job_id))
        metrics.job_started()
        try:
            await self._run_and_finish(run, token, *started)
        except asyncio.CancelledError:
            run.cancel("the worker is shutting down")
            try:
                if await asyncio.shield(self.store.hand_back(job_id, token)):
                    run.log.info("job %s handed back to the queue (worker shutting down)", job_id)
            except RedisError as exc:  # arq must still see the cancel, or it would drop the job from its queue
                run.log.warning("job %s: could not hand it back (%s); it runs again when its lease ends", job_id, exc)
            raise
        except RetryJob:
            raise
        except Exception:  # Redis gone for good, or a bug here: let arq keep it queued (max_attempts bounds it)
            run.log.exception("job %s: worker error; the job stays in the queue", job_id)
            raise RetryJob from None
        finally:
            self._running.pop(job_id, None)

    async def _run_and_finish(self, run: _Run, token: str, attempt: int, now_ms: int, submitted_ms: int) -> None:
        spec = await self._load(run.job_id)
        outcome = await self._execute(run, token, attempt, spec)
        if outcome is None:
            raise RetryJob  # lease lost: another worker owns the job now; leave it queued in arq
        if outcome.report is not None:
            outcome.report["worker"] = {"id": self.worker_id, "device": self.device, "attempt": attempt,
                                        "queued_s": (now_ms - submitted_ms) / 1000, "started_at_ms": now_ms}
        res = await self.store.finish(run.job_id, token, outcome.state, outcome.error, spec.result_ttl,
                                      outcome.report, outcome.run_s, outcome.png)
        if res == "not_owner":
            run.log.warning("job %s: lease lost before the result was stored; discarding it", run.job_id)
            raise RetryJob
        self._done += 1
        if outcome.state == "done":
            metrics.job_finished(outcome.run_s or 0.0, (outcome.report or {}).get("steps"))
        else:
            metrics.job_failed(outcome.reason or "cancelled")
        run.log.info("job %s %s%s", run.job_id, outcome.state, f": {outcome.error}" if outcome.error else "")

    async def _load(self, job_id: str) -> _Spec:
        async with self.store.redis.pipeline(transaction=False) as pipe:
            pipe.hmget(self.store.job(job_id), "options", "time_limit", "preview_every", "result_ttl", "cancel")
            pipe.hgetall(self.store.inputs(job_id))
            (options, limit, preview_every, ttl, cancel), inputs = await pipe.execute()
        styles = sorted((int(k.split(b":")[1]), v) for k, v in inputs.items() if k.startswith(b"style:"))
        return _Spec(json.loads(options or b"{}"), float(limit or 0), int(preview_every or 0), int(ttl or 86400),
                     (cancel or b"").decode(), inputs.get(b"content"), [v for _, v in styles])

    async def _execute(self, run: _Run, token: str, attempt: int, spec: _Spec) -> _Outcome | None:
        if attempt > self.max_attempts:
            return _Outcome("failed", f"the job was interrupted {attempt - 1} times (a worker stopped while "
                                      "running it); giving up", "internal")
        if spec.cancel:
            return _Outcome("cancelled", spec.cancel, "cancelled")
        if spec.content is None:
            return _Outcome("failed", "the job's images expired before a worker was free; please submit it again",
                            "input")
        loop = asyncio.get_running_loop()
        thread = loop.run_in_executor(self._executor, self._run_blocking, run, spec)
        watch = asyncio.create_task(self._supervise(run, token, spec.time_limit))
        try:
            done, _ = await asyncio.wait({thread, watch}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            watch.cancel()
        return thread.result() if thread in done else watch.result()

    async def _supervise(self, run: _Run, token: str, limit: float) -> _Outcome | None:
        """Publish progress, renew the lease, watch for cancels and the time limit while the thread runs.

        Returns only if the job must be abandoned: None when the lease is lost, an outcome when
        the engine did not stop within STOP_GRACE_S of the time limit.
        """
        start = time.monotonic()
        renew_at, sent, sent_preview = start + self.lease_s / 3, None, None
        while True:
            await asyncio.sleep(PUBLISH_EVERY_S)
            now = time.monotonic()
            if limit and now - start > limit:
                run.cancel(f"the job took longer than {limit:.0f} s and was stopped", timed_out=True)
                if now - start > limit + STOP_GRACE_S:
                    run.log.error("job %s did not stop %g s after its time limit; abandoning it",
                                  run.job_id, STOP_GRACE_S)
                    return _Outcome("failed", run.reason, "timeout")
            try:
                if now >= renew_at:
                    owned, reason = await self.store.renew(run.job_id, token, int(self.lease_s * 1000))
                    if not owned:
                        run.log.warning("job %s: lease lost, another worker runs it now", run.job_id)
                        run.cancel("lease lost")
                        return None
                    if reason:
                        run.cancel(reason)
                    renew_at = now + self.lease_s / 3
                p = run.latest
                if p is not None and p is not sent:
                    preview = run.preview if run.preview is not sent_preview else None
                    await self.store.progress(run.job_id, token, p.step, p.total, p.losses, preview)
                    sent, sent_preview = p, run.preview
            except RedisError as exc:  # Redis restarting: the lease has some seconds left, keep going
                run.log.warning("job %s: could not reach Redis (%s)", run.job_id, exc)

    def _run_blocking(self, run: _Run, spec: _Spec) -> _Outcome:
        """The engine call, in a worker thread; every failure becomes an outcome with a user-facing reason."""
        assert spec.content is not None
        options, shrunk = dict(spec.options), None
        t0 = time.perf_counter()
        while True:
            try:
                result = run_job(spec.content, spec.styles, options, on_progress=run.on_progress,
                                 should_cancel=run.stop.is_set, preview_every=spec.preview_every,
                                 device=self.device, max_pixels=self.max_pixels)
            except JobCancelled:  # a time limit is the job's failure, as in the local queue
                if run.timed_out:
                    return _Outcome("failed", run.reason, "timeout")
                return _Outcome("cancelled", run.reason, "cancelled")
            except (InputError, JobFailed) as exc:
                return _Outcome("failed", str(exc), metrics.failure_reason(exc))
            except Exception as exc:
                if metrics.failure_reason(exc) != "oom":  # torch.cuda.OutOfMemoryError or "out of memory"
                    run.log.exception("job %s: internal error", run.job_id)
                    return _Outcome("failed", "the worker hit an internal error", "internal")
                size = int(options.get("size", 512))
                _free_gpu_memory()
                if shrunk is not None or size <= 16:
                    run.log.warning("job %s: out of GPU memory at size %d", run.job_id, size)
                    return _Outcome("failed", f"the GPU ran out of memory even at size {size}; "
                                              "try a smaller size", "oom")
                shrunk = (size, max(16, int(size * OOM_SHRINK)))
                run.log.warning("job %s: out of GPU memory at size %d; retrying at %d", run.job_id, *shrunk)
                options["size"] = shrunk[1]
                continue
            report = dict(result.report)
            if shrunk is not None:
                report["oom_retry"] = {"from_size": shrunk[0], "to_size": shrunk[1]}
            return _Outcome("done", png=result.image, report=report, run_s=time.perf_counter() - t0)


def _free_gpu_memory() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m engine.worker", description=__doc__.split("\n")[0])
    ap.add_argument("--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
                    help="Redis of the queue (default: $REDIS_URL or redis://127.0.0.1:6379/0)")
    ap.add_argument("--queue", default="stylebot", help="queue name, the same as the bot's (default: stylebot)")
    ap.add_argument("--device", default="auto", help="auto, cpu or cuda:N (default: auto)")
    ap.add_argument("--max-pixels", type=int, default=None, help="refuse jobs whose output has more pixels")
    ap.add_argument("--concurrency", type=int, default=1, help="jobs at a time on this device (default: 1)")
    ap.add_argument("--lease", type=float, default=15.0,
                    help="seconds after which a job of a vanished worker runs elsewhere (default: 15)")
    ap.add_argument("--grace", type=float, default=20.0,
                    help="on SIGTERM, seconds to finish running jobs before handing them back (default: 20)")
    ap.add_argument("--poll-delay", type=float, default=0.25, help="seconds between queue polls (default: 0.25)")
    ap.add_argument("--heartbeat", type=float, default=2.0,
                    help="seconds between heartbeats; a worker silent for 3 of them counts as gone (default: 2)")
    ap.add_argument("--metrics-port", type=int, default=int(os.environ.get("METRICS_PORT") or 0),
                    help="serve Prometheus /metrics on this port (default: $METRICS_PORT; 0 = off)")
    ap.add_argument("--log-level", default=os.environ.get("LOG_LEVEL", "INFO"), help="default: $LOG_LEVEL or INFO")
    ap.add_argument("--log-format", choices=("text", "json"), default=os.environ.get("LOG_FORMAT", "text"),
                    help="readable lines or JSON lines (default: $LOG_FORMAT or text)")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    setup_logging(args.log_level, json=args.log_format == "json")
    StyleWorker(args.redis_url, queue_name=args.queue, device=args.device, max_pixels=args.max_pixels,
                concurrency=args.concurrency, lease_s=args.lease, grace_s=args.grace,
                poll_delay_s=args.poll_delay, heartbeat_s=args.heartbeat, metrics_port=args.metrics_port).run()


if __name__ == "__main__":
    main()

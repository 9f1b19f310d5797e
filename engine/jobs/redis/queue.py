"""The Redis implementation of :class:`engine.jobs.JobQueue`: workers anywhere (see :mod:`engine.jobs.redis`).

The bot submits into Redis - the job in our keys, a wake-up token into arq's queue - and
``python -m engine.worker`` processes on any machine run the jobs. Progress, cancels and
results travel through Redis, so a handle behaves the same from any process, and
``claim_delivery`` lets exactly one of them reply. This module imports no torch.

Closing the queue does not stop jobs: they belong to the workers, and a bot that starts
again finds them through :meth:`RedisJobQueue.undelivered`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any

from engine.errors import JobCancelled, JobFailed, QueueFull, UserLimitReached
from engine.jobs.contract import (
    ETA_WINDOW,
    JobHandle,
    JobQueue,
    JobResult,
    JobSpec,
    JobState,
    JobStatus,
    Predict,
    Screen,
    average_run_s,
    draft_fields,
    predicted_queued_eta,
    running_eta,
)
from engine.jobs.paint import batch_key
from engine.jobs.redis.store import TOKEN_FUNCTION, JobStore, connect, subscribe_forever
from engine.jobs.report import JobReport
from engine.jobs.runtime import check_submission, msg, user_limit
from engine.jobs.settings import QueueSettings
from engine.jobs.timing import Sample, TimeModel, predict_job, slowest
from engine.ops import metrics
from engine.texts import Message, as_message, to_json

log = logging.getLogger(__name__)


class RedisJobQueue(JobQueue):
    """Jobs in Redis, run by ``engine.worker`` processes; the caller builds the settings.

    ``settings``: the queue's name, caps (queued plus running jobs), the time limit of jobs whose spec
    gives none, and how long results and waiting inputs are kept. ``preview_every`` (0: no previews)
    travels with each job to the worker; handles re-read a job's state every ``poll_interval_s``
    even when no change is announced.
    """

    def __init__(self, redis_url: str, settings: QueueSettings, *, preview_every: int = 0,
                 poll_interval_s: float = 1.0):
        self.redis_url, self.settings = redis_url, settings
        self.preview_every, self.poll_interval_s = preview_every, poll_interval_s
        self._redis: Any = None
        self._store: JobStore | None = None
        self._listener: asyncio.Task[None] | None = None
        self._waiters: defaultdict[str, set[asyncio.Event]] = defaultdict(set)
        self._capacity: tuple[float, int] = (0.0, 1)  # (when read, job slots of the live workers)

    @property
    def store(self) -> JobStore:
        if self._store is None:
            raise RuntimeError("this RedisJobQueue is not started, or closed already")
        return self._store

    async def start(self, screen: Screen | None = None) -> None:
        """Connect; then ``screen`` the jobs left unanswered (the workers may be running them already)."""
        self._redis = connect(self.redis_url, self.settings.queue_name)
        await self._redis.ping()
        self._store = JobStore(self._redis, self.settings.queue_name)
        self._listener = asyncio.create_task(
            subscribe_forever(self._redis, self.store.events, self._on_event, self._wake_all)
        )
        if screen is not None:
            await screen()

    async def close(self, drain_timeout: float = 0.0) -> None:
        """Disconnect. Jobs keep running on the workers; ``drain_timeout`` has nothing to wait for here."""
        if self._listener is not None:
            self._listener.cancel()
            await asyncio.gather(self._listener, return_exceptions=True)
            self._listener = None
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = self._store = None
        self._wake_all()

    async def submit(self, spec: JobSpec) -> RedisJobHandle:
        params, limits = check_submission(spec), self.settings  # ParamError/InputError before anything is queued
        job_id = uuid.uuid4().hex
        fields = {
            "user": str(spec.user_id),
            "guild": "" if spec.guild_id is None else str(spec.guild_id),
            "meta": json.dumps(spec.meta),
            # Canonical values; None fields are defaults, and parse_options cannot read None back.
            "options": json.dumps({k: v for k, v in params.to_dict().items() if v is not None}),
            "time_limit": str(spec.time_limit_s or limits.job_time_limit_s),
            "preview_every": str(self.preview_every),
            "result_ttl": str(limits.result_ttl_s),
            "batch": batch_key(spec) or "",  # waiting jobs with the same key may run as one batch
            "grid": json.dumps(list(spec.grid)),  # a strength grid's factors; [] for one image
            "draft": draft_fields(spec) or "",  # a draft job's kind and captions; "" for a painting
        }
        predicted = await self._predict(spec)
        if predicted is not None:
            fields["predict_s"] = f"{predicted:.3f}"  # the time model's seconds for it: its ETA
        inputs = {"content": spec.content, **{f"style:{i}": s for i, s in enumerate(spec.styles)}}
        if spec.start_image is not None:  # an upscale's start image travels with the others
            inputs["start"] = spec.start_image
        res = await self.store.submit(job_id, spec.user_id, fields, inputs, user_limit=limits.per_user_limit,
                                      max_queue=limits.max_queue, input_ttl_s=limits.input_ttl_s)
        if res == "user_limit":
            raise UserLimitReached(user_limit(limits.per_user_limit))
        if res == "queue_full":
            raise QueueFull(msg("refusal.queue_full", count=limits.max_queue))
        await self._redis.enqueue_job(TOKEN_FUNCTION)  # wakes one worker; it takes the first job in line
        log.info("job %s queued for user %s", job_id, spec.user_id)
        return RedisJobHandle(self, job_id, spec.user_id, spec.guild_id, dict(spec.meta))

    async def get(self, job_id: str) -> RedisJobHandle | None:
        user, guild, meta = await self.store.redis.hmget(self.store.job(job_id), "user", "guild", "meta")
        return None if user is None else RedisJobHandle.from_fields(self, job_id, user, guild, meta)

    async def undelivered(self) -> list[JobHandle]:
        ids = [i.decode() for i in await self.store.redis.zrange(self.store.undelivered, 0, -1)]
        async with self.store.redis.pipeline(transaction=False) as pipe:
            for job_id in ids:
                pipe.hmget(self.store.job(job_id), "user", "guild", "meta")
            rows = await pipe.execute()
        expired = [job_id for job_id, row in zip(ids, rows) if row[0] is None]
        if expired:
            await self.store.redis.zrem(self.store.undelivered, *expired)
        return [RedisJobHandle.from_fields(self, job_id, *row) for job_id, row in zip(ids, rows) if row[0]]

    async def depth(self) -> int:
        return await self.store.depth()

    async def workers(self) -> list[dict[str, str]]:
        """The live workers and what they advertise (device, max_pixels, concurrency, running, ...)."""
        return await self.store.live_workers()

    # -- internals shared by the handles ---------------------------------------------------

    def _on_event(self, event: dict[str, Any]) -> None:
        if event.get("k") == "state":  # a start, end or submit moves everybody's position
            self._wake_all()
        else:
            for ev in self._waiters.get(event.get("id", ""), ()):
                ev.set()

    def _wake_all(self) -> None:
        for events in self._waiters.values():
            for ev in events:
                ev.set()

    async def predictor(self) -> Predict:
        """The slowest live device's time model, from the workers' run records (any worker may take a job)."""
        records = await self.store.run_records()
        live = {w.get("device") for w in await self.store.live_workers()}
        by_device: dict[str, list[Sample]] = {}
        for r in reversed(records):  # oldest first, as the models take them
            if r.get("device") in live:
                by_device.setdefault(r["device"], []).append(Sample(float(r["work"]), float(r["seconds"])))
        models = [TimeModel(samples) for samples in by_device.values()]
        return lambda work: slowest(models, work)

    async def _predict(self, spec: JobSpec) -> float | None:
        return predict_job(await self.predictor(), spec)

    async def _slots(self) -> int:
        """Jobs the live workers run at once (read at most every 5 s; at least 1)."""
        when, slots = self._capacity
        if time.monotonic() - when > 5.0:
            workers = await self.store.live_workers()
            slots = max(1, sum(int(w.get("concurrency", 1)) for w in workers))
            self._capacity = (time.monotonic(), slots)
        return slots

    async def _status(self, job_id: str) -> JobStatus:
        async with self.store.redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(self.store.job(job_id)).zrank(self.store.queued, job_id).zcard(self.store.running)
            pipe.lrange(self.store.run_times, 0, ETA_WINDOW - 1).time()
            h, rank, running, run_times, (sec, usec) = await pipe.execute()
        if not h:
            return JobStatus(job_id, JobState.FAILED, error=msg("job.gone"))
        f = {k.decode(): v for k, v in h.items()}
        state = JobState(f["state"].decode())
        step, total = int(f.get("step", 0)), int(f.get("total", 0))
        avg_s = average_run_s(float(t) for t in run_times)
        predicted = float(f["predict_s"]) if "predict_s" in f else None
        now_ms = sec * 1000 + usec // 1000
        eta = 0.0 if state.finished else None
        if state is JobState.QUEUED and rank is not None:
            slots = await self._slots()
            eta = predicted_queued_eta(rank, slots, avg_s, running >= slots, predicted)
        elif state is JobState.RUNNING:
            eta = running_eta(max(0.0, (now_ms - int(f.get("started_at", now_ms))) / 1000), step, total, avg_s,
                              predicted)
        return JobStatus(
            job_id=job_id,
            state=state,
            position=rank if state is JobState.QUEUED else None,
            eta_s=eta,
            step=step,
            total=total,
            losses=json.loads(f["losses"]) if "losses" in f else {},
            preview=f.get("preview"),
            frame=int(f.get("frame", 0)),
            frames=int(f.get("frames", 0)),
            error=as_message(f["error"].decode(), "job.failed") if f.get("error") else None,
        )


class RedisJobHandle(JobHandle):
    """A job in Redis, followed from this process; any process can make one with ``queue.get``."""

    def __init__(self, queue: RedisJobQueue, job_id: str, user_id: int, guild_id: int | None,
                 meta: dict[str, Any]):
        self._queue = queue
        self.job_id, self.user_id, self.guild_id, self.meta = job_id, user_id, guild_id, meta

    @classmethod
    def from_fields(cls, queue: RedisJobQueue, job_id: str, user: bytes, guild: bytes | None,
                    meta: bytes | None) -> RedisJobHandle:
        return cls(queue, job_id, int(user), int(guild) if guild else None, json.loads(meta or b"{}"))

    def __repr__(self) -> str:
        return f"<RedisJobHandle {self.job_id} user={self.user_id}>"

    async def status(self) -> JobStatus:
        return await self._queue._status(self.job_id)

    async def updates(self) -> AsyncIterator[JobStatus]:
        """Snapshots as they change: woken by pub/sub, re-read every ``poll_interval_s`` regardless."""
        wake = asyncio.Event()
        waiters = self._queue._waiters
        waiters[self.job_id].add(wake)
        try:
            last = None
            while True:
                wake.clear()  # before reading, so a change during the read is not missed
                st = await self.status()
                if st != last:
                    yield st
                    last = st
                if st.state.finished:
                    return
                try:
                    await asyncio.wait_for(wake.wait(), self._queue.poll_interval_s)
                except TimeoutError:
                    pass
        finally:
            waiters[self.job_id].discard(wake)
            if not waiters[self.job_id]:
                del waiters[self.job_id]

    async def result(self) -> JobResult:
        last = None
        async for last in self.updates():
            pass
        assert last is not None
        if last.state is JobState.CANCELLED:
            raise JobCancelled(last.error or msg("job.cancelled"))
        if last.state is JobState.FAILED:
            raise JobFailed(last.error or msg("job.failed"))
        store = self._queue.store
        async with store.redis.pipeline(transaction=False) as pipe:
            pipe.get(store.result(self.job_id)).hget(store.job(self.job_id), "report")
            png, report = await pipe.execute()
        if png is None or report is None:
            raise JobFailed(msg("job.result_gone", ttl_s=self._queue.settings.result_ttl_s))
        return JobResult(image=png, report=JobReport.from_dict(json.loads(report)))

    async def cancel(self, reason: Message | str | None = None) -> bool:
        res = await self._queue.store.finish(self.job_id, self.user_id, JobState.CANCELLED.value,
                                             to_json(as_message(reason)),
                                             self._queue.settings.result_ttl_s)
        if res == "ended":  # nobody ran it: count it here (a worker counts the jobs it stops)
            metrics.job_failed("cancelled")
        return res in ("ended", "signalled")

    async def claim_delivery(self) -> bool:
        return await self._queue.store.claim(self.job_id, uuid.uuid4().hex)


"""The Redis side of the scale-out queue: the key layout and the atomic state changes of a job.

Both ends use it: :mod:`engine.jobs.redis.queue` (the bot: submit, follow, cancel, claim) and
:mod:`engine.jobs.redis.worker` (workers: take, heartbeat, finish, release, reap). Every state
change is one Lua script from ``lua/`` (registered with redis-py's ``register_script``; each
file's header documents its KEYS and ARGV, ARGV[1] being a JSON object of named arguments),
so caps, fairness and "exactly one reply" hold across any number of processes. Only bytes
and plain JSON go into Redis. Standalone Redis: two scripts name a job's keys from its id.

Layout, ``P`` being the queue name (``stylebot`` by default):

* ``P:job:<id>``     hash - state, owner, options, grid, progress, report, error; TTL ``result_ttl`` once finished
* ``P:in:<id>``      hash - content, style (and an upscale's start) image bytes; TTL ``input_ttl``,
  deleted when finished
* ``P:res:<id>``     PNG bytes of the result; TTL ``result_ttl``
* ``P:lease:<id>``   the running job's lease (PX): while it exists, its worker is alive
* ``P:queued`` / ``P:running``  sorted sets of job ids by fair-order score (see submit.lua)
* ``P:user:<uid>``   set of the user's waiting or running jobs (the per-user cap)
* ``P:vnext`` / ``P:seq``  the fair order's next round per user, and the arrival counter
* ``P:undelivered``  sorted set of jobs nobody has answered for yet
* ``P:runs``         list - run times of the last finished jobs, newest first: the ETAs'
  :func:`~engine.jobs.contract.average_run_s` reads them
* ``P:timing``       list - the workers' run records (device, work, seconds) of calibrations and finished
  jobs, newest first: the bot's time model (:mod:`engine.jobs.timing`) sizes jobs and gives ETAs from them
* ``P:events`` / ``P:cancel``  pub/sub channels: job changes for followers, cancels for workers
* ``P:workers`` and ``P:worker:<wid>`` - the live workers (a hash with TTL each)
* ``P:arq``          arq's queue of wake-up tokens (see :mod:`engine.jobs.redis`), plus arq's
  own ``arq:job:*``, ``arq:in-progress:*`` and ``arq:retry:*`` keys, written by arq only.
"""

from __future__ import annotations

import asyncio
import importlib.resources
import json
import logging
from collections.abc import Callable
from typing import Any

import redis.asyncio as aioredis
from arq.connections import ArqRedis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from engine.jobs.contract import ETA_WINDOW

TIMING_RECORDS = 200  # run records kept for the time model (engine.jobs.timing), all devices together

log = logging.getLogger(__name__)

TOKEN_FUNCTION = "next_job"  # the one arq function: take the first job in line and run it
SCRIPTS = ("submit", "take", "heartbeat", "finish", "release", "reap", "claim")


def json_dumps(obj: Any) -> bytes:
    """Compact JSON bytes: the scripts' named arguments, and arq's job serializer (instead of pickle)."""
    return json.dumps(obj, separators=(",", ":")).encode()


def connection_pool(url: str) -> aioredis.ConnectionPool:
    """Connections that ride out a Redis restart: commands retry with backoff for about 15 s.

    OSError is listed because a refused (re)connect surfaces as one, and redis-py retries
    connecting only on the Retry's own error list.
    """
    errors = (RedisConnectionError, RedisTimeoutError, OSError)
    return aioredis.ConnectionPool.from_url(
        url,
        retry=Retry(ExponentialBackoff(cap=2.0, base=0.05), retries=10, supported_errors=errors),
        retry_on_error=list(errors),
        health_check_interval=30,
    )


def arq_queue(queue_name: str) -> str:
    """The name of arq's queue of wake-up tokens for the queue ``queue_name``."""
    return f"{queue_name}:arq"


def connect(url: str, queue_name: str) -> ArqRedis:
    """A client of the queue ``queue_name`` that can also enqueue arq's wake-up tokens (as JSON, not pickle)."""
    return ArqRedis(connection_pool(url), job_serializer=json_dumps, job_deserializer=json.loads,
                    default_queue_name=arq_queue(queue_name))


def _lua(name: str) -> str:
    return (importlib.resources.files("engine.jobs.redis") / "lua" / f"{name}.lua").read_text()


class JobStore:
    """Named keys and scripts of one queue; every method is one round trip (or one script)."""

    def __init__(self, redis: aioredis.Redis, name: str):
        self.redis, self.name = redis, name
        self.events, self.cancels = f"{name}:events", f"{name}:cancel"
        self.queued, self.running = f"{name}:queued", f"{name}:running"
        self.undelivered, self.run_times, self.workers = f"{name}:undelivered", f"{name}:runs", f"{name}:workers"
        self.timings = f"{name}:timing"  # the workers' run records (device, work, seconds), newest first
        self._scripts = {script: redis.register_script(_lua(script)) for script in SCRIPTS}

    def job(self, job_id: str) -> str:
        return f"{self.name}:job:{job_id}"

    def inputs(self, job_id: str) -> str:
        return f"{self.name}:in:{job_id}"

    def result(self, job_id: str) -> str:
        return f"{self.name}:res:{job_id}"

    def lease(self, job_id: str) -> str:
        return f"{self.name}:lease:{job_id}"

    def user_jobs(self, user_id: int | str) -> str:
        return f"{self.name}:user:{user_id}"

    def worker(self, worker_id: str) -> str:
        return f"{self.name}:worker:{worker_id}"

    async def _call(self, script: str, keys: list[str], named: dict[str, Any], *blobs: bytes) -> Any:
        return await self._scripts[script](keys=keys, args=[json_dumps(named), *blobs])

    # -- the bot's side ------------------------------------------------------------------

    async def submit(self, job_id: str, user: int, fields: dict[str, str], inputs: dict[str, bytes], *,
                     user_limit: int, max_queue: int, input_ttl_s: int) -> str:
        """'ok', 'user_limit' or 'queue_full'."""
        keys = [self.job(job_id), self.inputs(job_id), self.queued, self.running, self.user_jobs(user),
                f"{self.name}:vnext", f"{self.name}:seq", self.undelivered]
        named = {"id": job_id, "user": str(user), "user_limit": user_limit, "max_queue": max_queue,
                 "input_ttl": input_ttl_s, "events": self.events, "fields": fields}
        flat = [x for kv in inputs.items() for x in (kv[0].encode(), kv[1])]
        return (await self._call("submit", keys, named, *flat)).decode()

    async def finish(self, job_id: str, user: int, state: str, error: str, ttl_s: int, *, token: str = "",
                     report: dict[str, Any] | None = None, run_s: float | None = None, png: bytes = b"") -> str:
        """End the job ('ended', 'signalled', 'finished' or 'not_owner'); ``token=''`` is a cancel by anyone."""
        keys = [self.job(job_id), self.inputs(job_id), self.result(job_id), self.queued, self.running,
                self.user_jobs(user), self.lease(job_id), self.run_times]
        named = {"id": job_id, "token": token, "state": state, "error": error, "ttl": ttl_s, "keep": ETA_WINDOW,
                 "report": json.dumps(report) if report is not None else "",
                 "run_s": "" if run_s is None else f"{run_s:.3f}", "events": self.events, "cancels": self.cancels}
        return (await self._call("finish", keys, named, png)).decode()

    async def claim(self, job_id: str, token: str) -> bool:
        return bool(await self._call("claim", [self.job(job_id), self.undelivered], {"id": job_id, "token": token}))

    async def depth(self) -> int:
        """Jobs queued or running."""
        queued, running = await self.sizes()
        return queued + running

    async def sizes(self) -> tuple[int, int]:
        """(waiting, running) job counts."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zcard(self.queued).zcard(self.running)
            queued, running = await pipe.execute()
        return int(queued), int(running)

    async def record_time(self, device: str, work: float, seconds: float) -> None:
        """One run record of the time model (engine.jobs.timing): a calibration or finished job on ``device``."""
        record = json.dumps({"device": device, "work": round(work, 6), "seconds": round(seconds, 3)})
        async with self.redis.pipeline(transaction=True) as pipe:
            await pipe.lpush(self.timings, record).ltrim(self.timings, 0, TIMING_RECORDS - 1).execute()

    async def run_records(self) -> list[dict[str, Any]]:
        """The workers' run records, newest first."""
        return [json.loads(r) for r in await self.redis.lrange(self.timings, 0, TIMING_RECORDS - 1)]

    async def live_workers(self) -> list[dict[str, str]]:
        """Capabilities of the workers whose heartbeat is fresh (dead ones are forgotten here)."""
        ids = [w.decode() for w in await self.redis.smembers(self.workers)]
        async with self.redis.pipeline(transaction=False) as pipe:
            for w in ids:
                pipe.hgetall(self.worker(w))
            infos = await pipe.execute()
        dead = [w for w, info in zip(ids, infos) if not info]
        if dead:
            await self.redis.srem(self.workers, *dead)
        return [{k.decode(): v.decode() for k, v in info.items()} for info in infos if info]

    # -- the worker's side ---------------------------------------------------------------

    async def take(self, token: str, worker_id: str, lease_ms: int, max_batch: int = 1,
                   scan: int = 200) -> list[tuple[str, int, int, int]]:
        """The next job in the fair order and up to ``max_batch - 1`` waiting batch mates among the next
        ``scan``: (id, attempts, now_ms, submitted_ms) each, first in line first; [] when none waits."""
        named = {"prefix": self.name, "token": token, "worker": worker_id, "lease_ms": lease_ms,
                 "events": self.events, "max": max_batch, "scan": scan}
        res = await self._call("take", [self.queued, self.running], named)
        return [(row[0].decode(), int(row[1]), int(row[2]), int(row[3])) for row in res]

    async def heartbeat(self, job_id: str, token: str, lease_ms: int, progress: dict[str, Any] | None = None,
                        preview: bytes | None = None) -> tuple[bool, str]:
        """Renew the lease (and publish ``progress``): (still the owner, pending cancel reason or '')."""
        named: dict[str, Any] = {"id": job_id, "token": token, "lease_ms": lease_ms, "events": self.events}
        if progress is not None:
            named["progress"] = {**progress, "losses": json.dumps(progress["losses"])}
        owned, reason = await self._call("heartbeat", [self.job(job_id), self.lease(job_id)], named, preview or b"")
        return bool(owned), reason.decode()

    async def release(self, job_id: str, token: str) -> bool:
        """Give the job back early (graceful shutdown); :meth:`reap` puts it back in line."""
        return bool(await self._call("release", [self.job(job_id), self.lease(job_id)], {"token": token}))

    async def reap(self) -> list[str]:
        """Put running jobs whose lease is gone back in line; returns their ids."""
        ids = await self._call("reap", [self.running, self.queued], {"prefix": self.name, "events": self.events})
        return [i.decode() for i in ids]


async def subscribe_forever(redis: aioredis.Redis, channel: str, on_message: Callable[[dict[str, Any]], None],
                            on_reconnect: Callable[[], None] = lambda: None) -> None:
    """Feed each JSON message of ``channel`` to ``on_message``; resubscribe after Redis drops away.

    Messages can be missed while disconnected, so ``on_reconnect`` runs on every (re)subscribe:
    whoever relies on messages re-reads the state there.
    """
    delay = 0.1
    while True:
        try:
            async with redis.pubsub(ignore_subscribe_messages=True) as ps:
                await ps.subscribe(channel)
                on_reconnect()
                delay = 0.1
                async for msg in ps.listen():
                    if msg["type"] == "message":
                        on_message(json.loads(msg["data"]))
        except (RedisError, OSError) as exc:
            log.warning("subscription to %s lost (%s); retrying in %.1f s", channel, exc, delay)
            on_reconnect()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)

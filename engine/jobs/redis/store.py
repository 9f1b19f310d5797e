"""The Redis side of the scale-out queue: key layout and the atomic state changes of a job.

Both ends use it: :mod:`engine.jobs.redis.queue` (the bot: submit, follow, cancel, claim) and
:mod:`engine.worker` (GPU workers: start, progress, finish, hand back). Every state change
is one Lua script, so caps, fairness and "exactly one reply" hold across any number of
processes. Only bytes and plain JSON go into Redis. Standalone Redis (scripts build key
names from the queue name, which Redis Cluster would refuse).

Layout, ``P`` being the queue name (``stylebot`` by default):

* ``P:job:<id>``     hash - state, owner, progress, report, error; TTL ``result_ttl`` once finished
* ``P:in:<id>``      hash - content and style image bytes; TTL ``input_ttl``, deleted when finished
* ``P:res:<id>``     PNG bytes of the result; TTL ``result_ttl``
* ``P:queued`` / ``P:running``  sorted sets of job ids by schedule score (see SUBMIT)
* ``P:user:<uid>``   set of the user's queued or running jobs (the per-user cap)
* ``P:undelivered``  sorted set of jobs nobody has claimed for delivery yet
* ``P:arq``          arq's queue: a job leaves it only when a worker has finished it
* ``P:events`` / ``P:cancel``  pub/sub channels: job changes for followers, cancels for workers
* ``P:worker:<wid>`` hash with TTL - a live worker's capabilities and heartbeat
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any

import redis.asyncio as aioredis
from arq.constants import in_progress_key_prefix, job_key_prefix
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger(__name__)

ARQ_FUNCTION = "stylize"  # the one arq function; its only argument is the job id


def json_dumps(obj: Any) -> bytes:
    """arq's job serializer: plain JSON instead of its default pickle."""
    return json.dumps(obj, separators=(",", ":")).encode()


def connect(url: str, cls: type[aioredis.Redis] = aioredis.Redis) -> Any:
    """A client that rides out a Redis restart: commands retry with backoff for about 15 s.

    OSError is listed because a refused (re)connect surfaces as one, and redis-py retries
    connecting only on the Retry's own error list.
    """
    errors = (RedisConnectionError, RedisTimeoutError, OSError)
    return cls.from_url(
        url,
        retry=Retry(ExponentialBackoff(cap=2.0, base=0.05), retries=10, supported_errors=errors),
        retry_on_error=list(errors),
        health_check_interval=30,
    )


_NOW = "local t = redis.call('TIME') local now = t[1] * 1000 + math.floor(t[2] / 1000)\n"

# Start-time fair queueing. A job's round is max(virtual time, the user's next round); the
# virtual time is the lowest round queued or running, so a newcomer lines up with the current
# round instead of behind everybody's backlog, and a user with 3 queued jobs holds rounds
# r, r+1, r+2. Jobs run by (round, arrival): A A A B -> A B A A. The score packs both into a
# negative integer (always "due" for arq, exact in a double): round * 2^24 + seq - 2^52.
_ROUND = "local function round_of(score) return math.floor((tonumber(score) + 2^52) / 2^24) end\n"

SUBMIT = _NOW + _ROUND + """
-- ARGV: prefix id user per_user_limit max_queue input_ttl arq_queue arq_key arq_payload n fields.. inputs..
local p, id, user = ARGV[1], ARGV[2], ARGV[3]
local limit, maxq = tonumber(ARGV[4]), tonumber(ARGV[5])
local job, mine = p .. ':job:' .. id, p .. ':user:' .. user
if redis.call('EXISTS', job) == 1 then return 'ok' end -- a retried call whose reply was lost
if limit > 0 and redis.call('SCARD', mine) >= limit then return 'user_limit' end
local queued, running, vnext = p .. ':queued', p .. ':running', p .. ':vnext'
local depth = redis.call('ZCARD', queued) + redis.call('ZCARD', running)
if maxq > 0 and depth >= maxq then return 'queue_full' end
local vt = nil
for _, z in ipairs({queued, running}) do
  local head = redis.call('ZRANGE', z, 0, 0, 'WITHSCORES')
  if head[2] and (vt == nil or round_of(head[2]) < vt) then vt = round_of(head[2]) end
end
if vt == nil then redis.call('DEL', vnext) vt = 0 end -- idle: every backlog is served
local round = math.max(vt, tonumber(redis.call('HGET', vnext, user) or '0'))
redis.call('HSET', vnext, user, round + 1)
local seq = redis.call('INCR', p .. ':seq') % 2^24
local score = string.format('%.17g', round * 2^24 + seq - 2^52)
local n = tonumber(ARGV[10])
redis.call('HSET', job, 'state', 'queued', 'score', score, 'submitted_at', now, unpack(ARGV, 11, 10 + 2 * n))
redis.call('HSET', p .. ':in:' .. id, unpack(ARGV, 11 + 2 * n))
redis.call('EXPIRE', p .. ':in:' .. id, ARGV[6])
redis.call('ZADD', queued, score, id)
redis.call('ZADD', ARGV[7], score, id)
redis.call('SET', ARGV[8], ARGV[9])
redis.call('SADD', mine, id)
redis.call('ZADD', p .. ':undelivered', now, id)
redis.call('PUBLISH', p .. ':events', cjson.encode({id = id, k = 'state'}))
return 'ok'
"""

START = _NOW + """
-- ARGV: prefix id token worker in_progress_key lease_ms
local p, id = ARGV[1], ARGV[2]
local job = p .. ':job:' .. id
local state = redis.call('HGET', job, 'state')
if state ~= 'queued' and state ~= 'running' then return {'skip'} end
redis.call('ZREM', p .. ':queued', id)
redis.call('ZADD', p .. ':running', redis.call('HGET', job, 'score'), id)
redis.call('HSET', job, 'state', 'running', 'owner', ARGV[3], 'worker', ARGV[4], 'started_at', now,
           'step', 0, 'total', 0)
redis.call('HDEL', job, 'losses', 'preview')
local attempts = redis.call('HINCRBY', job, 'attempts', 1)
redis.call('SET', ARGV[5], '1', 'PX', ARGV[6])
redis.call('PUBLISH', p .. ':events', cjson.encode({id = id, k = 'state'}))
return {'run', attempts, now, redis.call('HGET', job, 'submitted_at')}
"""

# The owner's heartbeat: re-arms arq's in-progress key (our lease) and reads a pending cancel.
RENEW = """
-- ARGV: prefix id token in_progress_key lease_ms
local job = ARGV[1] .. ':job:' .. ARGV[2]
if redis.call('HGET', job, 'owner') ~= ARGV[3] or redis.call('HGET', job, 'state') ~= 'running' then
  return {0, ''}
end
redis.call('SET', ARGV[4], '1', 'PX', ARGV[5])
return {1, redis.call('HGET', job, 'cancel') or ''}
"""

PROGRESS = """
-- ARGV: prefix id token step total losses_json preview
local p, id = ARGV[1], ARGV[2]
local job = p .. ':job:' .. id
if redis.call('HGET', job, 'owner') ~= ARGV[3] or redis.call('HGET', job, 'state') ~= 'running' then return 0 end
redis.call('HSET', job, 'step', ARGV[4], 'total', ARGV[5], 'losses', ARGV[6])
if ARGV[7] ~= '' then redis.call('HSET', job, 'preview', ARGV[7]) end
redis.call('PUBLISH', p .. ':events', cjson.encode({id = id, k = 'progress'}))
return 1
"""

# Ends a job once: the owner's result (token given), or a cancel of a job no worker holds.
_END = """
local function finish(p, id, state, err, ttl, now)
  local job = p .. ':job:' .. id
  redis.call('HSET', job, 'state', state, 'error', err, 'finished_at', now)
  redis.call('HDEL', job, 'owner', 'preview')
  redis.call('EXPIRE', job, ttl)
  redis.call('DEL', p .. ':in:' .. id)
  redis.call('ZREM', p .. ':queued', id)
  redis.call('ZREM', p .. ':running', id)
  redis.call('SREM', p .. ':user:' .. redis.call('HGET', job, 'user'), id)
  redis.call('PUBLISH', p .. ':events', cjson.encode({id = id, k = 'state'}))
end
"""

FINISH = _NOW + _END + """
-- ARGV: prefix id token state error result_ttl report_json run_s png
local p, id = ARGV[1], ARGV[2]
local job = p .. ':job:' .. id
local state = redis.call('HGET', job, 'state')
if state ~= 'queued' and state ~= 'running' then return 'finished' end
if redis.call('HGET', job, 'owner') ~= ARGV[3] then return 'not_owner' end
if ARGV[7] ~= '' then redis.call('HSET', job, 'report', ARGV[7]) end
if ARGV[9] ~= '' then redis.call('SET', p .. ':res:' .. id, ARGV[9], 'EX', ARGV[6]) end
if ARGV[8] ~= '' then -- running average over the last ~10 jobs, for queue ETAs
  local stats = p .. ':stats'
  local n = redis.call('HINCRBY', stats, 'n', 1)
  local avg = tonumber(redis.call('HGET', stats, 'avg_run_s') or ARGV[8])
  redis.call('HSET', stats, 'avg_run_s', avg + (tonumber(ARGV[8]) - avg) / math.min(n, 10))
end
finish(p, id, ARGV[4], ARGV[5], ARGV[6], now)
return 'ok'
"""

CANCEL = _NOW + _END + """
-- ARGV: prefix id reason result_ttl arq_queue arq_key in_progress_key
local p, id = ARGV[1], ARGV[2]
local job = p .. ':job:' .. id
local state = redis.call('HGET', job, 'state')
if state ~= 'queued' and state ~= 'running' then return 0 end
if state == 'running' and redis.call('EXISTS', ARGV[7]) == 1 then
  redis.call('HSET', job, 'cancel', ARGV[3]) -- a live worker holds it: it stops at its next step
  redis.call('PUBLISH', p .. ':cancel', cjson.encode({id = id, reason = ARGV[3]}))
  return 2
end
redis.call('ZREM', ARGV[5], id) -- queued, or orphaned by a dead worker: nobody runs it, drop it
redis.call('DEL', ARGV[6])
finish(p, id, 'cancelled', ARGV[3], ARGV[4], now)
return 1
"""

# Graceful shutdown: the job goes back in line with its old score (first in line again).
HAND_BACK = """
-- ARGV: prefix id token
local p, id = ARGV[1], ARGV[2]
local job = p .. ':job:' .. id
if redis.call('HGET', job, 'owner') ~= ARGV[3] or redis.call('HGET', job, 'state') ~= 'running' then return 0 end
redis.call('ZREM', p .. ':running', id)
redis.call('ZADD', p .. ':queued', redis.call('HGET', job, 'score'), id)
redis.call('HSET', job, 'state', 'queued', 'step', 0, 'total', 0)
redis.call('HDEL', job, 'owner', 'worker', 'started_at', 'losses', 'preview')
redis.call('HINCRBY', job, 'attempts', -1)
redis.call('PUBLISH', p .. ':events', cjson.encode({id = id, k = 'state'}))
return 1
"""

# Exactly one reply: the first claimer's token wins; a retried call with the same token still wins.
CLAIM = """
-- ARGV: prefix id token
local job = ARGV[1] .. ':job:' .. ARGV[2]
if redis.call('EXISTS', job) == 0 then return 0 end
redis.call('HSETNX', job, 'delivered', ARGV[3])
if redis.call('HGET', job, 'delivered') ~= ARGV[3] then return 0 end
redis.call('ZREM', ARGV[1] .. ':undelivered', ARGV[2])
return 1
"""


class JobStore:
    """Named keys and scripts of one queue; every method is one round trip (or one script)."""

    def __init__(self, redis: aioredis.Redis, name: str):
        self.redis, self.name = redis, name
        self.arq_queue = f"{name}:arq"
        self.events, self.cancels = f"{name}:events", f"{name}:cancel"
        self.queued, self.running = f"{name}:queued", f"{name}:running"
        self.undelivered, self.stats, self.workers = f"{name}:undelivered", f"{name}:stats", f"{name}:workers"
        scripts = {"SUBMIT": SUBMIT, "START": START, "RENEW": RENEW, "PROGRESS": PROGRESS, "FINISH": FINISH,
                   "CANCEL": CANCEL, "HAND_BACK": HAND_BACK, "CLAIM": CLAIM}
        self._scripts = {name: redis.register_script(lua) for name, lua in scripts.items()}

    def job(self, job_id: str) -> str:
        return f"{self.name}:job:{job_id}"

    def inputs(self, job_id: str) -> str:
        return f"{self.name}:in:{job_id}"

    def result(self, job_id: str) -> str:
        return f"{self.name}:res:{job_id}"

    def worker(self, worker_id: str) -> str:
        return f"{self.name}:worker:{worker_id}"

    async def call(self, script: str, job_id: str, *args: Any) -> Any:
        return await self._scripts[script](args=[self.name, job_id, *args])

    # -- the bot's side ------------------------------------------------------------------

    async def submit(self, job_id: str, user: str, per_user_limit: int, max_queue: int, input_ttl_s: int,
                     arq_payload: bytes, fields: dict[str, str], inputs: dict[str, bytes]) -> str:
        flat = [x for kv in fields.items() for x in kv]
        flat_inputs = [x for kv in inputs.items() for x in kv]
        res = await self.call("SUBMIT", job_id, user, per_user_limit, max_queue, input_ttl_s, self.arq_queue,
                              job_key_prefix + job_id, arq_payload, len(fields), *flat, *flat_inputs)
        return res.decode()

    async def cancel(self, job_id: str, reason: str, result_ttl_s: int) -> int:
        return int(await self.call("CANCEL", job_id, reason, result_ttl_s, self.arq_queue,
                                   job_key_prefix + job_id, in_progress_key_prefix + job_id))

    async def claim(self, job_id: str, token: str) -> bool:
        return bool(await self.call("CLAIM", job_id, token))

    async def depth(self) -> int:
        """Jobs queued or running."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zcard(self.queued).zcard(self.running)
            queued, running = await pipe.execute()
        return queued + running

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

    async def start(self, job_id: str, token: str, worker_id: str, lease_ms: int) -> list[Any] | None:
        """Take the job: [attempts, now_ms, submitted_at_ms], or None if it is finished or gone."""
        res = await self.call("START", job_id, token, worker_id, in_progress_key_prefix + job_id, lease_ms)
        return None if res[0] == b"skip" else [int(x) for x in res[1:]]

    async def renew(self, job_id: str, token: str, lease_ms: int) -> tuple[bool, str]:
        """(still the owner, pending cancel reason or '')."""
        owned, reason = await self.call("RENEW", job_id, token, in_progress_key_prefix + job_id, lease_ms)
        return bool(owned), reason.decode()

    async def progress(self, job_id: str, token: str, step: int, total: int, losses: dict[str, float],
                       preview: bytes | None) -> bool:
        return bool(await self.call("PROGRESS", job_id, token, step, total, json.dumps(losses), preview or b""))

    async def finish(self, job_id: str, token: str, state: str, error: str, result_ttl_s: int,
                     report: dict[str, Any] | None = None, run_s: float | None = None, png: bytes = b"") -> str:
        res = await self.call("FINISH", job_id, token, state, error, result_ttl_s,
                              json.dumps(report) if report is not None else "",
                              "" if run_s is None else f"{run_s:.3f}", png)
        return res.decode()

    async def hand_back(self, job_id: str, token: str) -> bool:
        return bool(await self.call("HAND_BACK", job_id, token))


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

"""What the Redis queue promises when things go wrong: two real workers, a real redis-server.

No job is lost when a worker dies or Redis restarts, a bot restart finds its jobs again,
exactly one process replies, and users take turns across all workers.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap

from engine.jobs import JobState
from engine.jobs.redis.queue import RedisJobHandle, RedisJobQueue
from engine.ops import health
from engine.texts import english
from tests.support.redis import (
    LONG,
    MEDIUM,
    ROOT,
    QueueMaker,
    RedisServer,
    WorkerPool,
    spec,
    wait_running,
    wait_until,
)


async def worker_running(q: RedisJobQueue, h: RedisJobHandle) -> str:
    """The id of the worker that runs ``h`` (from its advertisement in Redis)."""

    async def find() -> str | None:
        return next((w["id"] for w in await q.workers() if h.job_id in w["running"].split(",")), None)

    return await wait_until(find, 10, f"a worker to advertise job {h.job_id}")


async def test_workers_advertise_their_capabilities(workers: WorkerPool, make_queue: QueueMaker) -> None:
    q = await make_queue()
    live = await q.workers()
    assert {int(w["pid"]) for w in live} == {p.pid for p in workers.procs}
    assert all((w["device"], w["max_pixels"], w["concurrency"]) == ("cpu", "9216", "1") for w in live)
    for p in workers.procs:  # what the container healthcheck asks: /metrics answers with a fresh heartbeat
        assert await asyncio.to_thread(health.check, workers.metrics_ports[p.pid]) is None


async def test_users_take_turns_across_all_workers(workers: WorkerPool, make_queue: QueueMaker) -> None:
    q = await make_queue(per_user_limit=5, max_queue=20)
    await (await q.submit(spec(50))).result()  # so the queue knows how long a job takes (ETAs)
    blockers = [await q.submit(spec(900 + i, LONG)) for i in range(workers.size)]
    for b in blockers:
        await wait_running(b)
    jobs = {("A", i): await q.submit(spec(1)) for i in range(3)}
    jobs |= {("B", i): await q.submit(spec(2)) for i in range(2)}
    jobs[("C", 0)] = await q.submit(spec(3))
    statuses = [await h.status() for h in jobs.values()]
    etas = [st.eta_s for st in sorted(statuses, key=lambda st: st.position)]
    assert all(e is not None and e > 0 for e in etas) and etas == sorted(etas)
    for b in blockers:
        await b.cancel()
    reports = {key: (await h.result()).report.figures["worker"] for key, h in jobs.items()}
    # Round r of every user starts before round r+1 of anybody: A0 B0 C0 | A1 B1 | A2.
    # (100 ms of slack: two workers picking at once may record their starts in either order.)
    for (_, r), rep in reports.items():
        earlier = [o["started_at_ms"] for (_, r2), o in reports.items() if r2 < r]
        assert all(rep["started_at_ms"] >= t - 100 for t in earlier), reports


async def test_a_cancel_from_another_process_stops_the_worker(workers: WorkerPool, make_queue: QueueMaker,
                                                              redis_server: RedisServer) -> None:
    q = await make_queue()
    h = await q.submit(spec(1, LONG))
    await wait_running(h)
    # Another bot process, started from scratch: it must not need torch to follow or cancel a job.
    script = textwrap.dedent(f"""
        import asyncio, sys
        from engine.jobs.redis.queue import RedisJobQueue
        from engine.jobs.settings import QueueSettings
        async def main():
            q = RedisJobQueue({redis_server.url!r}, QueueSettings(queue_name={q.settings.queue_name!r}))
            await q.start()
            h = await q.get({h.job_id!r})
            print(await h.cancel("an admin stopped it"), "torch" in sys.modules)
            await q.close()
        asyncio.run(main())
    """)
    out = await asyncio.to_thread(subprocess.run, [sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                                  text=True, timeout=60, check=False, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.stdout.split() == ["True", "False"], out.stderr
    seen = [st async for st in h.updates()]
    assert (seen[-1].state, english(seen[-1].error)) == (JobState.CANCELLED, "an admin stopped it")
    await wait_until(lambda: _none_running(q), 10, "the worker to let go of the job")


async def _none_running(q: RedisJobQueue) -> bool:
    return all(w["running"] == "" for w in await q.workers())


async def test_a_killed_workers_job_completes_elsewhere_and_is_delivered_once(
        workers: WorkerPool, make_queue: QueueMaker) -> None:
    q, other_bot = await make_queue(), await make_queue()
    h = await q.submit(spec(1, MEDIUM))
    await wait_running(h, min_step=2)
    victim = await worker_running(q, h)
    workers.proc_of(victim).send_signal(signal.SIGKILL)
    workers.proc_of(victim).wait()
    workers.top_up()  # its replacement boots meanwhile; the job must not wait for it
    result = await asyncio.wait_for(h.result(), 60)
    assert result.report.figures["worker"]["id"] != victim
    assert result.report.figures["worker"]["attempt"] == 2
    twin = await other_bot.get(h.job_id)
    assert twin is not None
    claims = await asyncio.gather(h.claim_delivery(), twin.claim_delivery())
    assert sorted(claims) == [False, True]
    # Its heartbeat stops, so it drops out of the live workers within a few seconds.
    await wait_until(lambda: _gone(q, victim), 10, "the killed worker to drop out")


async def _gone(q: RedisJobQueue, worker_id: str) -> bool:
    return worker_id not in {w["id"] for w in await q.workers()}


async def test_sigterm_hands_the_running_job_back(workers: WorkerPool, make_queue: QueueMaker) -> None:
    q = await make_queue()
    h = await q.submit(spec(1, {**MEDIUM, "steps": 80}))  # far longer than the workers' 1 s of grace
    await wait_running(h, min_step=2)
    leaving = await worker_running(q, h)
    proc = workers.proc_of(leaving)
    proc.send_signal(signal.SIGTERM)
    assert await asyncio.to_thread(proc.wait, 20) == 0
    result = await asyncio.wait_for(h.result(), 60)
    assert result.report.figures["worker"]["id"] != leaving
    assert result.report.figures["worker"]["attempt"] == 1  # handed back, not counted as a crash
    assert await _gone(q, leaving)  # it unregistered itself on the way out


async def test_a_restarted_bot_finds_its_jobs_and_replies_once(workers: WorkerPool, make_queue: QueueMaker) -> None:
    before = await make_queue()
    running = await before.submit(spec(1, MEDIUM, meta={"channel": 42}))
    finished = await before.submit(spec(2))
    await wait_running(running)
    await before.close()  # the bot goes down mid-job

    after = await make_queue()  # ... and comes back
    pending = {h.job_id: h for h in await after.undelivered()}
    assert {running.job_id, finished.job_id} <= set(pending)
    assert pending[running.job_id].meta == {"channel": 42}
    for job_id in (running.job_id, finished.job_id):
        h = pending[job_id]
        result = await asyncio.wait_for(h.result(), 60)
        assert result.image.startswith(b"\x89PNG")
        assert result.report.figures["worker"]["attempt"] == 1  # the bot restart did not re-run anything
        assert await h.claim_delivery() is True

    third = await make_queue()  # a second restart: nothing left to deliver, nobody replies twice
    assert not {running.job_id, finished.job_id} & {h.job_id for h in await third.undelivered()}
    again = await third.get(running.job_id)
    assert again is not None and await again.claim_delivery() is False


async def test_queued_jobs_survive_a_redis_restart(workers: WorkerPool, make_queue: QueueMaker,
                                                   redis_server: RedisServer) -> None:
    q = await make_queue()
    handles = [await q.submit(spec(user, MEDIUM)) for user in range(1, 5)]
    await wait_running(handles[0])
    queued = [h for h in handles if (await h.status()).state is JobState.QUEUED]
    assert queued, "every job started already; nothing was left in the queue to survive the restart"
    pids = {p.pid for p in workers.alive()}

    await asyncio.to_thread(redis_server.restart)

    results = await asyncio.wait_for(asyncio.gather(*(h.result() for h in handles)), 120)
    assert all(r.image.startswith(b"\x89PNG") for r in results)
    assert {p.pid for p in workers.alive()} == pids, f"a worker died with Redis:\n{workers.logs()}"


def test_a_worker_that_cannot_start_says_why_and_stops(redis_server: RedisServer) -> None:
    """A device this machine lacks fails the warm-up; the worker exits with that reason, not a shutdown error
    on top of it. (cuda:99: no CUDA here, or not that many GPUs on a GPU host.)"""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "engine.worker", "--redis-url", redis_server.url, "--queue-name", "no-start",
         "--device", "cuda:99"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode != 0
    assert "ParamError: device `cuda" in done.stderr and "was asked for but" in done.stderr
    assert "AttributeError" not in done.stderr and "stopped after 0 jobs" in done.stderr

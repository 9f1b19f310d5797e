"""Submitting to the Redis queue: caps that hold across bot processes, and failures users can read."""

from __future__ import annotations

import asyncio

import pytest

from engine.errors import JobFailed, QueueFull, UserLimitReached
from engine.jobs import JobHandle, JobState
from engine.jobs.redis.queue import RedisJobQueue
from engine.texts import english
from tests.support.queues import queue_settings
from tests.support.redis import TINY, QueueMaker, RedisServer, WorkerPool, spec

NO_WORKERS = "scaleout-idle"  # no worker serves this queue, so everything submitted stays queued


async def test_caps_hold_when_two_bot_processes_submit_at_once(make_queue: QueueMaker) -> None:
    bots = [await make_queue(NO_WORKERS, per_user_limit=3, max_queue=5) for _ in range(2)]
    same_user = await asyncio.gather(*(bots[i % 2].submit(spec(7)) for i in range(10)), return_exceptions=True)
    accepted = [r for r in same_user if isinstance(r, JobHandle)]
    assert len(accepted) == 3
    assert all(isinstance(r, UserLimitReached) for r in same_user if r not in accepted)

    others = await asyncio.gather(*(bots[i % 2].submit(spec(100 + i)) for i in range(6)), return_exceptions=True)
    assert len([r for r in others if isinstance(r, JobHandle)]) == 2  # 5 in all
    assert all(isinstance(r, QueueFull) for r in others if not isinstance(r, JobHandle))
    assert await bots[0].depth() == await bots[1].depth() == 5

    assert await accepted[0].cancel()  # a cancel in one process frees the slot for the other
    await bots[1].submit(spec(7))


async def test_a_queued_job_knows_its_position_from_any_process(make_queue: QueueMaker) -> None:
    a, b = await make_queue(NO_WORKERS), await make_queue(NO_WORKERS)
    first = await a.submit(spec(1))
    second = await b.submit(spec(2))
    seen_from_a = await a.get(second.job_id)
    assert seen_from_a is not None
    assert ((await seen_from_a.status()).position, (await first.status()).position) == (1, 0)
    assert await first.cancel()
    assert (await seen_from_a.status()).position == 0


async def test_a_starting_queue_lets_its_screen_cancel_a_job_it_finds_left(make_queue: QueueMaker,
                                                                          redis_server: RedisServer) -> None:
    before = await make_queue(NO_WORKERS)
    left = await before.submit(spec(3))
    await before.close()  # the bot goes down; its job waits in Redis
    after = RedisJobQueue(redis_server.url, queue_settings(queue_name=NO_WORKERS))
    seen: list[str] = []

    async def screen() -> None:
        for h in await after.undelivered():
            seen.append(h.job_id)
            if h.job_id == left.job_id:
                assert await h.cancel("nobody to tell")

    await after.start(screen)
    try:
        assert left.job_id in seen
        found = await after.get(left.job_id)
        assert found is not None
        status = await found.status()
        assert (status.state, english(status.error)) == (JobState.CANCELLED, "nobody to tell")
    finally:
        await after.close()


async def test_a_job_larger_than_the_worker_allows_fails_with_the_limit(workers: WorkerPool,
                                                                       make_queue: QueueMaker) -> None:
    q = await make_queue()
    h = await q.submit(spec(1, options={**TINY, "size": 128}))  # the test workers take up to 96 x 96
    with pytest.raises(JobFailed, match=r"size 128 is larger than this worker allows \(96 px\)"):
        await asyncio.wait_for(h.result(), 30)
    assert (await h.status()).state is JobState.FAILED

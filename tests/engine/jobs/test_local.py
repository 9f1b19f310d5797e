"""The in-process queue, with the real engine at tiny sizes."""

import asyncio

import pytest
from PIL import Image

from engine.errors import JobCancelled, JobFailed, ParamError, QueueFull, UserLimitReached
from engine.jobs import JobSpec, JobState
from engine.jobs.local import LocalJobQueue
from tests.conftest import png_bytes

TINY = {"size": 32, "steps": 3, "coarse_steps": 1}
RED, BLUE = png_bytes(Image.new("RGB", (40, 30), "red")), png_bytes(Image.new("RGB", (40, 30), "blue"))


def spec(user: int, **options) -> JobSpec:
    return JobSpec(RED, (BLUE,), {**TINY, **options}, user_id=user)


@pytest.fixture
async def queue():
    q = LocalJobQueue(per_user_limit=3, max_queue=5, preview_every=1)
    await q.start()
    yield q
    await q.close()


async def test_job_reports_progress_and_returns_a_png(queue):
    handle = await queue.submit(spec(1))
    states = [s async for s in handle.updates()]
    assert states[-1].state is JobState.DONE
    assert any(s.state is JobState.RUNNING and s.step > 0 and s.preview for s in states)
    result = await handle.result()
    assert result.image[:8] == b"\x89PNG\r\n\x1a\n" and result.report["steps"] == 4


async def test_users_are_served_round_robin(queue):
    flood = [await queue.submit(spec(1)) for _ in range(3)]
    other = await queue.submit(spec(2))
    assert [(await h.status()).position for h in (*flood, other)] == [0, 2, 3, 1]
    await asyncio.gather(*(h.result() for h in (*flood, other)))
    started = sorted((*flood, other), key=lambda h: h.started_at)
    assert started.index(other) == 1


async def test_a_newcomer_goes_before_the_rest_of_a_user_whose_job_is_running(queue):
    first = await queue.submit(spec(1, steps=30, size=64))
    async for status in first.updates():
        if status.state is JobState.RUNNING:
            break
    more = [await queue.submit(spec(1)) for _ in range(2)]
    newcomer = await queue.submit(spec(2))
    assert [(await h.status()).position for h in (*more, newcomer)] == [1, 2, 0]
    await asyncio.gather(*(h.result() for h in (first, *more, newcomer)))
    assert sorted((first, *more, newcomer), key=lambda h: h.started_at).index(newcomer) == 1


async def test_per_user_and_global_caps_refuse_before_queueing(queue):
    for _ in range(3):
        await queue.submit(spec(1))
    with pytest.raises(UserLimitReached, match="3 jobs"):
        await queue.submit(spec(1))
    await queue.submit(spec(2))
    await queue.submit(spec(3))
    with pytest.raises(QueueFull, match="full"):
        await queue.submit(spec(4))
    assert await queue.depth() == 5


async def test_bad_options_fail_at_submit(queue):
    with pytest.raises(ParamError, match="unknown preset"):
        await queue.submit(spec(1, preset="nope"))
    assert await queue.depth() == 0


async def test_cancel_a_queued_and_a_running_job(queue):
    running = await queue.submit(spec(1, steps=2000, size=64))
    queued = await queue.submit(spec(2))
    async for status in running.updates():
        if status.step >= 2:
            break
    assert await queued.cancel("changed my mind")
    assert await running.cancel()
    with pytest.raises(JobCancelled):
        await running.result()
    with pytest.raises(JobCancelled, match="changed my mind"):
        await queued.result()
    assert (await queued.status()).state is JobState.CANCELLED
    assert not await queued.cancel()


async def test_bad_image_fails_with_the_input_message(queue):
    handle = await queue.submit(JobSpec(b"garbage", (BLUE,), TINY, user_id=1))
    with pytest.raises(JobFailed, match="not an image"):
        await handle.result()


async def test_time_limit_stops_the_job_and_says_so():
    q = LocalJobQueue(time_limit_s=0.5)
    await q.start()
    try:
        handle = await q.submit(spec(1, steps=5000, size=64))
        with pytest.raises(JobFailed, match="longer than"):
            await handle.result()
    finally:
        await q.close()


async def test_delivery_is_claimed_once(queue):
    handle = await queue.submit(spec(1))
    await handle.result()
    assert [await handle.claim_delivery(), await handle.claim_delivery()] == [True, False]
    assert handle not in await queue.undelivered()


async def test_close_cancels_waiting_jobs_with_a_reason():
    q = LocalJobQueue()
    await q.start()
    running = await q.submit(spec(1, steps=5000, size=64))
    waiting = await q.submit(spec(2))
    await q.close(drain_timeout=0.1)
    for handle in (running, waiting):
        with pytest.raises(JobCancelled, match="shutting down"):
            await handle.result()
    with pytest.raises(QueueFull, match="shutting down"):
        await q.submit(spec(3))

"""Behaviour every JobQueue owes the bot, whichever implementation is live.

Each test takes ``queue_factory``: a way to make started queues (think: bot processes; a new
one after ``close`` is a restarted bot), how many jobs run at once (``slots``), so a test can
occupy every worker before it looks at the queue, and a queue whose jobs run on an engine the
test hands in (for faults a CPU cannot produce). Add an implementation by adding a param to
``queue_factory``. The Redis cases use a real redis-server and real worker processes.
"""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from engine.errors import InputError, JobCancelled, JobFailed, ParamError, QueueFull, UserLimitReached
from engine.jobs import JobHandle, JobQueue, JobState, Kind
from engine.jobs.contract import ETA_WINDOW, average_run_s
from engine.jobs.local import LocalJobQueue
from engine.jobs.paint import UPSCALE_STEPS
from engine.jobs.timing import predict_job
from engine.nst.images import decode_image
from engine.texts import english
from engine.tiles import crop
from tests.support.engines import OutOfMemoryAbove, Paced
from tests.support.images import noise_image, png_bytes
from tests.support.queues import queue_settings, runner_settings
from tests.support.redis import LONG, MEDIUM, TINY, depth_is, spec, wait_running, wait_until


@dataclass
class QueueKit:
    make: Callable[..., Awaitable[JobQueue]]  # make(per_user_limit=..., max_queue=...) -> started queue
    slots: int  # jobs that run at the same time
    # a started queue on one slot of its own, whose jobs run on this stylizer, up to max_batch at once
    with_engine: Callable[..., Awaitable[JobQueue]]


@pytest.fixture
async def local_queues() -> AsyncIterator[list[LocalJobQueue]]:
    queues: list[LocalJobQueue] = []
    yield queues
    for q in queues:
        await q.close()


@pytest.fixture(params=["redis", "local"])
def queue_factory(request: pytest.FixtureRequest, tmp_path: Path) -> QueueKit:
    if request.param == "redis":
        pool = request.getfixturevalue("workers")
        make_queue = request.getfixturevalue("make_queue")
        start_worker = request.getfixturevalue("inprocess_worker")

        async def redis_with_engine(stylizer: Any = None, max_batch: int = 1, **queue_options: Any) -> JobQueue:
            name = f"contract-engine-{time.monotonic_ns()}"
            await start_worker(name, stylizer=stylizer, max_batch=max_batch)
            return await make_queue(name, **queue_options)

        return QueueKit(make_queue, slots=pool.size, with_engine=redis_with_engine)
    queues = request.getfixturevalue("local_queues")

    async def make_local(stylizer: Any = None, max_batch: int = 1, preview_every: int = 0, **settings: Any) -> JobQueue:
        q = LocalJobQueue(queue_settings(**settings), runner_settings(max_batch=max_batch), workers=1,
                          database_path=str(tmp_path / "stylebot.sqlite3"), stylizer=stylizer,
                          preview_every=preview_every)
        await q.start()
        queues.append(q)
        return q

    return QueueKit(make_local, slots=1, with_engine=make_local)


async def occupy(q: JobQueue, slots: int) -> list[JobHandle]:
    """Long jobs of their own users on every slot, all running: whatever comes next waits."""
    blockers = [await q.submit(spec(900 + i, LONG)) for i in range(slots)]
    for b in blockers:
        await wait_running(b)
    return blockers


async def test_a_job_reports_progress_and_ends_with_a_png(queue_factory: QueueKit) -> None:
    # progress is published at a bounded rate: a paced engine makes the job outlast a few ticks on any CPU
    q = await queue_factory.with_engine(Paced(), preview_every=2)
    h = await q.submit(spec(1, {**TINY, "steps": 40}, meta={"channel": 5}))
    seen = [st async for st in h.updates()]
    order = [JobState.QUEUED, JobState.RUNNING, JobState.DONE]
    assert [s.state for s in seen] == sorted((s.state for s in seen), key=order.index)
    assert seen[-1].state is JobState.DONE
    running = [s for s in seen if s.state is JobState.RUNNING and s.step > 0]
    assert running, f"no progress was reported: {seen}"
    assert all(s.total == 40 and "total" in s.losses for s in running)
    assert [s.step for s in running] == sorted(s.step for s in running)
    assert any(s.preview and s.preview.startswith(b"\xff\xd8") for s in running)  # small JPEGs
    assert seen[-1].preview is None
    result = await h.result()
    assert result.image.startswith(b"\x89PNG")
    assert result.report.steps == 40
    assert h.meta == {"channel": 5}


async def test_an_animation_reports_which_frame_it_paints_and_ends_as_an_animation(queue_factory: QueueKit) -> None:
    from engine.demo import gif_bytes, moving_scene
    from engine.nst.media import decode_clip

    q = await queue_factory.with_engine(Paced())
    gif = gif_bytes(moving_scene(3, 40, 30))
    h = await q.submit(spec(1, {**TINY, "frame_steps": 12}, content=gif))  # paced: long enough to publish progress
    seen = [st async for st in h.updates()]
    running = [s for s in seen if s.state is JobState.RUNNING and s.step > 0]
    assert running and all(s.frames == 3 and 1 <= s.frame <= 3 and s.total == 3 + 2 * 12 for s in running)
    assert [s.frame for s in running] == sorted(s.frame for s in running)
    result = await h.result()
    assert len(decode_clip(result.image).frames) == 3 and result.report.animation.frames == 3 and result.report.kind is Kind.ANIMATION


async def test_bad_options_are_refused_before_anything_is_queued(queue_factory: QueueKit) -> None:
    q = await queue_factory.make()
    with pytest.raises(ParamError, match="size"):
        await q.submit(spec(1, {"size": 5}))
    with pytest.raises(ParamError, match="unknown option"):
        await q.submit(spec(1, {"colour": "blue"}))
    with pytest.raises(ParamError, match="unknown preset"):
        await q.submit(spec(1, {"preset": "nope"}))
    assert await q.depth() == 0
    assert await q.undelivered() == []


async def test_cancelling_a_queued_job_removes_it(queue_factory: QueueKit) -> None:
    q = await queue_factory.make()
    blockers = await occupy(q, queue_factory.slots)
    h = await q.submit(spec(1))
    assert (await h.status()).position == 0
    assert await q.depth() == queue_factory.slots + 1
    assert await h.cancel("changed my mind") is True
    st = await h.status()
    assert (st.state, english(st.error)) == (JobState.CANCELLED, "changed my mind")
    with pytest.raises(JobCancelled, match="changed my mind"):
        await h.result()
    assert await q.depth() == queue_factory.slots
    assert await h.cancel() is False
    for b in blockers:
        assert (await b.status()).state is JobState.RUNNING
        await b.cancel()


async def test_cancelling_a_running_job_stops_it_at_the_next_step(queue_factory: QueueKit) -> None:
    q = await queue_factory.make()
    h = await q.submit(spec(1, LONG))
    await wait_running(h)
    t0 = time.monotonic()
    assert await h.cancel("stop please") is True
    with pytest.raises(JobCancelled, match="stop please"):
        await asyncio.wait_for(h.result(), 20)
    assert time.monotonic() - t0 < 10
    assert (await h.status()).state is JobState.CANCELLED
    assert await h.cancel() is False
    await wait_until(lambda: depth_is(q, 0), 10, "the queue to empty")


async def test_a_job_over_its_time_limit_fails_with_the_reason(queue_factory: QueueKit) -> None:
    q = await queue_factory.make()
    h = await q.submit(spec(1, LONG, time_limit_s=1.0))
    with pytest.raises(JobFailed, match="took longer than 1 s"):
        await asyncio.wait_for(h.result(), 30)
    assert (await h.status()).state is JobState.FAILED


async def test_the_queues_time_limit_stops_jobs_that_set_none(queue_factory: QueueKit) -> None:
    q = await queue_factory.make(job_time_limit_s=2.0)  # JOB_TIME_LIMIT_S
    h = await q.submit(spec(1, LONG))
    with pytest.raises(JobFailed, match="took longer than 2 s"):
        await asyncio.wait_for(h.result(), 30)


async def test_an_unreadable_image_fails_with_the_decoders_message(queue_factory: QueueKit) -> None:
    q = await queue_factory.make()
    h = await q.submit(spec(1, content=b"this is not an image"))
    with pytest.raises(InputError) as expected:
        decode_image(b"this is not an image")
    with pytest.raises(JobFailed) as failed:
        await asyncio.wait_for(h.result(), 30)
    assert str(failed.value) == str(expected.value)
    assert (await h.status()).error == expected.value.message == failed.value.message  # the key crosses


async def test_etas_assume_the_mean_run_time_of_the_last_finished_jobs(queue_factory: QueueKit) -> None:
    q = await queue_factory.with_engine()  # one slot
    blocker = await q.submit(spec(90, LONG))
    await wait_running(blocker)
    first = await q.submit(spec(1))
    calibrated = (await q.predictor())(1.0) is not None  # Redis: the workers' warm-up calibrated the time model
    assert ((await first.status()).eta_s is None) != calibrated  # nothing has finished yet: no guess but the model's
    await first.cancel()
    await blocker.cancel()
    low, high = [], []  # bounds of each job's recorded run time: its engine time, and submit-to-result
    for user, options in ((2, TINY), (3, MEDIUM)):
        t0 = time.monotonic()
        result = await asyncio.wait_for((await q.submit(spec(user, options))).result(), 60)
        high.append(time.monotonic() - t0)
        low.append(result.report.seconds)
    assert high[0] < low[1]  # the rule can be told apart from "the last job" (and from an EWMA)
    blocker = await q.submit(spec(91, LONG))
    await wait_running(blocker)
    own = predict_job(await q.predictor(), spec(4))  # this job's own time where the queue has a time model
    st = await (await q.submit(spec(4))).status()
    assert st.position == 0 and st.eta_s is not None
    # next in line, the one slot busy: the job ahead at the mean, then this one (at the mean, or its prediction)
    mean = st.eta_s - own if own is not None else st.eta_s / 2
    assert sum(low) / 2 - 0.05 <= mean <= sum(high) / 2 + 0.05, (mean, low, high)


async def test_per_user_and_global_caps(queue_factory: QueueKit) -> None:
    q = await queue_factory.make(per_user_limit=2, max_queue=3)
    first = await q.submit(spec(1, LONG))
    await q.submit(spec(1, LONG))
    with pytest.raises(UserLimitReached, match="you already have 2 jobs in the queue"):
        await q.submit(spec(1))
    await q.submit(spec(2, LONG))
    with pytest.raises(QueueFull, match=r"the queue is full \(3 jobs\)"):
        await q.submit(spec(3))
    assert await q.depth() == 3
    await first.cancel()
    with pytest.raises(JobCancelled):
        await asyncio.wait_for(first.result(), 20)
    await q.submit(spec(1, LONG))  # a slot of user 1 is free again
    assert await q.depth() == 3


async def test_users_take_turns_instead_of_first_come_first_served(queue_factory: QueueKit) -> None:
    q = await queue_factory.make(per_user_limit=5, max_queue=20)
    blockers = await occupy(q, queue_factory.slots)
    a = [await q.submit(spec(1)) for _ in range(3)]
    b = await q.submit(spec(2))
    positions = [(await h.status()).position for h in (a[0], b, a[1], a[2])]
    assert positions == [0, 1, 2, 3]  # B's only job runs second, not fourth
    for h in blockers:
        await h.cancel()


async def test_claim_delivery_is_true_exactly_once(queue_factory: QueueKit) -> None:
    q = await queue_factory.make()
    h = await q.submit(spec(1))
    await h.result()
    again = await q.get(h.job_id)
    assert again is not None
    claims = await asyncio.gather(*(x.claim_delivery() for x in (h, again, h, again)))
    assert sorted(claims) == [False, False, False, True]
    assert await h.claim_delivery() is False


async def test_undelivered_lists_jobs_until_they_are_claimed(queue_factory: QueueKit) -> None:
    q = await queue_factory.make()
    h1 = await q.submit(spec(1))
    h2 = await q.submit(spec(2, guild_id=77, meta={"channel": 5, "message": 6}))
    assert {h1.job_id, h2.job_id} <= {h.job_id for h in await q.undelivered()}
    await h1.result()
    assert await h1.claim_delivery()
    pending = {h.job_id: h for h in await q.undelivered()}
    assert h1.job_id not in pending
    found = pending[h2.job_id]
    assert (found.user_id, found.guild_id, found.meta) == (2, 77, {"channel": 5, "message": 6})
    await found.result()
    assert await found.claim_delivery()
    assert h2.job_id not in {h.job_id for h in await q.undelivered()}


async def test_a_restarted_bot_answers_for_what_it_left_running_or_finished(queue_factory: QueueKit) -> None:
    q = await queue_factory.make()
    finished = await q.submit(spec(1))
    png = (await asyncio.wait_for(finished.result(), 30)).image
    running = await q.submit(spec(2, MEDIUM))
    await wait_running(running)
    await q.close()  # the bot goes away with one job unanswered and one running

    again = await queue_factory.make()
    found = {h.job_id: h for h in await again.undelivered()}
    assert {finished.job_id, running.job_id} <= set(found)
    assert (await found[finished.job_id].result()).image == png
    resumed = await asyncio.wait_for(found[running.job_id].result(), 60)
    assert resumed.image.startswith(b"\x89PNG") and resumed.report.steps == MEDIUM["steps"]
    for job_id in (finished.job_id, running.job_id):
        assert [await found[job_id].claim_delivery(), await found[job_id].claim_delivery()] == [True, False]


async def test_out_of_memory_is_retried_once_at_a_smaller_size(queue_factory: QueueKit) -> None:
    q = await queue_factory.with_engine(OutOfMemoryAbove(40))
    h = await q.submit(spec(1, {**TINY, "size": 48}))
    result = await asyncio.wait_for(h.result(), 60)
    assert result.report.figures["oom_retry"] == {"from_size": 48, "to_size": 33}
    assert result.report.schedule == ((33, TINY["steps"]),)


async def test_out_of_memory_at_the_smaller_size_too_fails_with_the_reason(queue_factory: QueueKit) -> None:
    q = await queue_factory.with_engine(OutOfMemoryAbove(16))
    h = await q.submit(spec(1, {**TINY, "size": 48}))
    with pytest.raises(JobFailed) as failed:
        await asyncio.wait_for(h.result(), 60)
    assert str(failed.value) == "the GPU ran out of memory even at size 33; try a smaller size"
    assert (await h.status()).state is JobState.FAILED


async def test_waiting_jobs_of_one_shape_run_as_one_batch_each_with_its_own_result(queue_factory: QueueKit) -> None:
    q = await queue_factory.with_engine(max_batch=3)
    blocker = await q.submit(spec(90, LONG, content=png_bytes(noise_image(90, 40, 48))))  # another shape
    await wait_running(blocker)
    photos = [noise_image(i, 48, 40) for i in range(3)]
    same = [await q.submit(spec(i + 1, {**TINY, "style_weight": 100.0 * (i + 1)}, content=png_bytes(photos[i])))
            for i in range(3)]
    odd = await q.submit(spec(9, {**TINY, "steps": 4}))  # same shape, other schedule: not a batch mate
    assert await blocker.cancel()
    results = [await asyncio.wait_for(h.result(), 60) for h in same]
    assert [r.report.figures["batch"] for r in results] == [3, 3, 3]
    assert [r.report.params.style_weight for r in results] == [100.0, 200.0, 300.0]
    for i, result in enumerate(results):  # each result is its own photo's, painted
        image = np.asarray(Image.open(io.BytesIO(result.image)).convert("RGB").resize((48, 40)), float)
        gaps = [np.abs(image - np.asarray(photo, float)).mean() for photo in photos]
        assert int(np.argmin(gaps)) == i
    assert (await asyncio.wait_for(odd.result(), 60)).report.figures["batch"] == 1


async def test_an_upscale_starts_from_the_image_it_carries(queue_factory: QueueKit) -> None:
    q = await queue_factory.make()
    red = png_bytes(Image.new("RGB", (24, 18), (240, 20, 20)))  # not the photo (noise): a red start
    h = await q.submit(spec(1, {"size": 48, "steps": 2, "levels": 3}, start_image=red))
    result = await asyncio.wait_for(h.result(), 60)
    assert result.report.kind is Kind.UPSCALE and result.report.upscaled_from == (24, 18)
    assert result.report.schedule == ((48, round(2 * UPSCALE_STEPS)),)  # one rung, fewer steps
    assert result.report.params.levels == 3  # the job's own params, for later reruns
    pixels = np.asarray(Image.open(io.BytesIO(result.image)).convert("RGB"), dtype=float)
    # L-BFGS's first step is tiny: after it, the image is still the red start (a job from the photo is noise)
    assert pixels[..., 0].mean() > 200 and pixels[..., 1:].mean() < 60


async def test_a_strength_grid_is_one_image_with_progress_across_its_cells(queue_factory: QueueKit) -> None:
    q = await queue_factory.with_engine(Paced(), preview_every=1)  # paced: outlasts a publish tick
    h = await q.submit(spec(1, {**TINY, "steps": 12, "style_weight": 300}, grid=(0.5, 2.0)))
    seen = [st async for st in h.updates()]
    totals = {s.total for s in seen if s.state is JobState.RUNNING and s.total}
    assert totals == {2 * 12}
    result = await h.result()
    assert result.report.kind is Kind.GRID
    assert result.report.factors == (0.5, 2.0) and result.report.steps == 2 * 12
    assert [loss["total"] > 0 for loss in result.report.figures["grid"]["final_loss"]] == [True, True]
    sheet = Image.open(io.BytesIO(result.image))
    cells = [crop(sheet, box) for box in result.report.boxes]
    assert cells[0].size == cells[1].size and max(cells[0].size) >= 32  # each cell at the job's size
    assert sheet.width > 2 * cells[0].width  # side by side, with room between


def test_the_eta_average_is_the_mean_of_the_last_finished_jobs() -> None:
    assert average_run_s([]) is None
    assert average_run_s([3.0, 1.0, 2.0]) == 2.0
    assert average_run_s([4.0] * ETA_WINDOW + [100.0]) == 4.0  # newest first: the oldest is forgotten

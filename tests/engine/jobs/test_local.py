"""What only the in-process queue does: its journal (restarts, crashes), and the fair order as jobs start.

The real engine at tiny sizes; what every queue owes the bot is in ``test_contract.py``, run on both.
"""

import asyncio
import sqlite3
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from PIL import Image

from engine.errors import JobCancelled, JobFailed, QueueFull
from engine.jobs import JobHandle, JobSpec, JobState
from engine.jobs.journal import SCHEMA, Journal, StoredJob
from engine.jobs.local import LocalJobQueue
from engine.jobs.local.fair import FairOrder
from engine.jobs.runtime import msg
from tests.support.engines import Recorded
from tests.support.images import png_bytes
from tests.support.queues import queue_settings, runner_settings

TINY = {"size": 32, "steps": 3, "coarse_steps": 1}
RED, BLUE = png_bytes(Image.new("RGB", (40, 30), "red")), png_bytes(Image.new("RGB", (40, 30), "blue"))


def spec(user: int, **options) -> JobSpec:
    return JobSpec(RED, (BLUE,), {**TINY, **options}, user_id=user)


@pytest.fixture
async def queue():
    q = LocalJobQueue(queue_settings(), runner_settings())
    await q.start()
    yield q
    await q.close()


async def start_order(handles: list[JobHandle]) -> list[JobHandle]:
    """The order in which the jobs left the queue (one worker: the order they ran in)."""
    order: list[JobHandle] = []

    async def watch(handle: JobHandle) -> None:
        async for status in handle.updates():
            if status.state is not JobState.QUEUED:
                order.append(handle)
                return

    await asyncio.gather(*(watch(h) for h in handles))
    return order


async def wait_step(handle: JobHandle, step: int = 1) -> None:
    async for status in handle.updates():
        assert not status.state.finished, status
        if status.state is JobState.RUNNING and status.step >= step:
            return


@dataclass
class Waiting:
    user_id: int
    round: int
    arrival: int


def test_users_take_turns_and_a_stopped_job_keeps_its_place() -> None:
    order: FairOrder[Waiting] = FairOrder()

    def submit(user: int) -> Waiting:
        job = Waiting(user, *order.place(user))
        order.add(job)
        return job

    a1, a2, a3, b1 = submit(1), submit(1), submit(1), submit(2)
    assert list(order) == [a1, b1, a2, a3]  # user 2's first job goes before user 1's second
    assert order.pop() is a1
    c1 = submit(3)  # a newcomer's first job goes before user 1's next ones, after user 2's
    assert list(order) == [b1, c1, a2, a3] and order.index(c1) == 1
    order.put_back(a1)  # stopped by a shutdown: first in line again
    assert [order.pop() for _ in range(len(order))] == [a1, b1, c1, a2, a3] and order.pop() is None


async def test_a_newcomer_goes_before_the_rest_of_a_user_whose_job_is_running(queue):
    first = await queue.submit(spec(1, steps=30, size=64))
    await wait_step(first, 0)
    more = [await queue.submit(spec(1)) for _ in range(2)]
    newcomer = await queue.submit(spec(2))
    assert [(await h.status()).position for h in (*more, newcomer)] == [1, 2, 0]
    assert (await start_order([*more, newcomer]))[0] is newcomer


async def test_a_restart_resumes_the_running_and_waiting_jobs_in_their_order(tmp_path: Path):
    db = str(tmp_path / "stylebot.sqlite3")
    q = LocalJobQueue(queue_settings(), runner_settings(), database_path=db)
    await q.start()
    running = await q.submit(spec(1, steps=5000, size=64))
    waiting = [await q.submit(spec(2)), await q.submit(spec(3))]
    await wait_step(running)
    await q.close(drain_timeout=0.1)
    with pytest.raises(QueueFull, match="shutting down"):
        await q.submit(spec(4))
    assert not (await running.status()).state.finished  # stopped, not cancelled: it is not over

    again = LocalJobQueue(queue_settings(), runner_settings(), database_path=db)
    await again.start()
    try:
        found = {h.job_id: h for h in await again.undelivered()}
        assert set(found) == {running.job_id, *(h.job_id for h in waiting)}
        resumed = found[running.job_id]
        assert (resumed.user_id, resumed.spec.options["steps"]) == (1, 5000)
        await wait_step(resumed)  # the interrupted job is first in line again
        assert [(await found[h.job_id].status()).position for h in waiting] == [0, 1]
        await resumed.cancel()
        for h in waiting:
            assert (await found[h.job_id].result()).image.startswith(b"\x89PNG")
    finally:
        await again.close()


async def test_a_finished_job_nobody_answered_for_is_answered_once_after_a_restart(tmp_path: Path):
    db = str(tmp_path / "stylebot.sqlite3")
    q = LocalJobQueue(queue_settings(), runner_settings(), database_path=db)
    await q.start()
    done = await q.submit(spec(1))
    png = (await done.result()).image
    await q.close()
    for claims in ([True, False], []):  # the second restart finds nothing left to answer
        q = LocalJobQueue(queue_settings(), runner_settings(), database_path=db)
        await q.start()
        pending = await q.undelivered()
        assert [h.job_id for h in pending] == ([done.job_id] if claims else [])
        if claims:
            assert (await pending[0].result()).image == png
            assert [await pending[0].claim_delivery(), await pending[0].claim_delivery()] == claims
        await q.close()


async def test_a_job_its_process_died_running_three_times_is_given_up_on(tmp_path: Path):
    db = str(tmp_path / "stylebot.sqlite3")
    journal = Journal(db)  # what three crashes mid-job leave behind
    await journal.open()
    await journal.add(StoredJob("poison", spec(1), 0, 0, "queued"))
    for _ in range(3):
        await journal.started("poison")
    await journal.close()
    q = LocalJobQueue(queue_settings(), runner_settings(), database_path=db)
    await q.start()
    try:
        (handle,) = await q.undelivered()
        with pytest.raises(JobFailed, match="interrupted 3 times"):
            await handle.result()
        assert (await handle.status()).error == msg("job.interrupted", count=3)
    finally:
        await q.close()


async def test_the_journal_keeps_an_upscales_start_image_and_a_grids_factors(tmp_path: Path):
    journal = Journal(str(tmp_path / "stylebot.sqlite3"))
    await journal.open()
    await journal.add(StoredJob("up", replace(spec(1), start_image=b"start-png"), 0, 0, "queued"))
    await journal.add(StoredJob("grid", replace(spec(2), grid=(0.5, 1.0, 2.0, 4.0)), 0, 1, "queued"))
    await journal.close()
    again = Journal(str(tmp_path / "stylebot.sqlite3"))
    await again.open()
    try:
        up, grid = await again.load()
    finally:
        await again.close()
    assert (up.spec.start_image, up.spec.styles, up.spec.grid) == (b"start-png", (BLUE,), ())
    assert (grid.spec.start_image, grid.spec.grid) == (None, (0.5, 1.0, 2.0, 4.0))


async def test_a_journal_written_before_grids_existed_is_read_and_extended(tmp_path: Path):
    db = tmp_path / "old.sqlite3"
    with sqlite3.connect(db) as old:  # the schema as the previous version created it: no grid column
        old.executescript(SCHEMA.replace(",\n    grid TEXT", ""))
        assert "grid" not in {row[1] for row in old.execute("PRAGMA table_info(local_jobs)")}
        old.execute("INSERT INTO local_jobs (id, user_id, meta, options, round, arrival, state, submitted_at) "
                    "VALUES ('old', 7, '{}', '{}', 0, 0, 'queued', 0)")
    journal = Journal(str(db))
    await journal.open()
    try:
        [job] = await journal.load()
        await journal.add(StoredJob("new", replace(spec(1), grid=(2.0,)), 0, 1, "queued"))
        assert [(j.job_id, j.spec.grid) for j in await journal.load()] == [("old", ()), ("new", (2.0,))]
    finally:
        await journal.close()
    assert job.spec.user_id == 7


async def test_restored_jobs_wait_for_the_screen_and_one_it_cancels_never_reaches_the_engine(tmp_path: Path):
    db = str(tmp_path / "stylebot.sqlite3")
    journal = Journal(db)  # what a stopped process left: two jobs in line, the first one doomed
    await journal.open()
    portrait = png_bytes(Image.new("RGB", (30, 40), "red"))
    await journal.add(StoredJob("doomed", replace(spec(1), content=portrait), 0, 0, "queued"))
    await journal.add(StoredJob("kept", spec(2), 0, 1, "queued"))
    await journal.close()
    engine = Recorded()
    q = LocalJobQueue(queue_settings(), runner_settings(), database_path=db, stylizer=engine)
    seen: list[tuple[str, JobState]] = []

    async def screen() -> None:
        seen.extend([(h.job_id, (await h.status()).state) for h in await q.undelivered()])
        doomed = await q.get("doomed")
        assert doomed is not None and await doomed.cancel("nobody to tell")

    await q.start(screen)
    try:
        assert sorted(seen) == [("doomed", JobState.QUEUED), ("kept", JobState.QUEUED)]  # none had started
        kept = await q.get("kept")
        assert kept is not None and (await kept.result()).image.startswith(b"\x89PNG")
        assert [w > h for w, h in engine.photos] == [True]  # the kept job's landscape photo only
        with pytest.raises(JobCancelled, match="nobody to tell"):
            await (await q.get("doomed")).result()
    finally:
        await q.close()

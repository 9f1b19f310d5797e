"""The time model in Redis mode: workers record their calibration and their jobs; the bot predicts from them."""

from __future__ import annotations

import asyncio

import pytest

from engine.jobs.timing import photo_size, work
from engine.nst.params import parse_options
from tests.support.redis import TINY, QueueMaker, WorkerPool, spec


async def test_workers_calibrate_and_the_bot_times_jobs_from_their_run_records(workers: WorkerPool,
                                                                              make_queue: QueueMaker) -> None:
    q = await make_queue()
    predict = await q.predictor()
    assert predict(1.0) is not None and predict(4.0) > predict(1.0) > 0  # the warm-up's calibration
    job = spec(41)
    h = await q.submit(job)
    stored = await q.store.redis.hget(q.store.job(h.job_id), "predict_s")
    expected = work(parse_options(TINY), photo_size(job.content))
    assert float(stored) == pytest.approx(predict(expected), abs=1e-3)
    before = len(await q.store.run_records())
    await asyncio.wait_for(h.result(), 30)
    records = await q.store.run_records()
    assert len(records) == min(before + 1, 200) and records[0]["work"] == pytest.approx(expected)

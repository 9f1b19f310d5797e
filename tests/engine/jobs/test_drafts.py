"""Drafts as jobs (engine/jobs/drafts.py): the first look of a painted job, a quick job, a sheet of drafts."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine.errors import ParamError
from engine.jobs import JobSpec, JobState
from engine.jobs.drafts import TRY_CELL, show_draft
from engine.jobs.journal import Journal, StoredJob
from engine.jobs.report import Kind
from engine.jobs.runtime import Control, check_submission, run
from engine.nst.images import decode_image
from engine.nst.params import parse_options
from engine.nst.types import Progress
from tests.support.images import png_bytes


@pytest.fixture(scope="module")
def files(shared_images: Path) -> tuple[bytes, bytes, bytes]:
    """Tübingen (small), The Starry Night and The Scream as uploaded files."""
    def small(name: str, side: int) -> bytes:
        with Image.open(shared_images / name) as im:
            im.thumbnail((side, side))
            return png_bytes(im.convert("RGB"))

    return small("tubingen.jpg", 96), small("starry_night.jpg", 256), small("the_scream.jpg", 256)


class Recorder(Control):
    """A job's control that keeps every progress report, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[Progress] = []

    def on_progress(self, progress: Progress) -> None:
        self.seen.append(progress)
        super().on_progress(progress)


def picture(blob: bytes) -> Image.Image:
    with Image.open(io.BytesIO(blob)) as im:
        return im.convert("RGB")


def test_a_painted_jobs_first_preview_is_its_draft_before_any_step(files) -> None:
    photo, starry, _ = files
    control = Recorder()
    outcome = run(JobSpec(photo, (starry,), {"size": 32, "steps": 2, "levels": 1}), control, preview_every=1)
    assert outcome.state is JobState.DONE
    first = control.seen[0]
    assert first.preview is not None and first.step == 0  # before the optimiser's first step
    expected: list[Progress] = []
    show_draft(decode_image(photo), [decode_image(starry)], parse_options({"size": 32}), expected.append)
    diff = np.abs(np.asarray(picture(first.preview), float) - np.asarray(picture(expected[0].preview), float))
    assert diff.mean() < 2  # the same draft (up to the JPEG)
    assert [p.step for p in control.seen[1:]] == sorted(p.step for p in control.seen[1:]) and control.seen[-1].step


def test_without_previews_no_draft_is_drawn(files) -> None:
    photo, starry, _ = files
    control = Recorder()
    run(JobSpec(photo, (starry,), {"size": 32, "steps": 1, "levels": 1}), control, preview_every=0)
    assert all(p.preview is None for p in control.seen)


def test_a_quick_job_answers_with_the_draft_at_its_size(files) -> None:
    photo, starry, _ = files
    outcome = run(JobSpec(photo, (starry,), {"size": 200}, draft="quick"), Control())
    assert outcome.state is JobState.DONE and outcome.result is not None
    image = picture(outcome.result.image)
    assert max(image.size) == 200 and image.size[0] > image.size[1]  # Tübingen is landscape
    report = outcome.result.report
    assert report.kind is Kind.QUICK and report.steps == 0 and report.params.size == 200
    assert (report.width, report.height) == image.size


def test_a_try_job_answers_with_one_sheet_of_drafts_one_captioned_cell_per_style(files) -> None:
    photo, starry, scream = files
    control = Recorder()
    spec = JobSpec(photo, (starry, scream, starry), {"size": 512}, draft="try", captions=("starry", "scream", "again"))
    outcome = run(spec, control)
    assert outcome.state is JobState.DONE and outcome.result is not None
    sheet, report = picture(outcome.result.image), outcome.result.report
    assert report.kind is Kind.TRY and report.names == ("starry", "scream", "again") and len(report.boxes) == 3
    assert [p.step for p in control.seen] == [1, 2, 3] and {p.total for p in control.seen} == {3}
    cells = [sheet.crop(tuple(round(v * s) for v, s in zip(box, sheet.size * 2)))
             for box in report.boxes]
    assert max(cells[0].size) == TRY_CELL
    arrays = [np.asarray(c, float) for c in cells]
    assert np.abs(arrays[0] - arrays[1]).mean() > 10  # two styles, two drafts
    assert np.abs(arrays[0] - arrays[2]).mean() < 1  # the same style twice, the same draft


def test_a_cancelled_try_job_stops_between_cells(files) -> None:
    photo, starry, _ = files

    class CancelAfterOne(Recorder):
        def on_progress(self, progress: Progress) -> None:
            super().on_progress(progress)
            self.cancel("cancelled by alice")

    control = CancelAfterOne()
    outcome = run(JobSpec(photo, (starry,) * 4, {}, draft="try", captions=("a", "b", "c", "d")), control)
    assert outcome.state is JobState.CANCELLED and len(control.seen) == 1


@pytest.mark.parametrize("spec, words", [
    (JobSpec(b"x", (b"y",), draft="sketch"), "quick drafts are made of one still photo"),
    (JobSpec(b"x", (b"y",), draft="quick", grid=(1.0,)), "quick drafts are made of one still photo"),
    (JobSpec(b"x", (b"y", b"z"), draft="try", captions=("only one",)), "1 to 100 style images"),
    (JobSpec(b"x", (), draft="try"), "1 to 100 style images"),
])
def test_a_draft_job_that_cannot_be_drawn_is_refused_with_one_sentence(spec: JobSpec, words: str) -> None:
    with pytest.raises(ParamError, match=words):
        check_submission(spec)


async def test_the_journal_keeps_a_draft_jobs_kind_and_captions(tmp_path: Path) -> None:
    journal = Journal(str(tmp_path / "stylebot.sqlite3"))
    await journal.open()
    await journal.add(StoredJob("try", JobSpec(b"p", (b"a", b"b"), draft="try", captions=("x", "y")), 0, 0, "queued"))
    await journal.add(StoredJob("paint", JobSpec(b"p", (b"a",)), 0, 1, "queued"))
    await journal.close()
    again = Journal(str(tmp_path / "stylebot.sqlite3"))
    await again.open()
    try:
        tried, painted = await again.load()
    finally:
        await again.close()
    assert (tried.spec.draft, tried.spec.captions, tried.spec.styles) == ("try", ("x", "y"), (b"a", b"b"))
    assert (painted.spec.draft, painted.spec.captions) == ("", ())

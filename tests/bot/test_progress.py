"""Unit tests of bot/answers/progress.py: the status line, and the throttling of status edits."""

from __future__ import annotations

import asyncio
import itertools
import time
from types import SimpleNamespace
from typing import Any

import discord
import pytest

from bot.answers import progress as progress_module
from bot.answers.progress import ProgressMessage, describe, eta_text
from engine.jobs import JobState, JobStatus

INTERVAL = 0.3


class StatusMessage:
    """Stands in for the discord.py message: records each edit and when it was made, or fails them all."""

    id = 1234

    def __init__(self, fails: bool = False) -> None:
        self.edits: list[tuple[float, dict[str, Any]]] = []
        self.fails = fails

    async def edit(self, **changes: Any) -> None:
        if self.fails:
            raise discord.NotFound(SimpleNamespace(status=404, reason="Not Found"),
                                   {"code": 10008, "message": "Unknown Message"})
        self.edits.append((time.monotonic(), changes))

    @property
    def contents(self) -> list[str]:
        return [changes["content"] for _, changes in self.edits]


def running(step: int, total: int = 100, **kwargs: Any) -> JobStatus:
    return JobStatus("job", JobState.RUNNING, step=step, total=total, **{"eta_s": 30.0, **kwargs})


@pytest.mark.parametrize("seconds, text", [
    (1, "about 5 s"), (23, "about 25 s"), (59, "about 60 s"),
    (90, "about 2 min"), (3599, "about 60 min"), (5400, "about 1.5 h"),
])
def test_the_eta_is_coarse_so_it_does_not_change_on_every_edit(seconds: float | None, text: str) -> None:
    assert eta_text(seconds) == text


def test_the_status_line_says_the_place_in_the_queue_or_the_progress() -> None:
    assert describe(JobStatus("j", JobState.QUEUED, position=0, eta_s=None)) == \
        "⏳ Queued: you're next; the time is still being estimated."
    assert describe(JobStatus("j", JobState.QUEUED, position=1, eta_s=40)) == \
        "⏳ Queued: 1 job ahead of yours (about 40 s)."
    assert describe(JobStatus("j", JobState.QUEUED, position=3)).startswith("⏳ Queued: 3 jobs ahead")
    assert describe(running(25)) == "🎨 Painting… 25% (about 30 s left)."
    assert describe(running(5, 10, frame=2, frames=12)) == "🎨 Painting… frame 2/12, 50% (about 30 s left)."
    assert describe(running(25, eta_s=None)) == "🎨 Painting… 25% (estimating the time left)."


def test_an_unknown_eta_is_a_sentence_of_its_own_in_korean() -> None:
    """Not a phrase put where the time goes ("아직 예상할 수 없는 시간 후 완료" read as nonsense)."""
    assert describe(JobStatus("j", JobState.QUEUED, position=2, eta_s=None), "ko") == \
        "⏳ 대기 중: 앞에 작업이 2개 있어요. 남은 시간은 계산 중이에요."
    assert describe(running(25, eta_s=None), "ko") == "🎨 그리는 중… 25% (남은 시간 계산 중)."
    assert describe(running(25), "ko") == "🎨 그리는 중… 25% (남은 시간 약 30초)."


async def settle(progress: ProgressMessage) -> None:
    """Wait until no edit is waiting for its slot."""
    while progress._task is not None and not progress._task.done():
        await asyncio.sleep(0.01)


async def test_a_burst_of_updates_becomes_one_edit_showing_the_latest() -> None:
    message = StatusMessage()
    progress = ProgressMessage(message, interval=INTERVAL)  # type: ignore[arg-type]
    for step in range(1, 50):
        progress.update(running(step))
    await settle(progress)
    assert message.contents == [describe(running(49))]


async def test_edits_are_at_least_the_interval_apart_and_the_last_update_is_shown() -> None:
    message = StatusMessage()
    progress = ProgressMessage(message, interval=INTERVAL)  # type: ignore[arg-type]
    for step in range(1, 40):
        progress.update(running(step))
        await asyncio.sleep(0.02)
    await settle(progress)
    times = [t for t, _ in message.edits]
    assert len(times) >= 2
    assert min(b - a for a, b in itertools.pairwise(times)) >= INTERVAL * 0.95
    assert message.contents[-1] == describe(running(39))


async def test_an_update_that_shows_nothing_new_makes_no_edit() -> None:
    message = StatusMessage()
    progress = ProgressMessage(message, interval=0.05)  # type: ignore[arg-type]
    progress.update(running(10))
    await settle(progress)
    progress.update(running(10, eta_s=31.0))  # the same line: the ETA is coarse
    await settle(progress)
    assert len(message.edits) == 1


async def test_a_finished_status_is_left_to_finish() -> None:
    message = StatusMessage()
    progress = ProgressMessage(message, interval=0.05)  # type: ignore[arg-type]
    progress.update(JobStatus("job", JobState.DONE))
    await settle(progress)
    assert message.edits == []
    assert await progress.finish("✅ Done")
    assert message.edits[-1][1] == {"content": "✅ Done", "view": None}


async def test_stop_drops_an_edit_that_is_waiting_for_its_slot() -> None:
    message = StatusMessage()
    progress = ProgressMessage(message, interval=10.0)  # type: ignore[arg-type]
    progress.update(running(1))
    await asyncio.sleep(0.05)
    progress.update(running(2))  # waits up to 10 s for its slot
    await progress.stop()
    progress.update(running(3))
    await asyncio.sleep(0.05)
    assert message.contents == [describe(running(1))]


async def test_a_message_that_cannot_be_edited_is_not_tried_again() -> None:
    message = StatusMessage(fails=True)
    progress = ProgressMessage(message, interval=0.05)  # type: ignore[arg-type]
    progress.update(running(1))
    await settle(progress)
    progress.update(running(2))
    assert progress._task is not None and progress._task.done()  # no new edit was even scheduled
    assert await progress.finish("✅ Done") is False  # the caller then tells the user another way


async def test_a_job_already_shown_painting_gets_no_percentage_edit_before_its_first_look(monkeypatch) -> None:
    # the tracker's first edit said "Painting…" (the job started at once): the next edit is the first look,
    # even once the wait for a draft is over, not "Painting…" again with another percentage
    monkeypatch.setattr(progress_module, "DRAFT_WAIT_S", 0.0)
    message = StatusMessage()
    progress = ProgressMessage(message, interval=0.05, preview=True, shown=running(0))  # type: ignore[arg-type]
    progress.update(running(50))
    await settle(progress)
    assert message.edits == []
    unknown = ProgressMessage(message, interval=0.05, preview=True)  # type: ignore[arg-type]
    unknown.update(running(50))  # nothing shown yet: "Painting…" once the draft's wait is over
    await settle(unknown)
    assert message.contents == [describe(running(50))]

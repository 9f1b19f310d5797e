"""`/queue` (the caller's jobs, place and time left) and `/stats` (this server's jobs), answered to the caller only.

The Redis-mode counterpart is in tests/bot/test_redis_mode.py.
"""

from __future__ import annotations

import asyncio
import re

import pytest

from tests.bot import help_pages
from tests.bot.conftest import (
    ADMIN,
    ALICE,
    BOB,
    CHANNEL,
    CONTENT,
    GUILD,
    STYLE,
    TINY,
    RecordingQueue,
    running,
    style_message,
    wait_status,
)
from tests.support.engines import Tap
from tests.support.fakediscord import EPHEMERAL, FakeDiscord

pytestmark = pytest.mark.timeout(120)


async def answer(fake: FakeDiscord, user: int, command: str, timeout: float = 10.0) -> str:
    """What ``user`` reads after ``/command``: the text of the ephemeral followup to its ephemeral deferral."""
    payload = await fake.send_slash(CHANNEL, user, command)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        responses = fake.interaction_responses(payload["token"])
        followups = [r for r in responses if r["kind"] == "followup"]
        if followups:
            assert responses[0]["type"] == 5 and responses[0]["data"]["flags"] & EPHEMERAL
            assert followups[0]["message"]["flags"] & EPHEMERAL
            return followups[0]["data"]["content"]
        await asyncio.sleep(0.05)
    raise AssertionError(f"no answer to /{command}")


async def test_queue_lists_the_callers_jobs_with_place_and_time_and_counts_everyone_s(
        fake: FakeDiscord, make_bot) -> None:
    tap = Tap()
    async with running(fake, make_bot(RecordingQueue(stylizer=tap, workers=1))):
        await fake.wait_for(lambda e: e.kind == "commands_sync")
        first = await style_message(fake, ALICE)
        await wait_status(fake, first, "Painting")
        second = await style_message(fake, BOB)
        third = await style_message(fake, ALICE)
        await wait_status(fake, second, "Queued")
        await wait_status(fake, third, "Queued")

        said = await answer(fake, ALICE, "queue")
        lines = said.splitlines()
        assert lines[0] == "Your 2 jobs:" and lines[-2:] == ["In all, 3 jobs are waiting or running.",
                                                            "3 of the 3 jobs waiting are from this channel."]
        assert re.fullmatch(rf"1\. https://discord.com/channels/{GUILD}/{CHANNEL}/\d+ painting, \d+% done"
                            r"(, .+ left|; the time left is still being estimated)",
                            lines[1]), lines[1]
        assert re.fullmatch(r"2\. \S+ waiting, 1 job ahead of it(, done in .+|; its time is still being estimated)", lines[2]), lines[2]
        assert (await answer(fake, ADMIN, "queue")).splitlines() == [
            "You have no jobs waiting or running.", "In all, 3 jobs are waiting or running.",
            "3 of the 3 jobs waiting are from this channel."]
    # closing the bot stops the held jobs (they are kept for the next start): none needs to run here


async def test_stats_counts_this_server_s_jobs_their_median_time_and_favourite_saved_styles(
        fake: FakeDiscord, make_bot) -> None:
    async with running(fake, make_bot()):
        await fake.wait_for(lambda e: e.kind == "commands_sync")
        assert (await answer(fake, ALICE, "stats")).splitlines()[1:] == [
            "Jobs today (UTC): 0; in all: 0", "Median time from request to result: no finished picture yet",
            "Most used saved styles: none used yet"]
        saved = await fake.send_message(CHANNEL, ADMIN, "!style save starry", attachments=[STYLE])
        await wait_status(fake, saved, "✅ Saved `starry`")
        request = await fake.send_message(CHANNEL, ALICE, f"!style starry {TINY}", attachments=[CONTENT])
        await wait_status(fake, request, "✅ Done", timeout=60)
        broken = await style_message(fake, BOB, args=f"{TINY} beta=1e30")  # refused: never a job, not counted
        await wait_status(fake, broken, "⚠️")

        lines = (await answer(fake, BOB, "stats")).splitlines()
        assert lines[0] == "**Style jobs in this server**" and lines[1] == "Jobs today (UTC): 1; in all: 1"
        assert re.fullmatch(r"Median time from request to result: \d+\.\d s", lines[2]), lines[2]
        assert lines[3] == "Most used saved styles: `starry` (1)"


async def test_stylehelp_shows_links_spoilers_queue_and_stats_with_examples(fake: FakeDiscord, bot) -> None:
    await fake.wait_for(lambda e: e.kind == "commands_sync")
    payload = await fake.send_slash(CHANNEL, ALICE, "stylehelp")
    links = help_pages.fields(await help_pages.slash_pages(fake, payload["token"]))["Links, spoilers, your queue"]
    for needle in ("`!style https://example.com/photo.jpg https://example.com/painting.jpg`",
                   "`/style content_url:https://… style_url:https://…`", "`!style spoiler=yes`",
                   "`!styleconfig set spoiler on|off|nsfw-channels`", "`/queue`", "`/stats`"):
        assert needle in links
    commands = {c["name"]: c for c in fake.commands[None]}
    assert {"queue", "stats"} <= commands.keys()
    options = {o["name"] for o in commands["style"]["options"]}
    assert {"content_url", "style_url", "spoiler"} <= options
    assert not any(o.get("required") for o in commands["style"]["options"])  # the photo may be a link


def test_a_job_line_with_no_eta_yet_says_so_in_a_sentence_of_its_own() -> None:
    """The unknown time is its own wording, not a phrase in the {eta} slot ("… 시간 후 완료" read as nonsense)."""
    from types import SimpleNamespace

    from bot.cogs.queue import job_line
    from engine.jobs import JobState, JobStatus

    handle = SimpleNamespace(meta={"guild_id": 1, "channel_id": 2, "status_message_id": 3})
    link = "https://discord.com/channels/1/2/3"
    waiting = JobStatus("j", JobState.QUEUED, position=2, eta_s=None)
    painting = JobStatus("j", JobState.RUNNING, step=1, total=4, eta_s=None)
    assert job_line("ko", 1, handle, waiting) == f"1. {link} 대기 중, 앞에 작업 2개, 완료 시간 계산 중"  # type: ignore[arg-type]
    assert job_line("ko", 1, handle, painting) == f"1. {link} 그리는 중, 25% 완료, 남은 시간 계산 중"  # type: ignore[arg-type]
    assert "about 40 s" in job_line("en", 1, handle, JobStatus("j", JobState.QUEUED, position=2, eta_s=40))  # type: ignore[arg-type]

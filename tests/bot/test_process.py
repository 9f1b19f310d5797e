"""The bot as an operator runs it: real StyleBot, queue and engine against FakeDiscord, with /metrics
scraped over HTTP while requests go through, and SIGTERM arriving while a job paints.

Metrics are process-global (other tests move them too), so every check compares a scrape taken
before with one taken after.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.__main__ import build_queue, run
from bot.client import StyleBot
from bot.settings import BotSettings
from bot.store import GuildStore
from engine.errors import JobCancelled
from engine.jobs.local import LocalJobQueue
from engine.jobs.runtime import run_job
from tests.bot.conftest import (
    ALICE,
    BOB,
    CHANNEL,
    GUILD,
    bot_messages,
    is_result,
    style_message,
    wait_result,
    wait_status,
)
from tests.support.scrape import DEPTH, FINISHED, SECONDS_COUNT, STARTED, delta, depth_settles_at_zero, failed, read
from tests.support.fakediscord import FakeDiscord, running

pytestmark = pytest.mark.timeout(120)

MISSING_PERMISSIONS = ("stylebot_discord_api_errors_total", (("code", "50013"), ("status", "403")))
SHUTTING_DOWN = "🛑 Cancelled: the bot is shutting down; please send the command again later"


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as fake:
        fake.add_guild("studio", guild_id=GUILD)
        fake.add_channel(GUILD, "art", channel_id=CHANNEL)
        fake.add_member(GUILD, fake.add_user("alice", user_id=ALICE))
        fake.add_member(GUILD, fake.add_user("bob", user_id=BOB))
        yield fake
        assert fake.unhandled == [], "the bot hit routes the fake does not know"
        assert fake.errors == []


@pytest.fixture
def settings(tmp_path: Path, fake: FakeDiscord) -> BotSettings:
    return BotSettings(_env_file=None, discord_token=fake.token, database_path=str(tmp_path / "guilds.sqlite3"),
                       progress_interval_s=0.5, drain_timeout_s=0.5)


class Valve:
    """The real engine behind a tap the test can close, to hold a job at "Painting" (open at first)."""

    def __init__(self) -> None:
        self.flowing = threading.Event()
        self.flowing.set()

    def __call__(self, content: bytes, styles: Any, options: Any, *, should_cancel: Any, **kwargs: Any):
        while not self.flowing.wait(0.02):
            if should_cancel():
                raise JobCancelled("cancelled while held")
        return run_job(content, styles, options, should_cancel=should_cancel, **kwargs)


async def test_a_request_moves_the_job_counters_and_a_refused_upload_counts_one_discord_error(
    fake: FakeDiscord, settings: BotSettings, port: int,
) -> None:
    valve = Valve()
    queue = LocalJobQueue(workers=1, per_user_limit=10, max_queue=50, runner=valve)
    async with running(fake, StyleBot(settings, queue, GuildStore(settings.database_path),
                                      guild_ready_timeout=0.05)):
        before = await read(port)
        request = await style_message(fake, ALICE)
        result = await wait_result(fake)
        await wait_status(fake, request, "✅ Done")
        assert result["message_reference"]["message_id"] == request["id"]
        assert await depth_settles_at_zero(port) == 0
        after = await read(port)
        assert delta(before, after, STARTED) == 1
        assert delta(before, after, FINISHED) == 1
        assert delta(before, after, SECONDS_COUNT) == 1
        assert delta(before, after, failed("internal")) == 0

        # The next result's upload is refused (403 Missing Permissions): the user is told on the
        # status message, the failed call is counted once, and the bot goes on serving.
        before = after
        valve.flowing.clear()
        refused = await style_message(fake, ALICE)
        await wait_status(fake, refused, "Painting")
        fake.fail_next("POST", rf"^/channels/{CHANNEL}/messages$", status=403, code=50013)
        valve.flowing.set()
        await wait_status(fake, refused, "⛔ I'm missing a permission in this channel")
        after = await read(port)
        assert delta(before, after, MISSING_PERMISSIONS) == 1
        assert delta(before, after, FINISHED) == 1  # the picture was made; only its upload failed
        assert [m for m in bot_messages(fake, CHANNEL) if is_result(m)] == [result]

        again = await style_message(fake, ALICE)
        await wait_result(fake, predicate=lambda m: m["message_reference"]["message_id"] == again["id"])
        assert await depth_settles_at_zero(port) == 0


async def test_sigterm_during_a_job_tells_the_running_and_the_waiting_user_and_run_returns_0(
    fake: FakeDiscord, settings: BotSettings, port: int,
) -> None:
    assert isinstance(build_queue(settings), LocalJobQueue)  # what run() builds: the real engine in-process
    before = await read(port)
    bot = asyncio.create_task(run(settings))
    try:
        await fake.wait_until_connected(timeout=10)
        painting = await style_message(fake, ALICE, args="size=64 steps=400")  # tens of seconds on a CPU
        await wait_status(fake, painting, "🎨 Painting", timeout=60)
        waiting = await style_message(fake, BOB, args="size=32 steps=2 coarse_steps=1")
        await wait_status(fake, waiting, "⏳ Queued")
        os.kill(os.getpid(), signal.SIGTERM)
        # the drain is 0.5 s: the running job is stopped, not waited for
        assert await asyncio.wait_for(asyncio.shield(bot), 20) == 0
    finally:
        if not bot.done():  # a failed step above: still shut the bot down, not leave it running
            os.kill(os.getpid(), signal.SIGTERM)
            await asyncio.wait({bot}, timeout=30)

    for request in (painting, waiting):
        [status] = [m for m in bot_messages(fake, CHANNEL)
                    if m.get("message_reference", {}).get("message_id") == request["id"]]
        assert status["content"] == SHUTTING_DOWN
        assert status["components"] == []  # no Cancel button left on a finished job
    assert not [m for m in bot_messages(fake, CHANNEL) if is_result(m)]
    after = await read(port)
    assert delta(before, after, failed("cancelled")) == 2
    assert delta(before, after, STARTED) == 1  # Bob's job never started
    assert delta(before, after, FINISHED) == 0
    assert after[DEPTH] == 0

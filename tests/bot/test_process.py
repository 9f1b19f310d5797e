"""The bot as an operator runs it: real StyleBot, queue and engine against FakeDiscord, with /metrics
scraped over HTTP while requests go through, and SIGTERM arriving while a job paints.

Metrics are process-global (other tests move them too), so every check compares a scrape taken
before with one taken after.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.__main__ import build_queue, run
from bot.answers.tracker import PAUSED
from bot.client import StyleBot
from bot.core.settings import BotSettings
from bot.core.store import GuildStore
from engine.jobs.local import LocalJobQueue
from tests.bot.conftest import (
    ALICE,
    BOB,
    CHANNEL,
    GUILD,
    bot_messages,
    is_result,
    status_of,
    style_message,
    wait_done,
    wait_result,
    wait_status,
)
from tests.support.engines import Tap
from tests.support.fakediscord import FakeDiscord, running
from tests.support.scrape import (
    DEPTH,
    FINISHED,
    SECONDS_COUNT,
    STARTED,
    delta,
    depth_settles_at_zero,
    failed,
    read,
)

pytestmark = pytest.mark.timeout(240)
REPO = Path(__file__).resolve().parents[2]
STARTUP_S = 90  # the local queue loads torch and the weights before the gateway connects: slow on a busy CPU

MISSING_PERMISSIONS = ("stylebot_discord_api_errors_total", (("code", "50013"), ("status", "403")))


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


async def test_a_request_moves_the_job_counters_and_a_refused_upload_counts_one_discord_error(
    fake: FakeDiscord, settings: BotSettings, port: int,
) -> None:
    valve = Tap(is_open=True)  # closed below, to hold a job at "Painting"
    chosen = settings.model_copy(update={"per_user_limit": 10, "max_batch": 1})  # the queue and runner settings
    queue = LocalJobQueue(chosen, chosen, workers=1, stylizer=valve)
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
        valve.close()
        refused = await style_message(fake, ALICE)
        await wait_status(fake, refused, "Painting")
        fake.fail_next("POST", rf"^/channels/{CHANNEL}/messages$", status=403, code=50013)
        valve.open()
        await wait_status(fake, refused, "⛔ I'm missing a permission in this channel")
        after = await read(port)
        assert delta(before, after, MISSING_PERMISSIONS) == 1
        assert delta(before, after, FINISHED) == 1  # the picture was made; only its upload failed
        assert [m for m in bot_messages(fake, CHANNEL) if is_result(m)] == [result]

        again = await style_message(fake, ALICE)
        await wait_result(fake, predicate=lambda m: m["message_reference"]["message_id"] == again["id"])
        assert await depth_settles_at_zero(port) == 0


async def test_sigterm_during_a_job_keeps_both_jobs_and_the_next_start_answers_each_once(
    fake: FakeDiscord, settings: BotSettings, port: int,
) -> None:
    assert isinstance(build_queue(settings), LocalJobQueue)  # what run() builds: the real engine in-process
    before = await read(port)
    bot = asyncio.create_task(run(settings))
    try:
        await fake.wait_until_connected(timeout=STARTUP_S)
        painting = await style_message(fake, ALICE, args="size=48 steps=150 coarse_steps=1")  # ~10 s on a CPU
        await wait_status(fake, painting, "🎨 Painting", timeout=60)
        waiting = await style_message(fake, BOB, args="size=32 steps=2 coarse_steps=1")
        await wait_status(fake, waiting, "⏳ Queued")
        os.kill(os.getpid(), signal.SIGTERM)
        # the drain is 0.5 s: the running job is stopped, not waited for, and kept with the other
        assert await asyncio.wait_for(asyncio.shield(bot), 20) == 0
    finally:
        if not bot.done():  # a failed step above: still shut the bot down, not leave it running
            os.kill(os.getpid(), signal.SIGTERM)
            await asyncio.wait({bot}, timeout=30)

    for request in (painting, waiting):
        assert status_of(fake, request)["content"] == PAUSED
    assert not [m for m in bot_messages(fake, CHANNEL) if is_result(m)]
    after = await read(port)
    assert delta(before, after, failed("cancelled")) == 0  # stopped, not cancelled
    assert delta(before, after, STARTED) == 1  # Bob's job never started
    assert after[DEPTH] == 2  # both kept

    again = asyncio.create_task(run(settings.model_copy(update={"drain_timeout_s": 60})))
    try:
        for request in (waiting, painting):
            await wait_done(fake, request, timeout=120)
    finally:
        os.kill(os.getpid(), signal.SIGTERM)
        assert await asyncio.wait_for(again, 30) == 0
    assert len([m for m in bot_messages(fake, CHANNEL) if is_result(m)]) == 2


def bot_process(fake: FakeDiscord, tmp_path: Path, log: str) -> subprocess.Popen[bytes]:
    """``python -m bot`` in a process of its own, configured by its environment as an operator would."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "DISCORD_TOKEN": fake.token, "OMP_NUM_THREADS": "1",
           "DATABASE_PATH": str(tmp_path / "stylebot.sqlite3"), "PROGRESS_INTERVAL_S": "0.5"}
    with open(tmp_path / log, "wb") as out:
        return subprocess.Popen([sys.executable, "-m", "tests.support.botprocess", fake.base_url, fake.gateway_url],
                                cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT)


async def test_a_sigkilled_bot_runs_its_jobs_again_after_a_restart_and_answers_each_once(
        fake: FakeDiscord, tmp_path: Path) -> None:
    first = bot_process(fake, tmp_path, "first.log")
    try:
        await fake.wait_until_connected(timeout=60)
        painting = await style_message(fake, ALICE, args="size=48 steps=150 coarse_steps=1")
        waiting = await style_message(fake, BOB, args="size=32 steps=2 coarse_steps=1")
        await wait_status(fake, painting, "🎨 Painting", timeout=60)
        await wait_status(fake, waiting, "⏳ Queued")
    finally:
        first.kill()  # SIGKILL: no shutdown code runs at all
        first.wait(timeout=10)
    second = bot_process(fake, tmp_path, "second.log")
    try:
        for request in (painting, waiting):
            await wait_done(fake, request, timeout=120)
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=30) == 0, (tmp_path / "second.log").read_text()
    results = [m for m in bot_messages(fake, CHANNEL) if is_result(m)]
    assert sorted(m["message_reference"]["message_id"] for m in results) == sorted([painting["id"], waiting["id"]])

"""Start-up, restart, shutdown and secrets: the bot's life outside a single request."""

from __future__ import annotations

import asyncio
import base64
import itertools
import logging
import math
import os
import secrets
import signal
import socket
import string
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bot.answers import progress
from bot.answers.tracker import PAUSED
from bot.client import StyleBot
from bot.core.settings import BotSettings
from engine.jobs import JobState
from engine.jobs.contract import Screen
from tests.bot.conftest import (
    ALICE,
    BOB,
    CHANNEL,
    OTHER_CHANNEL,
    RESULT_TIMEOUT,
    STYLE,
    RecordingQueue,
    running,
    status_of,
    style_message,
    wait_done,
    wait_result,
    wait_status,
    wait_text,
)
from tests.support.engines import FirstLook, Paced, Recorded, Tap
from tests.support.fakediscord import VIEW_CHANNEL, FakeDiscord
from tests.support.images import noise_png

pytestmark = pytest.mark.timeout(120)
# how long a test held in order by events waits before it calls the bot hung: on a loaded 2-core machine,
# the first job of a session took minutes to load torch and the weights
HANG = 8 * RESULT_TIMEOUT
STARTUP_S = 90  # the local queue loads torch and the weights before the gateway connects: slow on a busy CPU
REPO = Path(__file__).resolve().parents[2]


class OutlivingQueue(RecordingQueue):
    """A queue that outlives the bot process, as Redis does: the bot's close() leaves it running."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.started = False

    async def start(self, screen: Screen | None = None) -> None:
        if not self.started:
            self.started = True
            await super().start(screen)
        elif screen is not None:  # as Redis: the jobs run on, the next bot screens them when it can
            await screen()

    async def close(self, drain_timeout: float = 0.0) -> None:
        pass

    async def really_close(self) -> None:
        await super().close(0.0)


async def test_restarted_bot_delivers_jobs_that_were_running(fake: FakeDiscord, make_bot) -> None:
    gate = Tap()
    queue = OutlivingQueue(stylizer=gate)
    try:
        async with running(fake, make_bot(queue)):
            request = await style_message(fake)
            await wait_status(fake, request, "Painting")
        # the first bot is gone; the job is still held in the queue, unanswered
        async with running(fake, make_bot(queue)) as second:
            gate.open()
            result = await wait_result(fake)
            await wait_text(fake, CHANNEL, "✅ Done")
            assert result["message_reference"]["message_id"] == request["id"]
            assert "Done" in status_of(fake, request)["content"]
            assert second.queue is queue and len(queue.submitted) == 1
            assert sum(1 for m in fake.messages(CHANNEL) if m["embeds"]) == 1  # delivered exactly once
    finally:
        await queue.really_close()


def queue_on_disk(settings: BotSettings, **kwargs: Any) -> RecordingQueue:
    """The local queue as ``python -m bot`` builds it: its jobs in the bot's own database."""
    return RecordingQueue(database_path=settings.database_path, **kwargs)


async def test_shutdown_lets_the_running_job_finish_and_keeps_the_waiting_one(
        fake: FakeDiscord, make_bot, settings: BotSettings) -> None:
    gate = Tap()
    bot = make_bot(queue_on_disk(settings, stylizer=gate))
    async with running(fake, bot):
        first = await style_message(fake, ALICE)
        await wait_status(fake, first, "Painting")
        second = await style_message(fake, BOB)
        await wait_status(fake, second, "Queued")
        stopping = asyncio.create_task(bot.shutdown(drain_timeout=30))
        await asyncio.sleep(0.2)
        assert not bot.accepting
        gate.open()  # the running job may finish within the drain time
        result = await wait_result(fake)
        await asyncio.wait_for(stopping, 30)
        assert result["message_reference"]["message_id"] == first["id"]
        assert bot.is_closed()
    assert status_of(fake, second)["content"] == PAUSED

    async with running(fake, make_bot()):  # the next start runs the kept job, once
        later = await wait_done(fake, second)
    assert [m["id"] for m in fake.messages(CHANNEL) if m["embeds"]] == [result["id"], later["id"]]


async def stopped_while_painting(fake: FakeDiscord, bot: StyleBot, *requests: dict[str, Any]) -> list[dict]:
    """Send ``requests`` (style_message arguments) to ``bot`` and stop it while the first paints and the
    others wait: their status messages say PAUSED, and the jobs are kept for the next start."""
    async with running(fake, bot):
        sent = [await style_message(fake, **requests[0])]
        await wait_status(fake, sent[0], "Painting")
        for kwargs in requests[1:]:
            sent.append(await style_message(fake, **kwargs))
            await wait_status(fake, sent[-1], "Queued")
        await asyncio.wait_for(bot.shutdown(drain_timeout=0.2), 30)
    assert [status_of(fake, request)["content"] for request in sent] == [PAUSED] * len(sent)
    return sent


async def test_a_job_that_outlasts_the_drain_is_stopped_kept_and_finished_after_the_restart(
        fake: FakeDiscord, make_bot, settings: BotSettings) -> None:
    bot = make_bot(queue_on_disk(settings, stylizer=Tap()))
    [request] = await stopped_while_painting(fake, bot, {"user": ALICE})
    assert bot.is_closed()
    async with running(fake, make_bot()):
        await wait_done(fake, request)
    assert sum(1 for m in fake.messages(CHANNEL) if m["embeds"]) == 1


def delete_channel(fake: FakeDiscord) -> tuple[int, str]:
    fake.remove_channel(OTHER_CHANNEL)
    return OTHER_CHANNEL, "Unknown Channel"


def hide_channel(fake: FakeDiscord) -> tuple[int, str]:
    fake.restrict_bot(OTHER_CHANNEL, VIEW_CHANNEL)
    return OTHER_CHANNEL, "Missing Access"


def delete_dm_user(fake: FakeDiscord) -> tuple[int, str]:
    del fake.users[ALICE]  # her DM channel is still there; she is not
    return fake.dm_channel(ALICE), "Unknown User"


@pytest.mark.parametrize("where, forget", [(OTHER_CHANNEL, delete_channel), (OTHER_CHANNEL, hide_channel),
                                           ("dm", delete_dm_user)])
async def test_a_resumed_job_nobody_can_be_told_about_is_dropped_without_painting(
        fake: FakeDiscord, make_bot, settings: BotSettings, caplog, where: Any, forget: Any) -> None:
    bot = make_bot(queue_on_disk(settings, stylizer=Tap()))
    doomed_in = fake.dm_channel(ALICE) if where == "dm" else where
    portrait = ("photo.png", noise_png(3, 36, 48), "image/png")  # the doomed job's photo: its own shape
    _, live = await stopped_while_painting(
        fake, bot, {"user": ALICE, "channel": doomed_in, "attachments": (portrait, STYLE)}, {"user": BOB})
    [doomed_id] = [h.job_id for h in await bot.queue.undelivered() if h.user_id == ALICE]
    channel, why = forget(fake)
    engine = Recorded()  # no gate: the doomed job, first in line, would reach it at once if it were run
    queue = queue_on_disk(settings, stylizer=engine)
    restarted = len(fake.requests)
    async with running(fake, make_bot(queue)):
        handle = await queue.get(doomed_id)
        assert handle is not None and (await handle.status()).state is JobState.CANCELLED  # before READY
        await wait_done(fake, live)  # the job in a live channel still runs, and is answered
    assert [w > h for w, h in engine.photos] == [True]  # the live job's landscape photo; never the portrait
    assert doomed_id not in [h.job_id for h in await queue.undelivered()]
    to_channel = [r.method for r in fake.requests[restarted:] if f"/channels/{channel}" in r.path]
    assert to_channel == ["GET"]  # looked at once, never posted or edited in
    [line] = [r.getMessage() for r in caplog.records if "dropped" in r.getMessage()]
    assert doomed_id in line and str(channel) in line and why in line


async def test_a_resumed_job_is_followed_when_discord_cannot_say_whether_its_channel_is_there(
        fake: FakeDiscord, make_bot, settings: BotSettings) -> None:
    [request] = await stopped_while_painting(fake, make_bot(queue_on_disk(settings, stylizer=Tap())), {})
    fake.fail_next("GET", rf"^/channels/{CHANNEL}$", status=400, code=50035, message="Invalid Form Body")
    async with running(fake, make_bot()):
        await wait_done(fake, request)  # not dropped: delivery tries, as before the check existed
    assert [h.status for h in fake.hits("GET", rf"^/channels/{CHANNEL}$")] == [400]


@pytest.mark.timeout(600)
async def test_preview_images_appear_on_the_status_message_when_enabled(fake: FakeDiscord, make_bot) -> None:
    # the job waits after its first preview until the test has seen it on the status message, so a job that
    # ends first (a fast machine) cannot outrun the check, and a slow one only takes longer
    gate = FirstLook()
    gate.show()
    queue = RecordingQueue(preview_every=1, stylizer=gate)
    async with running(fake, make_bot(queue, preview=True)):
        request = await style_message(fake, args="size=48 steps=3 coarse_steps=1")
        with_preview = await fake.wait_for_message(
            CHANNEL, lambda m: any(a["filename"] == "preview.jpg" for a in m["attachments"]), timeout=HANG)
        assert with_preview["message_reference"]["message_id"] == request["id"]
        gate.finish()
        await wait_result(fake, timeout=HANG)
        await wait_text(fake, CHANNEL, "✅ Done", timeout=HANG)
        assert status_of(fake, request)["attachments"] == []  # the last edit drops the preview


@pytest.mark.timeout(600)
async def test_the_first_look_is_the_next_edit_after_painting_starts(fake: FakeDiscord, make_bot,
                                                                      monkeypatch) -> None:
    # previews only at the end of the first rung (40 paced steps in): percentages alone must not take its
    # edit slot. The job waits before that preview until the test has seen "Painting", and after it until
    # the test has seen the edit that brings it, so neither a fast machine (the look would come with
    # "Painting", or the job end first) nor a slow one changes the order. The wait for the look is 10 s,
    # here without end: a loaded machine took two minutes to load the engine after "Painting". Without a
    # draft (its network could not run): with one, the draft comes with "Painting" (test_drafts.py)
    monkeypatch.setattr(progress, "FIRST_LOOK_WAIT_S", math.inf)
    monkeypatch.setattr("engine.jobs.drafts.first_look", lambda *args: None)
    gate = FirstLook(Paced())
    queue = RecordingQueue(preview_every=1000, stylizer=gate)
    async with running(fake, make_bot(queue, preview=True)):
        request = await style_message(fake, args="size=48 levels=2 coarse_steps=40 steps=5")
        await wait_status(fake, request, "Painting", timeout=HANG)
        gate.show()
        await fake.wait_for_message(
            CHANNEL, lambda m: any(a["filename"] == "preview.jpg" for a in m["attachments"]), timeout=HANG)
        gate.finish()
        await wait_result(fake, timeout=HANG)
        done = await wait_status(fake, request, "✅ Done", timeout=HANG)
    edits = [e.data for e in fake.events if e.kind == "message_update" and e.data["id"] == done["id"]]
    painting = next(i for i, m in enumerate(edits) if "Painting" in m["content"])
    after = edits[painting + 1]
    assert [a["filename"] for a in after["attachments"]] == ["preview.jpg"], [m["content"] for m in edits]
    assert "Painting" in after["content"] and edits[painting]["attachments"] == []


def token_shaped() -> str:
    """A random string shaped like a Discord bot token (base64 user id . timestamp . HMAC)."""
    alphabet = string.ascii_letters + string.digits + "-_"
    user_id = base64.b64encode(str(secrets.randbelow(10**18) + 10**17).encode()).decode().rstrip("=")
    return ".".join([user_id, *("".join(secrets.choice(alphabet) for _ in range(n)) for n in (6, 27))])


async def test_the_token_never_reaches_the_logs(fake: FakeDiscord, tmp_path: Path, caplog) -> None:
    token = token_shaped()
    fake.token = token
    settings = BotSettings(_env_file=None, discord_token=token, database_path=str(tmp_path / "db.sqlite3"))
    caplog.set_level(logging.DEBUG)
    from bot.core.store import GuildStore

    bot = StyleBot(settings, RecordingQueue(), GuildStore(settings.database_path), guild_ready_timeout=0.05)
    async with running(fake, bot):
        logging.getLogger("tests").info("settings: %s / %r", settings, settings)
        await style_message(fake, args="size=32 steps=2 coarse_steps=1")
        await wait_result(fake)
    assert "logging in using static token" in caplog.text  # discord.py's own debug/info logs were captured
    assert "**********" in caplog.text  # the settings were logged, masked
    assert token not in caplog.text
    assert token.split(".")[0] not in caplog.text


def run_module(env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot"], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=60, check=False)


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DISCORD_TOKEN"}
    return {**env, "PYTHONPATH": str(REPO), **extra}


def test_missing_token_exits_2_with_one_line(tmp_path: Path) -> None:
    done = run_module(clean_env(), tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "stylebot: DISCORD_TOKEN is not set; set it in the environment or in .env (see .env.example)"]
    assert "Traceback" not in done.stderr and done.stdout == ""


def test_invalid_setting_exits_2_with_one_line(tmp_path: Path) -> None:
    done = run_module(clean_env(DISCORD_TOKEN="x", WORKERS="many"), tmp_path)
    assert done.returncode == 2
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("stylebot: invalid setting WORKERS:")


def test_token_from_dotenv_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("DISCORD_TOKEN=from-dotenv\nCOMMAND_PREFIX=?\n")
    os.chdir(tmp_path)  # pydantic-settings reads .env from the working directory
    try:
        settings = BotSettings()
    finally:
        os.chdir(REPO)
    assert settings.discord_token is not None and settings.discord_token.get_secret_value() == "from-dotenv"
    assert settings.command_prefix == "?" and "from-dotenv" not in repr(settings)


async def test_progress_edits_are_coalesced_to_the_interval(fake: FakeDiscord, make_bot) -> None:
    # previews off on both sides, as the bot builds its queue: with them on, percentage-only edits wait up
    # to FIRST_LOOK_WAIT_S for a first look that this queue (preview_every=0) never paints
    async with running(fake, make_bot(RecordingQueue(stylizer=Paced()), preview=False)) as bot:
        request = await style_message(fake, args="size=32 steps=100 coarse_steps=1")
        await wait_result(fake)
        done = await wait_status(fake, request, "✅ Done")
    edits = [h.time for h in fake.hits("PATCH", rf"^/channels/{CHANNEL}/messages/{done['id']}$")]
    progress = edits[1:-1]  # the first shows the queue position, the last the outcome
    assert len(progress) >= 2, "the job was too short to show progress"
    gaps = [b - a for a, b in itertools.pairwise(progress)]
    assert min(gaps) >= bot.settings.progress_interval_s * 0.9


async def test_sigterm_shuts_the_bot_down_and_run_returns_0(fake: FakeDiscord, settings: BotSettings) -> None:
    from bot.__main__ import run

    task = asyncio.create_task(run(settings))
    await fake.wait_until_connected(timeout=STARTUP_S)
    await fake.wait_for(lambda e: e.kind == "commands_sync")  # setup_hook is done: the queue is open
    os.kill(os.getpid(), signal.SIGTERM)
    assert await asyncio.wait_for(task, 30) == 0
    assert fake.identifies == 1


async def test_unreachable_discord_is_one_log_line_and_status_1(settings: BotSettings, caplog) -> None:
    import discord.http

    from bot.__main__ import run

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    old, discord.http.Route.BASE = discord.http.Route.BASE, f"http://127.0.0.1:{port}/api/v10"
    try:
        assert await asyncio.wait_for(run(settings), 30) == 1
    finally:
        discord.http.Route.BASE = old
    assert "cannot reach Discord" in caplog.text

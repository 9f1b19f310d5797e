"""The bot on the Redis queue (REDIS_URL), with a real redis-server and a real `python -m engine.worker`.

The queue comes from ``bot.__main__.build_queue``, the code `python -m bot` runs, so this also
proves the wiring; the bot code itself does not know which queue is live. Skipped when
redis-server is not installed (the scale-out suite explains how to get it).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.__main__ import build_queue
from bot.client import StyleBot
from bot.core.settings import BotSettings
from bot.core.store import GuildStore
from engine.jobs.redis.queue import RedisJobQueue
from tests.bot.conftest import (
    ADMIN,
    ALICE,
    CHANNEL,
    CONTENT,
    GUILD,
    STYLE,
    running,
    style_message,
    wait_result,
    wait_status,
)
from tests.bot.test_buttons import button
from tests.bot.test_engine_check import run_without_engine
from tests.support.fakediscord import FakeDiscord
from tests.support.redis import RedisServer, WorkerPool

pytestmark = [pytest.mark.timeout(180), pytest.mark.redis]
QUEUE = "stylebot"  # QUEUE_NAME's default (QueueSettings), which the bot's settings keep


@pytest.fixture(scope="module")
def redis_worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not on PATH (apt-get install redis-server)")
    server = RedisServer(binary, tmp_path_factory.mktemp("bot-redis"))
    server.start()
    pool = WorkerPool(server, tmp_path_factory.mktemp("bot-workers"), size=1, queue=QUEUE)
    try:
        pool.ensure()
        yield server
    finally:
        pool.stop()
        server.stop()


def redis_bot(server: RedisServer, settings: BotSettings) -> StyleBot:
    chosen = settings.model_copy(update={"redis_url": server.url})
    queue = build_queue(chosen)
    assert isinstance(queue, RedisJobQueue)
    return StyleBot(chosen, queue, GuildStore(chosen.database_path), guild_ready_timeout=0.05)


async def test_style_runs_on_a_redis_worker(fake: FakeDiscord, settings: BotSettings,
                                            redis_worker: RedisServer) -> None:
    async with running(fake, redis_bot(redis_worker, settings)):
        request = await style_message(fake, ALICE, args="size=32 steps=3 levels=1")
        result = await wait_result(fake)
        assert result["message_reference"]["message_id"] == request["id"]
        await wait_status(fake, request, "✅ Done")


async def test_a_restarted_bot_delivers_what_the_worker_finished_meanwhile(
        fake: FakeDiscord, settings: BotSettings, redis_worker: RedisServer, tmp_path: Path) -> None:
    async with running(fake, redis_bot(redis_worker, settings)):
        request = await style_message(fake, ALICE, args="size=32 steps=150 levels=1")  # a few seconds
        await wait_status(fake, request, "Queued")
    assert not [m for m in fake.messages(CHANNEL) if m["embeds"]], "finished before the bot stopped"
    # the bot is down; the worker goes on. A new bot process picks the job up from Redis.
    async with running(fake, redis_bot(redis_worker, settings)):
        result = await wait_result(fake)
        assert result["message_reference"]["message_id"] == request["id"]
        await wait_status(fake, request, "✅ Done")
        results = [m for m in fake.messages(CHANNEL) if m["embeds"] and m["attachments"]]
        assert len(results) == 1


async def test_a_gif_comes_back_animated_from_a_redis_worker(fake: FakeDiscord, settings: BotSettings,
                                                             redis_worker: RedisServer) -> None:
    from engine.demo import gif_bytes, moving_scene
    from engine.nst.media import decode_clip

    gif = ("clip.gif", gif_bytes(moving_scene(3, 48, 36), duration_ms=100), "image/gif")
    async with running(fake, redis_bot(redis_worker, settings)):
        request = await style_message(fake, ALICE, args="size=32 steps=2 levels=1 frame_steps=2 format=gif",
                                      attachments=(gif, STYLE))
        result = await wait_result(fake)
        assert result["message_reference"]["message_id"] == request["id"]
        [attachment] = result["attachments"]
        clip = decode_clip(fake.attachment_bytes(attachment))
        assert attachment["filename"] == "stylized.gif" and len(clip.frames) == 3 and clip.format == "GIF"
        assert clip.durations_ms == [100] * 3
        await wait_status(fake, request, "✅ Done")


def test_a_bot_installed_without_the_engine_gets_a_painting_from_a_redis_worker(
        redis_worker: RedisServer, tmp_path: Path) -> None:
    """`pip install stylebot` (no extras) is enough for Redis mode: submit, result, delivery's fitting."""
    done = run_without_engine(f"""
        import asyncio
        from PIL import Image
        from bot.__main__ import build_queue
        from bot.answers.upload import fit_file
        from bot.core.settings import BotSettings
        from engine.jobs import JobSpec
        from engine.nst.images import encode_image

        async def main():
            settings = BotSettings(_env_file=None, redis_url={redis_worker.url!r},
                                   database_path={str(tmp_path / "bot.sqlite3")!r})
            queue = build_queue(settings)
            await queue.start()
            photo = encode_image(Image.new("RGB", (40, 32), (200, 40, 30)), format="png")
            painting = encode_image(Image.effect_noise((32, 32), 80).convert("RGB"), format="png")
            handle = await queue.submit(JobSpec(photo, (painting,), {{"size": 32, "steps": 2, "levels": 1}}))
            result = await asyncio.wait_for(handle.result(), 120)
            data, name, _ = fit_file(result.image, 2000)
            await queue.close(0)
            print(name, len(data) <= 2000, engine_imported())

        asyncio.run(main())
    """, tmp_path)
    assert done.returncode == 0, done.stderr
    name, fits, engine = done.stdout.split()
    assert name.startswith("stylized.") and fits == "True" and engine == "[]", done.stdout


async def test_saved_styles_grids_and_upscales_run_on_a_redis_worker(
        fake: FakeDiscord, settings: BotSettings, redis_worker: RedisServer) -> None:
    async with running(fake, redis_bot(redis_worker, settings)):
        saved = await fake.send_message(CHANNEL, ADMIN, "!style save starry", attachments=[STYLE])
        await wait_status(fake, saved, "✅ Saved `starry`")
        request = await fake.send_message(CHANNEL, ALICE, "!style starry grid size=32 steps=2 levels=1",
                                          attachments=[CONTENT])
        grid = await wait_result(fake)
        assert grid["embeds"][0]["title"] == "🎨 Strength grid"
        status = fake.message(CHANNEL, grid["message_reference"]["message_id"])
        assert status["message_reference"]["message_id"] == request["id"]  # the inputs ride on the status
        await fake.click_button(CHANNEL, ALICE, grid["id"], button(grid, "Upscale β×4"))
        upscaled = await wait_result(fake, predicate=lambda m: m["id"] != grid["id"])
        assert upscaled["embeds"][0]["title"] == "⬆️ Upscaled"
        footer = upscaled["embeds"][0]["footer"]["text"]
        assert "size=64" in footer and "style_weight=400.0" in footer



async def test_a_korean_server_reads_the_workers_messages_in_korean(
        fake: FakeDiscord, settings: BotSettings, redis_worker: RedisServer) -> None:
    """What crosses the Redis hash is a key and its arguments (a cancel's reason here), said in Korean."""
    async with running(fake, redis_bot(redis_worker, settings)) as bot:
        await bot.store.update(GUILD, language="ko")
        request = await style_message(fake, ALICE, args="size=32 steps=400 levels=1")  # long enough to cancel
        status = await wait_status(fake, request, "🎨 그리는 중", timeout=60)
        [[cancel]] = [row["components"] for row in status["components"]]
        assert cancel["label"] == "취소"
        await fake.click_button(CHANNEL, ALICE, status["id"], cancel["custom_id"])
        final = await wait_status(fake, request, "🛑 취소됐어요: alice 님이 취소했어요", timeout=60)
        assert final["components"] == []
        job_id = cancel["custom_id"].split(":")[2]
        error = await bot.queue.store.redis.hget(bot.queue.store.job(job_id), "error")
        assert json.loads(error) == {"key": "job.cancelled_by", "args": {"name": "alice"}}


async def test_queue_and_stats_answer_from_a_redis_queue(fake: FakeDiscord, settings: BotSettings,
                                                         redis_worker: RedisServer) -> None:
    from tests.bot.test_queue_stats import answer

    async with running(fake, redis_bot(redis_worker, settings)):
        await fake.wait_for(lambda e: e.kind == "commands_sync")
        request = await style_message(fake, ALICE, args="size=32 steps=150 levels=1")  # a few seconds
        await wait_status(fake, request, "Queued")
        lines = (await answer(fake, ALICE, "queue")).splitlines()
        total = next(i for i, line in enumerate(lines) if line.startswith("In all, "))
        assert lines[0] == "Your job:" and lines[total + 1:] in (  # the share, while the job is in the queue
            [], ["1 of the 1 job waiting is from this channel."]), lines
        assert " waiting, " in lines[1] or " painting, " in lines[1] or " finished" in lines[1], lines
        await wait_status(fake, request, "✅ Done", timeout=120)
        stats = (await answer(fake, ALICE, "stats")).splitlines()
        assert stats[1] == "Jobs today (UTC): 1; in all: 1" and stats[2].endswith(" s"), stats

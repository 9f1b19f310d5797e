"""Drafts in Redis mode: a real redis-server and a real `python -m engine.worker` draw them, the bot only asks.

The first look on the status message is the worker's draft; ``quick`` and ``try`` come back from the
worker like any result, with their controls. (The bot-only install importing neither onnxruntime nor
torch is proved in tests/bot/test_engine_check.py, which blocks both.)
"""

from __future__ import annotations

import pytest

from bot.core.settings import BotSettings
from tests.bot.conftest import ALICE, BOB, CHANNEL, running, wait_done, wait_result
from tests.bot.test_buttons import button
from tests.bot.test_drafts import PAINTING, PHOTO, expected_preview, first_preview, menu, same_picture, save
from tests.bot.test_redis_mode import redis_bot, redis_worker  # noqa: F401 - the module's worker fixture
from tests.support.fakediscord import FakeDiscord
from tests.support.redis import RedisServer

pytestmark = [pytest.mark.timeout(180), pytest.mark.redis]


async def test_the_workers_draft_is_the_first_look_on_the_status_message(
        fake: FakeDiscord, settings: BotSettings, redis_worker: RedisServer) -> None:  # noqa: F811
    quiet = settings.model_copy(update={"preview_every": 1000})  # the optimisation's only preview: its last rung
    async with running(fake, redis_bot(redis_worker, quiet)):
        request = await fake.send_message(CHANNEL, ALICE, "!style size=32 levels=1 steps=50",
                                          attachments=[PHOTO, PAINTING])
        await wait_done(fake, request)
    edit, shown = first_preview(fake, request)
    assert "Painting" in edit["content"]
    assert same_picture(shown, expected_preview(PHOTO[1], PAINTING[1], 32))


async def test_quick_and_try_come_back_from_a_worker_with_their_controls(
        fake: FakeDiscord, settings: BotSettings, redis_worker: RedisServer) -> None:  # noqa: F811
    async with running(fake, redis_bot(redis_worker, settings)) as bot:
        quick_request = await fake.send_message(CHANNEL, ALICE, "!style quick size=32 steps=2 levels=1",
                                                attachments=[PHOTO, PAINTING])
        quick = await wait_done(fake, quick_request)
        assert quick["embeds"][0]["title"] == "⚡ Quick draft"
        await fake.click_button(CHANNEL, BOB, quick["id"], button(quick, "Paint it properly"))
        painted = await wait_result(fake, predicate=lambda m: m["id"] != quick["id"])
        assert painted["embeds"][0]["title"] == "🎨 Stylized"

        await save(bot, ["ocean", "sunset"])
        try_request = await fake.send_message(CHANNEL, ALICE, "!style try size=32 steps=2 levels=1",
                                              attachments=[PHOTO])
        sheet = await wait_done(fake, try_request)
        assert sheet["embeds"][0]["title"] == "🎨 Your photo in 2 saved styles"
        seen = {m["id"] for m in fake.messages(CHANNEL)}
        select = menu(sheet)
        await fake.click_button(CHANNEL, BOB, sheet["id"], select["custom_id"], values=["ocean"])
        chosen = await wait_result(fake, predicate=lambda m: m["id"] not in seen)
        assert chosen["embeds"][0]["title"] == "🎨 Stylized" and chosen["content"] == f"<@{BOB}>"

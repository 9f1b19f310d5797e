"""The right-click menu and 🎨 Restyle on the Redis queue: a real redis-server and `python -m engine.worker`."""

from __future__ import annotations

import pytest

from bot.core.settings import BotSettings
from tests.bot.conftest import ALICE, BOB, CHANNEL, CONTENT, GUILD, running, wait_result
from tests.bot.test_buttons import button
from tests.bot.test_menus import MONET, PAINT, STARRY, pick, save_styles
from tests.bot.test_redis_mode import redis_bot, redis_worker  # noqa: F401 - the module's fixture
from tests.support.fakediscord import FakeDiscord
from tests.support.redis import RedisServer

pytestmark = [pytest.mark.timeout(180), pytest.mark.redis]


async def test_paint_in_a_style_and_restyle_on_a_redis_worker(
        fake: FakeDiscord, settings: BotSettings, redis_worker: RedisServer) -> None:  # noqa: F811
    async with running(fake, redis_bot(redis_worker, settings)) as bot:
        await bot.store.update(GUILD, size=32)  # the menus take no options: the server's default size
        await save_styles(bot, {"starry": STARRY, "monet": MONET})
        posted = await fake.send_message(CHANNEL, BOB, "", attachments=[CONTENT])
        menu = await fake.send_context_menu(CHANNEL, ALICE, PAINT, message_id=posted["id"])
        await pick(fake, ALICE, menu, "starry")
        result = await wait_result(fake, predicate=lambda m: m["message_reference"]["message_id"] == posted["id"])
        assert result["content"].startswith(f"<@{ALICE}>") and "size=32" in result["embeds"][0]["footer"]["text"]

        click = await fake.click_button(CHANNEL, ALICE, result["id"], button(result, "Restyle"))
        await pick(fake, ALICE, click, "monet")
        again = await wait_result(fake, predicate=lambda m: m["message_reference"]["message_id"] == result["id"])
        assert again["content"].startswith(f"<@{ALICE}> restyled in `monet`")

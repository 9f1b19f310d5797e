"""Images from links, end to end: `!style <link> <link>` and `/style content_url:` through the loopback Discord,
the links served by a fake public internet on 127.0.0.1 (tests/support/webhosts), the public-address check on."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.client import StyleBot
from bot.core.settings import BotSettings
from bot.core.store import GuildStore
from bot.requests.links import LinkFetcher
from tests.bot.conftest import (
    ALICE,
    CHANNEL,
    CONTENT,
    STYLE,
    TINY,
    RecordingQueue,
    running,
    style_message,
    wait_result,
    wait_status,
    wait_text,
)
from tests.support.engines import Tiny
from tests.support.fakediscord import FakeDiscord
from tests.support.webhosts import IMAGE, WebHosts

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
async def web() -> AsyncIterator[WebHosts]:
    async with WebHosts() as hosts:
        yield hosts


def link_bot(settings: BotSettings, web: WebHosts, **queue: object) -> StyleBot:
    fetcher = LinkFetcher(settings.max_attachment_bytes, network=web.network, connect_timeout_s=1.0,
                          total_timeout_s=5.0)
    jobs = RecordingQueue(workers=1, per_user_limit=10, max_queue=50, database_path=settings.database_path,
                          **queue)
    return StyleBot(settings, jobs, GuildStore(settings.database_path), links=fetcher, guild_ready_timeout=0.05)


async def test_style_with_two_links_paints_the_first_in_the_style_of_the_second(
        fake: FakeDiscord, settings: BotSettings, web: WebHosts) -> None:
    async with running(fake, link_bot(settings, web)) as bot:
        photo, painting = web.url("/image.png?ex=1&hm=token"), f"<{web.url('/hops/1')}>"
        request = await style_message(fake, args=f"{TINY} {photo} {painting}", attachments=())
        result = await wait_result(fake)
        [spec] = bot.queue.submitted
        assert spec.content == IMAGE and spec.styles == (IMAGE,)
        assert web.hits == ["/image.png", "/hops/1", "/hops/0", "/image.png"]
        status = fake.message(CHANNEL, result["message_reference"]["message_id"])
        assert status["message_reference"]["message_id"] == request["id"]  # copies of the inputs ride on it
        assert [a["filename"] for a in status["attachments"]] == ["content.png", "style.png"]


async def test_a_link_mixes_with_an_attached_photo_and_a_refused_link_is_one_sentence(
        fake: FakeDiscord, settings: BotSettings, web: WebHosts) -> None:
    async with running(fake, link_bot(settings, web)) as bot:
        await style_message(fake, args=f"{TINY} {web.url('/image.png')}", attachments=(CONTENT,))
        await wait_result(fake)
        assert bot.queue.submitted[0].content == CONTENT[1] and bot.queue.submitted[0].styles == (IMAGE,)

        refused = await style_message(fake, args=f"{TINY} http://127.0.0.1:{web.port}/image.png",
                                      attachments=(CONTENT,))
        said = await wait_status(fake, refused, "leads to a private or local network address")
        assert said["content"] == ("⚠️ the link `127.0.0.1/image.png` leads to a private or local network "
                                   "address, so I won't fetch it")
        scheme = await style_message(fake, args=f"{TINY} file:///etc/passwd", attachments=(CONTENT,))
        await wait_status(fake, scheme, "is not an http or https link")
        assert len(bot.queue.submitted) == 1 and web.hits == ["/image.png"]


async def test_slash_style_takes_the_photo_from_content_url(
        fake: FakeDiscord, settings: BotSettings, web: WebHosts) -> None:
    async with running(fake, link_bot(settings, web, stylizer=Tiny())) as bot:
        await fake.wait_for(lambda e: e.kind == "commands_sync")
        await fake.send_slash(CHANNEL, ALICE, "style", {"content_url": web.url("/image.png")}, {"style": STYLE})
        await wait_result(fake)
        [spec] = bot.queue.submitted
        assert spec.content == IMAGE and spec.styles == (STYLE[1],)

        await fake.send_slash(CHANNEL, ALICE, "style", {"content_url": web.url("/image.png")},
                              {"content": CONTENT, "style": STYLE})
        said = await wait_text(fake, CHANNEL, "not both")
        assert said["content"] == "⚠️ give the photo once: as `content` or as `content_url`, not both"
        assert len(bot.queue.submitted) == 1

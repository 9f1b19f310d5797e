"""Fair in a busy channel: ``channel_limit`` (jobs one channel may have waiting), ``cooldown`` (the wait between one
member's jobs), each refusal saying when to try again, and ``/queue`` showing the channel's share.

The jobs are held by a :class:`~tests.support.engines.Tap`, so nothing is painted but what a test opens.
"""

from __future__ import annotations

import re

import pytest

from bot.core.store import parse_setting
from engine.errors import ParamError
from tests.bot.conftest import (
    ADMIN,
    ALICE,
    BOB,
    CHANNEL,
    GUILD,
    OTHER_CHANNEL,
    RecordingQueue,
    running,
    style_message,
    wait_done,
    wait_status,
)
from tests.bot.test_queue_stats import answer
from tests.support.engines import Tap
from tests.support.fakediscord import FakeDiscord

pytestmark = pytest.mark.timeout(120)


async def configure(fake: FakeDiscord, setting: str) -> None:
    """``!styleconfig set …`` as a server admin types it."""
    asked = await fake.send_message(CHANNEL, ADMIN, f"!styleconfig set {setting}")
    await wait_status(fake, asked, "✅", timeout=10)


async def test_a_cooldown_refuses_a_members_next_job_saying_when_in_their_language(fake: FakeDiscord,
                                                                                    make_bot) -> None:
    async with running(fake, make_bot(RecordingQueue(stylizer=Tap()))) as bot:
        await configure(fake, "cooldown 30s")
        assert (await bot.store.get(GUILD)).cooldown == 30.0
        first = await style_message(fake, ALICE)
        await wait_status(fake, first, "Painting")
        again = await style_message(fake, ALICE)
        refused = await wait_status(fake, again, "⚠️")
        assert re.search(r"this server asks for 30 s between one member's jobs; try again in (29|30) s",
                         refused["content"]), refused["content"]
        other = await style_message(fake, BOB)  # Bob's own cooldown has not started
        await wait_status(fake, other, "Queued")

        await bot.store.update(GUILD, language="ko")
        korean = await style_message(fake, ALICE)
        refused = await wait_status(fake, korean, "⚠️")
        assert re.search(r"같은 사람의 작업 사이에 대기 시간\(30초\)이 있어요\. \d+초 뒤에 다시 요청해 주세요",
                         refused["content"]), refused["content"]
        assert len(bot.queue.submitted) == 2


async def test_a_full_channel_refuses_with_the_time_a_place_frees_and_queue_shows_its_share(
        fake: FakeDiscord, make_bot) -> None:
    tap = Tap(is_open=True)
    async with running(fake, make_bot(RecordingQueue(stylizer=tap))) as bot:
        await fake.wait_for(lambda e: e.kind == "commands_sync")
        await wait_done(fake, await style_message(fake, ALICE))  # one finished job: the queue can foresee times
        tap.close()
        await configure(fake, "channel_limit 2")
        await wait_status(fake, await style_message(fake, ALICE), "Painting")
        await wait_status(fake, await style_message(fake, BOB), "Queued")
        elsewhere = await style_message(fake, BOB, channel=OTHER_CHANNEL)  # another channel has room
        await wait_status(fake, elsewhere, "Queued")

        full = await style_message(fake, ADMIN)
        refused = await wait_status(fake, full, "⚠️")
        assert re.search(r"this channel already has 2 jobs waiting, the most this server allows per channel; "
                         r"try again in \d+(\.\d)? (s|min)", refused["content"]), refused["content"]
        assert len(bot.queue.submitted) == 4

        lines = (await answer(fake, ALICE, "queue")).splitlines()
        assert lines[-2:] == ["In all, 3 jobs are waiting or running.",
                              "2 of the 3 jobs waiting are from this channel."]


def test_a_cooldown_is_typed_as_a_duration() -> None:
    assert [parse_setting("cooldown", text)[1] for text in ("30", "30s", "2m", "1m30s", "1h")] == [
        30.0, 30.0, 120.0, 90.0, 3600.0]
    assert parse_setting("cooldown", "default") == ("cooldown", None)
    for bad in ("soon", "0", "30x", ""):
        with pytest.raises(ParamError, match="give a duration such as"):
            parse_setting("cooldown", bad)

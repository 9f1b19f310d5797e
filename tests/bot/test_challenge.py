"""The weekly style challenge end to end against the loopback Discord: start (and its pinned announcement),
entries with 🗳️ Vote, votes (one per member, movable, not one's own, two at once), the end by the clock,
by a moderator and after a restart while the bot was down, the winners' sheet, history, both languages
and both queue modes.
"""

from __future__ import annotations

import asyncio
import io
import sqlite3
from typing import Any

import pytest
from PIL import Image

from bot.core.challenges import ChallengeBook
from bot.core.settings import BotSettings
from bot.core.store import GuildStore
from tests.bot.conftest import (
    ADMIN,
    ALICE,
    BOB,
    CHANNEL,
    CONTENT,
    GUILD,
    OTHER_CHANNEL,
    RESULT_TIMEOUT,
    TINY,
    PayloadSpy,
    bot_messages,
    running,
    style_message,
    wait_result,
    wait_text,
)
from tests.bot.test_buttons import button
from tests.bot.test_menus import STARRY, first_answer, save_styles
from tests.bot.test_redis_mode import redis_bot, redis_worker  # noqa: F401 - the module's fixture
from tests.support.fakediscord import EMBED_LINKS, EPHEMERAL, PIN_MESSAGES, FakeDiscord
from tests.support.redis import RedisServer

pytestmark = pytest.mark.timeout(180)

LINK = f"https://discord.com/channels/{GUILD}/{CHANNEL}/"


def has_vote(message: dict[str, Any]) -> bool:
    return any(item.get("label") in ("Vote", "투표") for row in message["components"] for item in row["components"])


async def start(fake: FakeDiscord, args: str = "starry 7", user: int = ADMIN, **kwargs: Any) -> dict[str, Any]:
    """A moderator's ``!stylechallenge start``; returns the bot's answer to it."""
    request = await fake.send_message(CHANNEL, user, f"!stylechallenge start {args}", **kwargs)
    return await fake.wait_for_message(
        CHANNEL, lambda m: m.get("message_reference", {}).get("message_id") == request["id"], 15)


def announcement(fake: FakeDiscord) -> dict[str, Any]:
    [posted] = [m for m in bot_messages(fake, CHANNEL) if m["embeds"] and "🏆" in m["embeds"][0]["title"]]
    return posted


async def enter(fake: FakeDiscord, user: int, channel: int = CHANNEL, *, entry: bool = True) -> dict[str, Any]:
    """``user`` paints a photo in `starry` in ``channel``; their result, once it is an entry (with 🗳️ Vote)
    when ``entry``, else once the bot has handled its delivery."""
    request = await style_message(fake, user, f"starry {TINY}", channel, attachments=(CONTENT,))
    result = await wait_result(fake, channel, predicate=lambda m: m["content"].startswith(f"<@{user}>")
                               and int(m["id"]) > int(request["id"]))  # it replies to the status (with the inputs)
    if not entry:
        await wait_text(fake, channel, f"/{result['id']}")  # the status says Done (after the delivery's events)
        return result
    return await fake.wait_for_message(CHANNEL, lambda m: m["id"] == result["id"] and has_vote(m), 10)


async def vote(fake: FakeDiscord, user: int, entry: dict[str, Any]) -> str:
    """What ``user`` reads (answered to them only) after clicking Vote on ``entry``."""
    click = await fake.click_button(CHANNEL, user, entry["id"], button(entry, "Vote"))
    answer = await first_answer(fake, click)
    assert answer["type"] == 4 and answer["data"]["flags"] & EPHEMERAL
    return answer["data"]["content"]


async def winners_sheet(fake: FakeDiscord, timeout: float = 20.0) -> dict[str, Any]:
    return await fake.wait_for_message(CHANNEL, lambda m: "has ended.**" in m["content"] or "끝났어요.**" in
                                       m["content"], timeout, edits=False)


def sheets(fake: FakeDiscord) -> list[dict[str, Any]]:
    return [m for m in bot_messages(fake, CHANNEL) if "has ended.**" in m["content"]]


async def test_a_challenge_from_its_pinned_announcement_to_the_winners_sheet(fake: FakeDiscord, bot) -> None:
    fake.set_overwrite(CHANNEL, fake.bot_id, allow=PIN_MESSAGES)
    answer = await start(fake, attachments=[("starry.png", STARRY, "image/png")])  # saved as `starry` on the way
    assert "has started in" in answer["content"] and "could not pin" not in answer["content"]
    assert "starry" in bot.library.names(GUILD)
    posted = announcement(fake)
    assert posted["pinned"] and posted["embeds"][0]["image"]["url"].startswith("attachment://painting.")
    assert "`!style starry`" in posted["embeds"][0]["description"] and f"<#{CHANNEL}>" in posted["embeds"][0]["description"]

    alice, bob = await enter(fake, ALICE), await enter(fake, BOB)
    elsewhere = await enter(fake, ADMIN, OTHER_CHANNEL, entry=False)  # not in the challenge's channel: no entry
    assert not has_vote(elsewhere)

    assert await vote(fake, BOB, alice) == f"🗳️ Your vote is for <@{ALICE}>'s entry. You can move it to another " \
                                            "entry until the challenge ends."
    assert await vote(fake, ALICE, alice) == "You cannot vote for your own entry; vote for someone else's."
    assert "your own entry" in await vote(fake, BOB, bob)
    assert "already for" in await vote(fake, BOB, alice)
    assert "is for" in await vote(fake, ADMIN, bob)
    assert "now goes to" in await vote(fake, ADMIN, alice)  # moved: Alice 2, Bob 0
    assert "is for" in await vote(fake, ALICE, bob)  # Bob 1

    status = await fake.send_message(CHANNEL, BOB, "!stylechallenge")
    said = await wait_text(fake, CHANNEL, "runs in")
    assert said["message_reference"]["message_id"] == status["id"]
    assert "2 entries so far, 3 votes" in said["content"] and f"The rules: {LINK}{posted['id']}" in said["content"]

    refused = await fake.send_message(CHANNEL, BOB, "!stylechallenge end")
    await fake.wait_for_message(CHANNEL, lambda m: m.get("message_reference", {}).get("message_id") == refused["id"]
                                and "Manage Server" in m["content"])
    assert await bot.challenges.running(GUILD) is not None

    await fake.send_message(CHANNEL, ADMIN, "!stylechallenge end")
    sheet = await winners_sheet(fake)
    lines = sheet["content"].splitlines()
    assert lines[0] == "🏁 **The style challenge in `starry` has ended.**"
    assert lines[1] == f"🥇 <@{ALICE}>, 2 votes: {LINK}{alice['id']}"
    assert lines[2] == f"🥈 <@{BOB}>, 1 vote: {LINK}{bob['id']}"
    with Image.open(io.BytesIO(fake.attachment_bytes(alice["attachments"][0]))) as entry, \
            Image.open(io.BytesIO(fake.attachment_bytes(sheet["attachments"][0]))) as picture:
        assert picture.width >= 2 * entry.width and picture.height > entry.height  # side by side, places below
    edited = await fake.wait_for_message(CHANNEL, lambda m: m["id"] == posted["id"] and "has ended" in m["content"])
    assert f"{LINK}{sheet['id']}" in edited["content"]
    await fake.wait_for(lambda e: e.kind == "unpin" and e.data["message_id"] == posted["id"])

    assert await vote(fake, BOB, bob) == "This style challenge has ended; its votes are counted."
    await fake.send_message(CHANNEL, ALICE, "!stylechallenge history")
    history = await wait_text(fake, CHANNEL, "Past style challenges")
    assert "`starry`, ended <t:" in history["content"] and f"<@{ALICE}> (2), <@{BOB}> (1)" in history["content"]
    assert len(sheets(fake)) == 1


async def test_refusals_a_second_challenge_and_an_unpinned_announcement(fake: FakeDiscord, bot) -> None:
    refused = await start(fake, user=ALICE)
    assert "Manage Server" in refused["content"] and await bot.challenges.running(GUILD) is None
    unknown = await start(fake, "nosuch 7")
    assert "no saved style `nosuch`" in unknown["content"]
    too_long = await start(fake, "nosuch 31")
    assert "at most 30 days" in too_long["content"]

    await save_styles(bot, {"starry": STARRY})
    answer = await start(fake)  # the bot may not pin in this channel: said, and the challenge runs
    assert "has started" in answer["content"] and "could not pin" in answer["content"]
    assert not announcement(fake)["pinned"]
    again = await start(fake)
    assert "already running" in again["content"]


async def test_the_clock_ends_a_challenge_and_a_picture_after_it_is_no_entry(fake: FakeDiscord, bot) -> None:
    await save_styles(bot, {"starry": STARRY})
    await start(fake, "starry 0.00004")  # about 3.5 s
    sheet = await winners_sheet(fake, timeout=30)
    assert "No entry got a vote" in sheet["content"] and not sheet["attachments"]
    late = await enter(fake, ALICE, entry=False)  # in its style and channel, but after its end
    assert not has_vote(late) and not has_vote(fake.message(CHANNEL, late["id"]))
    assert await bot.challenges.running(GUILD) is None


async def test_two_members_voting_at_once_both_count(fake: FakeDiscord, bot) -> None:
    await save_styles(bot, {"starry": STARRY})
    await start(fake)
    alice = await enter(fake, ALICE)
    first, second = await asyncio.gather(vote(fake, BOB, alice), vote(fake, ADMIN, alice))
    assert "is for" in first and "is for" in second
    challenge = await bot.challenges.running(GUILD)
    [entry] = await bot.challenges.standings(challenge.id)
    assert (entry.user_id, entry.votes) == (ALICE, 2)


async def test_a_challenge_across_restarts_ends_once_while_the_bot_was_down(
        fake: FakeDiscord, make_bot, settings: BotSettings) -> None:
    async with running(fake, make_bot()) as bot:
        await save_styles(bot, {"starry": STARRY})
        await start(fake)
        alice = await enter(fake, ALICE)
    async with running(fake, make_bot()):  # the Vote button works on the restarted bot
        assert "is for" in await vote(fake, BOB, alice)
    with sqlite3.connect(settings.database_path) as db:  # the week passes while the bot is down
        db.execute("UPDATE challenges SET ends_at = ends_at - 8 * 86400")
    async with running(fake, make_bot()):
        sheet = await winners_sheet(fake)
        assert f"🥇 <@{ALICE}>, 1 vote: {LINK}{alice['id']}" in sheet["content"]
    restarted, turned = make_bot(), asyncio.Event()

    async def turn() -> None:
        turned.set()

    restarted.add_listener(turn, "on_style_challenge_clock_turn")
    async with running(fake, restarted) as bot:  # once: the next start posts nothing more
        await asyncio.wait_for(turned.wait(), 30)  # the clock's first turn (at once) has seen the ended challenge
        assert len(sheets(fake)) == 1
        [past] = await bot.challenges.history(GUILD)
        assert [(w.user_id, w.votes) for w in past.winners] == [(ALICE, 1)] and past.sheet_id == int(sheet["id"])


async def test_in_korean_the_announcement_the_votes_and_the_status(fake: FakeDiscord, bot) -> None:
    await bot.store.update(GUILD, language="ko")
    await save_styles(bot, {"starry": STARRY})
    answer = await start(fake)
    assert "`starry` 스타일 챌린지를" in answer["content"]
    posted = announcement(fake)
    assert posted["embeds"][0]["title"] == "🏆 스타일 챌린지: `starry` 스타일로 그리기"
    alice = await enter(fake, ALICE)
    assert button(alice, "투표")
    await fake.send_message(CHANNEL, BOB, "!stylechallenge status")
    said = await wait_text(fake, CHANNEL, "진행 중이에요")
    assert "지금까지 참가작 1개, 0표" in said["content"]


async def test_slash_status_and_end(fake: FakeDiscord, bot) -> None:
    await fake.wait_for(lambda e: e.kind == "commands_sync")
    payload = await fake.send_slash(CHANNEL, ALICE, "stylechallenge status")
    answer = await first_answer(fake, payload)
    assert answer["data"]["content"].startswith("No style challenge is running") and answer["data"]["flags"] & EPHEMERAL
    await save_styles(bot, {"starry": STARRY})
    started = await fake.send_slash(CHANNEL, ADMIN, "stylechallenge start", {"style": "starry", "days": 2.5})
    assert (await first_answer(fake, started))["type"] == 5  # deferred: the answer follows, to the moderator only
    answer = await wait_text(fake, CHANNEL, "has started")
    assert answer["flags"] & EPHEMERAL
    challenge = await bot.challenges.running(GUILD)
    assert round(challenge.ends_at - challenge.starts_at) == 2.5 * 86400
    ended = await fake.send_slash(CHANNEL, ADMIN, "stylechallenge end")
    await fake.wait_for(lambda e: e.kind == "interaction_callback" and e.data["token"] == ended["token"])
    await winners_sheet(fake)
    assert await bot.challenges.running(GUILD) is None


async def test_a_database_from_before_challenges_gains_their_tables(tmp_path) -> None:
    path = str(tmp_path / "old.sqlite3")
    store = GuildStore(path)  # today's file: settings, records, no challenges
    await store.open()
    await store.update(GUILD, size=256)
    await store.close()
    book = ChallengeBook(path)
    await book.open()
    try:
        assert await book.running(GUILD) is None
    finally:
        await book.close()
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT version FROM schema_versions WHERE name = 'challenges'").fetchone() == (1,)
        assert db.execute("SELECT COUNT(*) FROM guild_settings").fetchone() == (1,)


@pytest.mark.redis
async def test_an_entry_painted_on_a_redis_worker_gets_its_vote(
        fake: FakeDiscord, settings: BotSettings, redis_worker: RedisServer) -> None:  # noqa: F811
    async with running(fake, redis_bot(redis_worker, settings)) as bot:
        await save_styles(bot, {"starry": STARRY})
        await start(fake)
        alice = await asyncio.wait_for(enter(fake, ALICE), RESULT_TIMEOUT)
        assert "is for" in await vote(fake, BOB, alice)


async def test_a_later_entry_replaces_the_earlier_and_a_deleted_one_is_off_the_podium(
        fake: FakeDiscord, bot) -> None:
    await save_styles(bot, {"starry": STARRY})
    await start(fake)
    first = await enter(fake, ALICE)
    assert "is for" in await vote(fake, BOB, first)
    second = await enter(fake, ALICE)  # Alice paints again: her latest is her entry, and keeps Bob's vote
    await fake.wait_for_message(CHANNEL, lambda m: m["id"] == first["id"] and not has_vote(m))
    click = await fake.click_button(CHANNEL, ADMIN, first["id"], button(first, "Vote"))  # an old message's button
    assert (await first_answer(fake, click))["data"]["content"].startswith("This picture is no longer an entry")
    challenge = await bot.challenges.running(GUILD)
    assert [(e.user_id, e.message_id, e.votes) for e in await bot.challenges.standings(challenge.id)] == \
        [(ALICE, int(second["id"]), 1)]

    bob = await enter(fake, BOB)
    assert "is for" in await vote(fake, ALICE, bob)
    await fake.delete_message(CHANNEL, bob["id"], ADMIN)  # a moderator deletes Bob's entry: off the podium
    for _ in range(100):  # the bot hears of it over the gateway
        if [e.user_id for e in await bot.challenges.standings(challenge.id)] == [ALICE]:
            break
        await asyncio.sleep(0.05)
    await fake.send_message(CHANNEL, ADMIN, "!stylechallenge end")
    sheet = await winners_sheet(fake)
    assert f"🥇 <@{ALICE}>, 1 vote" in sheet["content"] and f"<@{BOB}>" not in sheet["content"]


async def test_winners_are_pinged_only_where_the_server_opts_in(fake: FakeDiscord, bot) -> None:
    spy = PayloadSpy(bot)
    await save_styles(bot, {"starry": STARRY})
    await bot.store.update(GUILD, challenge_pings=True)
    await start(fake)
    alice = await enter(fake, ALICE)
    await vote(fake, BOB, alice)
    await fake.send_message(CHANNEL, ADMIN, "!stylechallenge end")
    await winners_sheet(fake)
    [mentions] = [body["allowed_mentions"] for _, body in spy.bodies if "has ended.**" in (body.get("content") or "")]
    assert mentions["users"] == [ALICE] and mentions["parse"] == []


async def test_a_channel_where_the_bot_cannot_announce_is_refused(fake: FakeDiscord, make_bot) -> None:
    fake.set_overwrite(OTHER_CHANNEL, fake.bot_id, deny=EMBED_LINKS)  # the rules would vanish from the post
    async with running(fake, make_bot()) as bot:
        await save_styles(bot, {"starry": STARRY})
        refused = await start(fake, f"starry 7 <#{OTHER_CHANNEL}>")
        assert "Embed Links" in refused["content"] and await bot.challenges.running(GUILD) is None
        answer = await start(fake, f"starry <#{CHANNEL}>")  # days left out: a week
        assert "has started" in answer["content"]
        challenge = await bot.challenges.running(GUILD)
        assert round(challenge.ends_at - challenge.starts_at) == 7 * 86400


async def test_korean_refusals(fake: FakeDiscord, bot) -> None:
    await bot.store.update(GUILD, language="ko")
    await save_styles(bot, {"starry": STARRY})
    refused = await start(fake, user=ALICE)
    assert "서버 관리" in refused["content"]
    await start(fake)
    alice = await enter(fake, ALICE)
    fake.user_locales[ALICE] = "ko"  # a button answers in the presser's own Discord language
    click = await fake.click_button(CHANNEL, ALICE, alice["id"], button(alice, "투표"))
    answer = await first_answer(fake, click)
    assert answer["data"]["content"] == "자기 참가작에는 투표할 수 없어요. 다른 사람의 참가작에 투표해 주세요."

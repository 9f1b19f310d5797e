"""The starboard: ⭐ from members bring a result to the gallery once, end to end through discord.py's gateway.

Each star is a MESSAGE_REACTION_ADD (or _REMOVE) from the loopback Discord; the tests wait for the bot's
``style_star_added`` / ``style_star_removed`` events, which it dispatches once a star is handled.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.client import StyleBot
from bot.core.store import GuildStore
from engine.jobs.report import JobReport
from tests.bot.conftest import (
    ADMIN,
    ALICE,
    BOB,
    CHANNEL,
    GALLERY,
    GUILD,
    PayloadSpy,
    bot_messages,
    running,
    style_message,
    wait_done,
    wait_result,
    wait_status,
)
from tests.bot.test_admin import admin_says
from tests.bot.test_buttons import button
from tests.bot.test_menus import first_answer
from tests.support.fakediscord import ATTACH_FILES, EPHEMERAL, FakeDiscord

pytestmark = pytest.mark.timeout(150)

STAR = "⭐"
CAROL = 900000000000002199
LINK = f"https://discord.com/channels/{GUILD}/{CHANNEL}/"


@pytest.fixture
async def carol(fake: FakeDiscord) -> int:
    """A third member, beside Bob and the admin, to give Alice's results their stars."""
    return fake.add_member(GUILD, fake.add_user("carol", user_id=CAROL))


@pytest.fixture
async def starboard(fake: FakeDiscord, carol: int, make_bot: Any) -> AsyncIterator[StyleBot]:
    """A running bot whose server reposts starred results to #gallery (2 stars needed)."""
    async with running(fake, make_bot()) as bot:
        await admin_says(fake, f"!styleconfig gallery <#{GALLERY}> starred")
        await admin_says(fake, "!styleconfig set stars 2")
        yield bot


async def a_result(fake: FakeDiscord, seed: int = 1) -> dict[str, Any]:
    """Alice's result, once its status message says it is done."""
    return await wait_done(fake, await style_message(fake, args=f"size=32 steps=2 coarse_steps=1 seed={seed}"))


async def star(fake: FakeDiscord, bot: StyleBot, message: dict[str, Any], user: int, emoji: str = STAR,
               *, remove: bool = False, channel: int = CHANNEL) -> int | None:
    """``user`` gives (or takes back) a reaction; the stars the bot then counts on the message (None: not counted)."""
    event = "style_star_removed" if remove else "style_star_added"
    handled = asyncio.ensure_future(bot.wait_for(
        event, check=lambda message_id, user_id, _: (message_id, user_id) == (int(message["id"]), user),
        timeout=10))
    await (fake.remove_reaction if remove else fake.add_reaction)(channel, message["id"], user, emoji)
    if emoji != STAR:
        handled.cancel()
        return None
    return (await handled)[2]


def gallery(fake: FakeDiscord) -> list[dict[str, Any]]:
    return bot_messages(fake, GALLERY)


def count(bot: StyleBot, sql: str, *args: object) -> int:
    """A count read straight from the bot's SQLite file (what a restart would find)."""
    with sqlite3.connect(bot.settings.database_path) as db:
        return db.execute(sql, args).fetchone()[0]


async def test_the_author_s_own_star_does_not_count_and_the_second_member_s_reposts_once(
        fake: FakeDiscord, starboard: StyleBot) -> None:
    bot, spy = starboard, PayloadSpy(starboard)
    result = await a_result(fake)
    assert await star(fake, bot, result, ALICE) is None  # her own
    assert await star(fake, bot, result, BOB) == 1
    assert gallery(fake) == []  # starred mode: nothing at delivery, and 1 of 2 stars
    assert await star(fake, bot, result, ADMIN) == 2
    [repost] = gallery(fake)
    assert repost["content"] == f"⭐ 2 stars · by <@{ALICE}> · {LINK}{result['id']}"
    assert repost["embeds"][0]["title"] == "🎨 Stylized" and repost["embeds"][0]["image"]["url"].endswith("gallery.png")
    assert [item["label"] for row in repost["components"] for item in row["components"]] == ["Parameters"]
    picture = result["attachments"][0]
    assert int(picture["id"]) in fake.downloads  # read from the result as posted
    assert fake.attachment_bytes(repost["attachments"][0]) == fake.attachment_bytes(picture)
    [body] = [b for _, b in spy.bodies if b.get("content") == repost["content"]]
    assert body["allowed_mentions"]["parse"] == [] and not body["allowed_mentions"].get("users")

    assert await star(fake, bot, result, CAROL) == 3  # more stars: the same one repost
    assert gallery(fake) == [repost]


async def test_stars_taken_back_below_the_threshold_and_given_again_do_not_repost_twice(
        fake: FakeDiscord, starboard: StyleBot) -> None:
    result = await a_result(fake)
    await star(fake, starboard, result, BOB)
    await star(fake, starboard, result, ADMIN)
    [repost] = gallery(fake)
    assert await star(fake, starboard, result, BOB, remove=True) == 1
    assert await star(fake, starboard, result, ADMIN, remove=True) == 0
    assert gallery(fake) == [repost]  # taking stars back never deletes the repost
    assert await star(fake, starboard, result, BOB) == 1
    assert await star(fake, starboard, result, ADMIN) == 2
    assert gallery(fake) == [repost]


async def test_two_stars_at_once_over_the_threshold_repost_once(fake: FakeDiscord, starboard: StyleBot) -> None:
    result = await a_result(fake)
    assert await star(fake, starboard, result, BOB) == 1
    both = await asyncio.gather(star(fake, starboard, result, ADMIN), star(fake, starboard, result, CAROL))
    assert sorted(both) == [2, 3]  # each saw enough stars and tried to claim the repost
    assert len(gallery(fake)) == 1
    assert count(starboard, "SELECT COUNT(*) FROM gallery_reposts WHERE result_id = ?", int(result["id"])) == 1


async def test_stars_survive_a_restart_between_them(fake: FakeDiscord, carol: int, make_bot: Any) -> None:
    async with running(fake, make_bot()) as bot:
        await admin_says(fake, f"!styleconfig gallery <#{GALLERY}> starred")  # the default: 3 stars
        result = await a_result(fake)
        assert await star(fake, bot, result, BOB) == 1
    async with running(fake, make_bot()) as again:  # same SQLite file, new process, nothing cached
        assert await star(fake, again, result, ADMIN) == 2
        assert gallery(fake) == []
        assert await star(fake, again, result, CAROL) == 3
        [repost] = gallery(fake)
        assert repost["content"].startswith("⭐ 3 stars")


async def test_in_every_mode_a_result_reposted_at_delivery_is_not_reposted_again_by_stars(
        fake: FakeDiscord, bot: StyleBot) -> None:
    await admin_says(fake, f"!styleconfig gallery <#{GALLERY}>")
    await admin_says(fake, "!styleconfig set stars 1")
    result = await a_result(fake)
    delivered = await wait_result(fake, GALLERY)
    assert delivered["content"] == f"🖼️ by <@{ALICE}>" and delivered["components"] == []  # as it always was
    assert await star(fake, bot, result, BOB) == 1
    assert await star(fake, bot, result, ADMIN) == 2
    assert gallery(fake) == [delivered]


async def test_a_result_deleted_by_its_button_or_by_a_moderator_in_discord_takes_its_repost_and_stars_along(
        fake: FakeDiscord, starboard: StyleBot) -> None:
    first, second = await a_result(fake, seed=1), await a_result(fake, seed=2)
    for result in (first, second):
        await star(fake, starboard, result, BOB)
        await star(fake, starboard, result, ADMIN)
    first_repost, second_repost = gallery(fake)
    assert first_repost["content"].endswith(first["id"]) and second_repost["content"].endswith(second["id"])

    await fake.click_button(CHANNEL, ALICE, first["id"], button(first, "Delete"))
    await fake.wait_for(lambda e: e.kind == "message_delete" and e.data["id"] == first_repost["id"])
    await fake.delete_message(CHANNEL, second["id"], ADMIN)  # no button: a moderator deletes it in Discord
    await fake.wait_for(lambda e: e.kind == "message_delete" and e.data["id"] == second_repost["id"])
    assert gallery(fake) == []
    assert len(fake.hits("DELETE", rf"^/channels/{GALLERY}/messages/")) == 2  # each repost deleted once
    for result in (first, second):
        assert count(starboard, "SELECT COUNT(*) FROM stars WHERE result_id = ?", int(result["id"])) == 0


async def test_a_repost_deleted_in_the_gallery_is_forgotten_and_not_reposted_again(
        fake: FakeDiscord, starboard: StyleBot) -> None:
    result = await a_result(fake)
    await star(fake, starboard, result, BOB)
    await star(fake, starboard, result, ADMIN)
    [repost] = gallery(fake)
    await fake.delete_message(GALLERY, repost["id"], ADMIN)
    assert await star(fake, starboard, result, CAROL) == 3
    assert gallery(fake) == []
    assert count(starboard, "SELECT COUNT(*) FROM gallery_reposts WHERE result_id = ?", int(result["id"])) == 0


async def test_parameters_on_the_repost_answer_with_the_original_result_s(
        fake: FakeDiscord, starboard: StyleBot) -> None:
    result = await a_result(fake, seed=7)
    await star(fake, starboard, result, BOB)
    await star(fake, starboard, result, ADMIN)
    [repost] = gallery(fake)
    said = []
    for channel, message in ((GALLERY, repost), (CHANNEL, result)):
        click = await fake.click_button(channel, CAROL, message["id"], button(message, "Parameters"))
        answer = await first_answer(fake, click)
        assert answer["type"] == 4 and answer["data"]["flags"] & EPHEMERAL
        said.append(answer["data"]["content"])
    assert said[0] == said[1] and said[0].startswith("📋 **Parameters of this result**") and "seed: 7" in said[0]


async def test_a_star_on_another_message_and_another_emoji_on_a_result_count_for_nothing(
        fake: FakeDiscord, starboard: StyleBot) -> None:
    request = await style_message(fake, args="size=32 steps=2 coarse_steps=1")
    result = await wait_done(fake, request)
    assert await star(fake, starboard, request, BOB) is None  # Alice's own message, not a result
    await star(fake, starboard, result, BOB, "🎨")
    await star(fake, starboard, result, CAROL, "🌟")
    assert await star(fake, starboard, result, ADMIN) == 1  # the other reactions were not stars
    assert gallery(fake) == []


async def test_a_starred_repost_is_a_spoiler_when_the_result_is_one_or_the_server_spoilers_the_gallery(
        fake: FakeDiscord, carol: int, make_bot: Any) -> None:
    fake.channels[CHANNEL]["nsfw"] = True  # age-restricted: nsfw-channels spoilers the gallery, not this channel
    async with running(fake, make_bot()) as bot:
        await admin_says(fake, f"!styleconfig gallery <#{GALLERY}> starred")
        await admin_says(fake, "!styleconfig set stars 1")
        chosen = await wait_done(fake, await style_message(fake, args="size=32 steps=2 coarse_steps=1 spoiler=yes"))
        assert chosen["attachments"][0]["filename"] == "SPOILER_stylized.png"
        await star(fake, bot, chosen, BOB)
        await admin_says(fake, "!styleconfig set spoiler nsfw-channels")
        plain = await a_result(fake)
        assert plain["attachments"][0]["filename"] == "stylized.png"
        await star(fake, bot, plain, BOB)
        for repost in gallery(fake):
            assert [a["filename"] for a in repost["attachments"]] == ["SPOILER_gallery.png"]
            assert "image" not in repost["embeds"][0]  # an embed image would show it unblurred
        assert len(gallery(fake)) == 2

async def test_a_korean_server_s_starred_repost_speaks_korean(fake: FakeDiscord, starboard: StyleBot) -> None:
    result = await a_result(fake)
    await admin_says(fake, "!styleconfig set language ko")  # the repost speaks the server's language then
    await star(fake, starboard, result, BOB)
    await star(fake, starboard, result, ADMIN)
    [repost] = gallery(fake)
    assert repost["content"] == f"⭐ 별 2개 · <@{ALICE}> 님의 작품 · {LINK}{result['id']}"
    assert [item["label"] for row in repost["components"] for item in row["components"]] == ["매개변수"]

    request = await fake.send_message(CHANNEL, ADMIN, "!styleconfig")
    shown = await fake.wait_for_message(
        CHANNEL, lambda m: m.get("message_reference", {}).get("message_id") == request["id"] and m["embeds"])
    fields = {f["name"]: f["value"] for f in shown["embeds"][0]["fields"]}
    assert fields["올릴 결과 (gallery_posts)"] == "별을 받은 결과 (starred)" and fields["필요한 별 수 (stars)"] == "2"


async def test_the_gallery_takes_a_mode_and_the_settings_are_checked(fake: FakeDiscord, make_bot: Any) -> None:
    fake.restrict_bot(GALLERY, ATTACH_FILES)  # before the bot connects: its cache holds the channel's overwrites
    async with running(fake, make_bot()) as bot:
        said = await admin_says(fake, f"!styleconfig gallery <#{GALLERY}> starred")
        assert said["content"] == (f"✅ Gallery updated.\n⚠️ I can't post results in <#{GALLERY}> yet: I need the "
                                   "Attach Files permission there.")
        fields = {f["name"]: f["value"] for f in said["embeds"][0]["fields"]}
        assert (fields["gallery"], fields["gallery_posts"], fields["stars"]) == (f"<#{GALLERY}>", "starred", "3")
        await admin_says(fake, "!styleconfig gallery every")  # a mode alone keeps the channel
        config = await bot.store.get(GUILD)
        assert (config.gallery_channel, config.gallery_posts) == (GALLERY, "every")

        refused = await fake.send_message(CHANNEL, ADMIN, "!styleconfig set gallery_posts sometimes")
        await wait_status(fake, refused, "expected every or starred, not `sometimes`")
        refused = await fake.send_message(CHANNEL, ADMIN, "!styleconfig set stars 0")
        await wait_status(fake, refused, "expected a whole number of at least 1, not `0`")
        denied = await fake.send_message(CHANNEL, ALICE, "!styleconfig set stars 1")
        await wait_status(fake, denied, "⛔ You need the Manage Server permission to do that.")
        assert (await bot.store.get(GUILD)).stars == 3


# The database as the bot kept it before the starboard: its settings, its records (results at version 2,
# their added columns as ALTER TABLE wrote them) and no stars.
BEFORE_THE_STARBOARD = """
CREATE TABLE guild_settings (guild_id INTEGER PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE user_languages (user_id INTEGER PRIMARY KEY, language TEXT NOT NULL);
CREATE TABLE job_records (
    job_id TEXT PRIMARY KEY, guild_id INTEGER, user_id INTEGER NOT NULL, outcome TEXT NOT NULL,
    finished_at REAL NOT NULL, seconds REAL, styles TEXT NOT NULL DEFAULT '[]');
CREATE INDEX job_records_guild ON job_records (guild_id, finished_at);
CREATE TABLE gallery_reposts (
    result_id INTEGER PRIMARY KEY, channel_id INTEGER NOT NULL, message_id INTEGER NOT NULL);
CREATE TABLE results (
    message_id INTEGER PRIMARY KEY, job_id TEXT NOT NULL, guild_id INTEGER, channel_id INTEGER NOT NULL,
    user_id INTEGER NOT NULL, kind TEXT NOT NULL, report TEXT NOT NULL, posted_at REAL NOT NULL);
CREATE TABLE schema_versions (name TEXT PRIMARY KEY, version INTEGER NOT NULL);
ALTER TABLE results ADD COLUMN styles TEXT NOT NULL DEFAULT '[]';
ALTER TABLE results ADD COLUMN inputs_message_id INTEGER;
ALTER TABLE results ADD COLUMN parent_id INTEGER;
INSERT INTO schema_versions VALUES ('results', 2);
"""


async def test_a_database_from_before_the_starboard_keeps_its_rows_and_gains_the_stars(tmp_path: Path) -> None:
    path = str(tmp_path / "guilds.sqlite3")
    report = JobReport.from_dict({"kind": "painting", "params": {"size": 32}, "seconds": 1.0, "width": 32,
                                  "height": 24})
    with sqlite3.connect(path) as db:
        db.executescript(BEFORE_THE_STARBOARD)
        db.execute("INSERT INTO guild_settings VALUES (?, ?)", (GUILD, json.dumps({"gallery_channel": GALLERY})))
        db.execute("INSERT INTO results VALUES (11, 'j', ?, ?, ?, 'painting', ?, 5.0, '[\"starry\"]', 10, NULL)",
                   (GUILD, CHANNEL, ALICE, json.dumps(report.to_dict())))
        db.execute("INSERT INTO gallery_reposts VALUES (11, ?, 12)", (GALLERY,))
    for opened in range(2):  # migrated once; the second open finds it up to date
        store = GuildStore(path)
        await store.open()
        record = await store.original_of(12)  # the repost, found by its message: the result it reposts
        assert record is not None and (record.message_id, record.user_id, record.styles) == (11, ALICE, ("starry",))
        config = await store.get(GUILD)
        assert (config.gallery_channel, config.gallery_posts, config.stars) == (GALLERY, "every", 3)
        assert await store.add_star(11, BOB) == 1  # the stars table is there (and a star is counted once)
        assert await store.claim_repost(11) is None  # reposted before the starboard: never again
        await store.close()
    with sqlite3.connect(path) as db:
        assert dict(db.execute("SELECT name, version FROM schema_versions")) == {"results": 2, "starboard": 1}
        assert db.execute("SELECT * FROM gallery_reposts").fetchall() == [(11, GALLERY, 12)]


async def test_stars_a_moderator_clears_are_forgotten(fake: FakeDiscord, starboard: StyleBot, carol: int) -> None:
    result = await a_result(fake)
    assert await star(fake, starboard, result, BOB) == 1
    cleared = asyncio.ensure_future(starboard.wait_for("raw_reaction_clear", timeout=10))
    await fake.dispatch("MESSAGE_REACTION_REMOVE_ALL", {"channel_id": str(CHANNEL), "message_id": result["id"],
                                                        "guild_id": str(GUILD)})
    await cleared
    for _ in range(100):  # the listener forgets them on the store's thread
        with sqlite3.connect(starboard.settings.database_path) as db:
            if db.execute("SELECT COUNT(*) FROM stars WHERE result_id = ?", (int(result["id"]),)).fetchone() == (0,):
                break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("Bob's cleared star still counts")
    assert await star(fake, starboard, result, carol) == 1  # one star again, not two: no repost
    assert not bot_messages(fake, GALLERY)

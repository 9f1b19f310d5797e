"""A server's style library: save, look (one contact sheet), use by name or autocomplete, rename, delete.

Everything goes through discord.py's real HTTP and websocket code against the loopback Discord;
the library lives in the bot's SQLite file, so "a restart" is a new bot on the same file.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from PIL import Image

from tests.bot.conftest import (
    ADMIN,
    ALICE,
    BOB,
    CHANNEL,
    CONTENT,
    GUILD,
    STYLE,
    TINY,
    PayloadSpy,
    RecordingQueue,
    decode,
    running,
    wait_result,
    wait_status,
)
from tests.bot.test_buttons import button
from tests.support.engines import Tiny
from tests.support.fakediscord import FakeDiscord
from tests.support.images import png_bytes

pytestmark = pytest.mark.timeout(120)


def painting(name: str, colour: tuple[int, int, int]) -> tuple[str, bytes, str]:
    return (f"{name}.png", png_bytes(Image.new("RGB", (64, 64), colour)), "image/png")


async def say(fake: FakeDiscord, user: int, text: str, attachments: tuple = (), expect: str = "") -> dict[str, Any]:
    """``user`` posts ``text``; the bot's reply to it, once it contains ``expect``."""
    request = await fake.send_message(CHANNEL, user, text, attachments=list(attachments))
    try:
        return await wait_status(fake, request, expect, timeout=20)
    except AssertionError:
        said = [m["content"] for m in fake.messages(CHANNEL)
                if m.get("message_reference", {}).get("message_id") == request["id"]]
        raise AssertionError(f"{text!r}: expected {expect!r}, the bot said {said}") from None


async def test_a_saved_style_is_used_by_name_after_a_restart_even_once_deleted(fake: FakeDiscord, make_bot) -> None:
    async with running(fake, make_bot()):
        saved = await say(fake, ADMIN, "!style save Starry", (STYLE,), "✅ Saved `starry`")
        assert "`!style starry`" in saved["content"]

    async with running(fake, make_bot()) as bot:  # a new process on the same SQLite file
        assert bot.library.names(GUILD) == ["starry"]
        request = await fake.send_message(CHANNEL, ALICE, f"!style starry {TINY}", attachments=[CONTENT])
        first = await wait_result(fake)
        [spec] = bot.queue.submitted
        assert (spec.content, spec.styles) == (CONTENT[1], (STYLE[1],))
        # the result replies to the status message, which carries the inputs for the buttons
        status = fake.message(CHANNEL, first["message_reference"]["message_id"])
        assert status["message_reference"]["message_id"] == request["id"]
        assert [a["filename"] for a in status["attachments"]] == ["content.png", "style.png"]

        await say(fake, ADMIN, "!style delete starry", expect="🗑️ Deleted `starry`")
        assert bot.library.names(GUILD) == []
        await fake.click_button(CHANNEL, BOB, first["id"], button(first, "More style"))
        await wait_result(fake, predicate=lambda m: m["id"] != first["id"])
        assert bot.queue.submitted[1].styles == (STYLE[1],)  # still there, on the status message


async def test_the_contact_sheet_shows_each_saved_style_under_its_name(fake: FakeDiscord, bot) -> None:
    empty = await say(fake, ALICE, "!style styles", expect="no saved styles yet")
    assert empty["attachments"] == []
    for name, colour in (("c-blue", (0, 0, 255)), ("a-red", (255, 0, 0)), ("b-green", (0, 255, 0))):
        await say(fake, ADMIN, f"!style save {name}", (painting(name, colour),), "✅ Saved")
    shown = await say(fake, ALICE, "!style styles", expect="3 saved styles")
    [attachment] = shown["attachments"]
    sheet = np.asarray(decode(fake.attachment_bytes(attachment)).convert("RGB"), dtype=int)
    gap, cell = 4, 160  # engine.tiles' layout for 160 px thumbnails: one row of three, in name order
    centres = [sheet[gap + cell // 2, gap + i * (cell + gap) + cell // 2] for i in range(3)]
    expected = [(255, 0, 0), (0, 255, 0), (0, 0, 255)]  # a-red, b-green, c-blue
    assert all(np.abs(got - want).max() < 40 for got, want in zip(centres, expected))
    assert sheet.shape[1] == 3 * cell + 4 * gap and sheet.shape[0] > cell  # a band for the names below

    await fake.wait_for(lambda e: e.kind == "commands_sync")
    slash = await fake.send_slash(CHANNEL, ALICE, "styles")
    await fake.wait_for(lambda e: e.kind == "message_update" and "3 saved styles" in e.data["content"]
                        and e.data.get("interaction_metadata", {}).get("id") == slash["id"])
    [followup] = [r for r in fake.interaction_responses(slash["token"]) if r["kind"] == "followup"]
    assert [a["filename"] for a in followup["message"]["attachments"]] == ["styles.jpg"]


async def test_slash_style_autocompletes_saved_names_and_needs_no_painting(fake: FakeDiscord, make_bot) -> None:
    async with running(fake, make_bot(RecordingQueue(stylizer=Tiny()))) as bot:
        for name in ("starry", "sunset", "monet"):
            await say(fake, ADMIN, f"!style save {name}", (STYLE,), "✅ Saved")
        await fake.wait_for(lambda e: e.kind == "commands_sync")
        fake.interaction_deadline = 1.0  # autocomplete cannot defer: it must answer at once
        typed = await fake.send_autocomplete(CHANNEL, ALICE, "style", {"style_name": "s"}, "style_name")
        await fake.wait_for(lambda e: e.kind == "interaction_callback" and e.data["token"] == typed["token"])
        [answer] = fake.interaction_responses(typed["token"])
        assert answer["type"] == 8
        assert [c["value"] for c in answer["data"]["choices"]] == ["starry", "sunset"]  # "monet" lacks an s

        await fake.send_slash(CHANNEL, ALICE, "style", {"style_name": "starry", "grid": True, "beta": 50.0},
                              {"content": CONTENT})
        result = await wait_result(fake)
        [spec] = bot.queue.submitted
        assert spec.styles == (STYLE[1],) and spec.grid == (0.1, 0.25, 1.0, 4.0)
        assert result["embeds"][0]["title"] == "🎨 Strength grid"

        refused = await fake.send_slash(CHANNEL, ALICE, "style", {}, {"content": CONTENT})
        await fake.wait_for(lambda e: e.kind == "message_update" and "give a painting" in e.data["content"]
                            and e.data.get("interaction_metadata", {}).get("id") == refused["id"])
        assert len(bot.queue.submitted) == 1


async def test_only_managers_or_the_style_role_may_change_the_library(fake: FakeDiscord, make_bot) -> None:
    curators = fake.add_role(GUILD, "curators")
    carol = fake.add_member(GUILD, fake.add_user("carol", user_id=900000000000002199), roles=(curators,))
    bot = make_bot()
    spy = PayloadSpy(bot)
    async with running(fake, bot):
        await say(fake, carol, "!style save starry", (STYLE,),
                  "⚠️ only members with the Manage Server permission can change this server's saved styles.")
        await say(fake, ADMIN, f"!styleconfig set style_role <@&{curators}>", expect=f"is now <@&{curators}>")
        await say(fake, carol, "!style save starry", (STYLE,), "✅ Saved `starry`")
        refusal = await say(fake, BOB, "!style delete starry", expect="only members with")
        assert refusal["content"] == (f"⚠️ only members with Manage Server or the <@&{curators}> role can change "
                                      "this server's saved styles.")
        assert bot.library.names(GUILD) == ["starry"]
        await say(fake, carol, "!style rename starry night", expect="✅ `starry` is now `night`")
        assert bot.library.names(GUILD) == ["night"]
    # the role was named, never pinged: no reply allowed a role mention or anyone but its requester
    for _, body in spy.bodies:
        mentions = body.get("allowed_mentions")
        if mentions is not None:
            assert mentions.get("roles", []) == [] and "roles" not in mentions.get("parse", [])
            assert "everyone" not in mentions.get("parse", [])


REFUSALS = [
    ("!style save bold", (STYLE,), "`bold` can't be a style name because it already means something"),
    ("!style save grid", (STYLE,), "`grid` can't be a style name because it already means something"),
    ("!style save <@900000000000002101>", (STYLE,), "can't be a style name: use 2 to 32 letters"),
    ("!style save x", (STYLE,), "`x` can't be a style name: use 2 to 32 letters"),
    ("!style save big", (STYLE,), "that painting is 7 KB; saved styles may be at most 4 KB."),
    ("!style save two", (STYLE, STYLE), "attach exactly one painting to save (I found 2 images)"),
    ("!style save empty", (), "attach exactly one painting to save (I found no images)"),
    ("!style save starry", (STYLE,), "there is already a style called `starry` here"),
    ("!style rename starry moon", (), "there is already a style called `moon` here"),
    ("!style rename nosuch other", (), "this server has no saved style `nosuch` to rename."),
    ("!style delete nosuch", (), "this server has no saved style `nosuch` to delete."),
    ("!style nosuch", (CONTENT,), "this server has no saved style `nosuch`; `!style styles` shows the ones it has."),
    ("!style starry", (), "attach the photo to paint in that style; I found no image."),
]


async def test_names_and_limits_are_refused_with_one_clear_sentence(fake: FakeDiscord, make_bot) -> None:
    async with running(fake, make_bot(library_max_bytes=4096)) as bot:
        await say(fake, ADMIN, "!styleconfig set library_limit 3", expect="✅")
        for name in ("starry", "moon"):
            await say(fake, ADMIN, f"!style save {name}", (painting(name, (200, 100, 0)),), "✅ Saved")
        for text, attachments, expected in REFUSALS:
            reply = await say(fake, ADMIN, text, attachments, expected)
            assert reply["content"].count(". ") <= 1 and "\n" not in reply["content"], reply["content"]
        await say(fake, ADMIN, "!style save third", (painting("third", (9, 9, 9)),), "✅ Saved")
        await say(fake, ADMIN, "!style save fourth", (painting("fourth", (9, 9, 9)),),
                  "this server's library is full (3 styles); delete one first.")
        assert bot.library.names(GUILD) == ["moon", "starry", "third"] and bot.queue.submitted == []

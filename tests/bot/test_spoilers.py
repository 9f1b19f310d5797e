"""Spoilers (`spoiler=yes`, the server's `spoiler` setting) and moderation (Delete takes the gallery repost along)."""

from __future__ import annotations

import logging

import pytest

from tests.bot.conftest import (
    ADMIN,
    ALICE,
    CHANNEL,
    GALLERY,
    GUILD,
    OTHER_CHANNEL,
    STYLE,
    TINY,
    RecordingQueue,
    running,
    status_of,
    style_message,
    wait_result,
    wait_status,
    wait_text,
)
from tests.bot.test_admin import admin_says
from tests.bot.test_buttons import button
from tests.support.engines import Paced, Tiny
from tests.support.fakediscord import FakeDiscord

pytestmark = pytest.mark.timeout(180)


def names(message: dict) -> list[str]:
    return [a["filename"] for a in message["attachments"]]


async def test_spoiler_yes_hides_the_result_and_every_preview(fake: FakeDiscord, make_bot) -> None:
    # previews at the end of the first rung (the job's first look), 30 paced steps in
    async with running(fake, make_bot(RecordingQueue(preview_every=1000, stylizer=Paced()), preview=True)):
        request = await style_message(fake, args="spoiler=yes size=32 levels=2 coarse_steps=30 steps=5")
        with_preview = await fake.wait_for_message(
            CHANNEL, lambda m: "SPOILER_preview.jpg" in names(m), timeout=100)
        assert with_preview["message_reference"]["message_id"] == request["id"]
        assert not [m for m in fake.messages(CHANNEL) if "preview.jpg" in names(m)]
        result = await wait_result(fake)
        assert names(result) == ["SPOILER_stylized.png"]
        assert "image" not in result["embeds"][0]  # an embed image would show it unblurred
        await wait_text(fake, CHANNEL, "✅ Done")
        assert status_of(fake, request)["attachments"] == []  # the last edit drops the spoilered preview too


async def test_slash_spoiler_also_hides_the_copies_of_the_inputs_and_reruns_stay_spoilers(fake: FakeDiscord, make_bot) -> None:
    async with running(fake, make_bot(RecordingQueue(stylizer=Tiny()))):
        await fake.wait_for(lambda e: e.kind == "commands_sync")
        await fake.send_slash(CHANNEL, ALICE, "style", {"spoiler": True}, {"content": STYLE, "style": STYLE})
        result = await wait_result(fake)
        assert names(result) == ["SPOILER_stylized.png"]
        status = fake.message(CHANNEL, result["message_reference"]["message_id"])
        assert names(status) == ["SPOILER_content.png", "SPOILER_style.png"]
        await fake.click_button(CHANNEL, ALICE, result["id"], button(result, "More style"))
        again = await wait_result(fake, predicate=lambda m: m["id"] != result["id"])
        assert names(again) == ["SPOILER_stylized.png"]  # a run from a spoiler stays one


async def test_nsfw_channels_spoilers_all_but_age_restricted_channels_and_the_gallery_follows_its_own(
        fake: FakeDiscord, make_bot) -> None:
    fake.channels[OTHER_CHANNEL]["nsfw"] = True
    async with running(fake, make_bot()) as bot:
        said = await admin_says(fake, "!styleconfig set spoiler nsfw-channels")
        assert said["content"].startswith("✅ `spoiler` is now nsfw-channels")
        await admin_says(fake, f"!styleconfig gallery <#{GALLERY}>")

        await style_message(fake, channel=OTHER_CHANNEL)
        plain = await wait_result(fake, OTHER_CHANNEL)
        assert names(plain) == ["stylized.png"] and "image" in plain["embeds"][0]
        repost = await wait_result(fake, GALLERY)
        assert names(repost) == ["SPOILER_gallery.png"]  # the gallery is not age-restricted

        await style_message(fake)
        hidden = await wait_result(fake)
        assert names(hidden) == ["SPOILER_stylized.png"]
        assert (await bot.store.get(GUILD)).spoiler == "nsfw-channels"

        refused = await fake.send_message(CHANNEL, ADMIN, "!styleconfig set spoiler sometimes")
        await wait_status(fake, refused, "expected off, on or nsfw-channels, not `sometimes`")


async def test_a_moderator_deletes_a_result_with_its_gallery_repost_and_the_log_says_who(
        fake: FakeDiscord, make_bot, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    async with running(fake, make_bot()):
        await admin_says(fake, f"!styleconfig gallery <#{GALLERY}>")
        request = await style_message(fake, args=f"{TINY} seed=1")
        result = await wait_result(fake)
        repost = await wait_result(fake, GALLERY)
        assert repost["components"] == []  # the result's Delete takes it along

        click = await fake.click_button(CHANNEL, ADMIN, result["id"], button(result, "Delete"))
        await fake.wait_for(lambda e: e.kind == "message_delete" and e.data["id"] == repost["id"])
        assert not [m for m in fake.messages(CHANNEL) if m["id"] == result["id"]]

    log = caplog.text
    assert f"user {ALICE} asked in guild {GUILD}, channel {CHANNEL}, message {request['id']}" in log
    assert f"result {result['id']} of user {ALICE} deleted by user {ADMIN} (moderator) in guild {GUILD}" in log
    assert f"gallery repost {repost['id']}" in log
    assert fake.token not in log and click["token"] not in log


"""Per-guild settings (`!styleconfig`, Manage Server only, kept in SQLite) and `!stylehelp`."""

from __future__ import annotations

import pytest

from tests.bot import help_pages
from tests.bot.conftest import (
    ADMIN,
    ALICE,
    CHANNEL,
    GALLERY,
    GUILD,
    OTHER_CHANNEL,
    TINY,
    running,
    style_message,
    wait_result,
    wait_status,
)
from tests.support.fakediscord import FakeDiscord

pytestmark = pytest.mark.timeout(120)


async def admin_says(fake: FakeDiscord, text: str, channel: int = CHANNEL) -> dict:
    request = await fake.send_message(channel, ADMIN, text)
    return await wait_status(fake, request, "✅", timeout=10)


async def test_members_without_manage_server_are_refused(fake: FakeDiscord, bot) -> None:
    request = await fake.send_message(CHANNEL, ALICE, "!styleconfig set max_size 64")
    await wait_status(fake, request, "⛔ You need the Manage Server permission to do that.")
    assert (await bot.store.get(GUILD)).max_size is None


async def test_limits_apply_and_survive_a_restart(fake: FakeDiscord, make_bot) -> None:
    async with running(fake, make_bot()):
        answer = await admin_says(fake, "!styleconfig set max_size 48")
        assert answer["content"].startswith("✅ `max_size` is now 48")
    async with running(fake, make_bot()) as again:  # same SQLite file, new process
        assert (await again.store.get(GUILD)).max_size == 48
        request = await style_message(fake, args="size=64 steps=2 coarse_steps=1")
        await wait_status(fake, request, "`size` may be at most 48 on this server, not 64")
        assert again.queue.submitted == []


async def test_bad_setting_values_are_explained(fake: FakeDiscord, bot) -> None:
    request = await fake.send_message(CHANNEL, ADMIN, "!styleconfig set max_size 99999")
    await wait_status(fake, request, "`size` must be between 16 and 4096, not 99999")
    request = await fake.send_message(CHANNEL, ADMIN, "!styleconfig set colour blue")
    await wait_status(fake, request, "unknown setting `colour`; settable: max_size")


async def test_guild_defaults_fill_in_missing_options(fake: FakeDiscord, bot) -> None:
    await admin_says(fake, "!styleconfig set preset bold")
    await admin_says(fake, "!styleconfig set size 40")
    await style_message(fake, args="steps=2 coarse_steps=1")
    result = await wait_result(fake)
    assert bot.queue.submitted[0].options["preset"] == "bold" and bot.queue.submitted[0].options["size"] == 40
    assert "preset=bold size=40" in result["embeds"][0]["footer"]["text"]


async def test_allowed_channels(fake: FakeDiscord, bot) -> None:
    await admin_says(fake, f"!styleconfig channels add <#{CHANNEL}>")
    elsewhere = await style_message(fake, channel=OTHER_CHANNEL)
    await wait_status(fake, elsewhere, f"I don't take jobs in this channel; please use <#{CHANNEL}>")
    assert fake.downloads == [] and bot.queue.submitted == []
    await style_message(fake, args=TINY, channel=CHANNEL)
    await wait_result(fake, CHANNEL)


async def test_gallery_gets_a_copy_without_pings(fake: FakeDiscord, bot) -> None:
    await admin_says(fake, f"!styleconfig gallery <#{GALLERY}>")
    await style_message(fake)
    await wait_result(fake, CHANNEL)
    copy = await wait_result(fake, GALLERY)
    assert copy["content"] == f"🖼️ by <@{ALICE}>" and copy["components"] == []


async def test_show_lists_the_settings(fake: FakeDiscord, bot) -> None:
    request = await fake.send_message(CHANNEL, ADMIN, "!styleconfig")
    shown = await fake.wait_for_message(
        CHANNEL, lambda m: m.get("message_reference", {}).get("message_id") == request["id"] and m["embeds"])
    fields = {f["name"]: f["value"] for f in shown["embeds"][0]["fields"]}
    assert fields["max_size"] == "1024 px" and fields["gallery"] == "off"
    assert fields["channels"] == "all channels"


async def test_a_korean_server_s_panel_names_its_settings_in_korean_beside_the_words_set_takes(
        fake: FakeDiscord, bot) -> None:
    for command in ("!styleconfig set language ko", "!styleconfig set preset bold", "!styleconfig set spoiler on"):
        await admin_says(fake, command)
    request = await fake.send_message(CHANNEL, ADMIN, "!styleconfig")
    shown = await fake.wait_for_message(
        CHANNEL, lambda m: m.get("message_reference", {}).get("message_id") == request["id"] and m["embeds"])
    fields = {f["name"]: f["value"] for f in shown["embeds"][0]["fields"]}
    assert fields["최대 크기 (max_size)"] == "1024px" and fields["갤러리 (gallery)"] == "꺼짐"
    assert fields["기본 프리셋 (preset)"] == "강하게 (bold)" and fields["스포일러 (spoiler)"] == "켜짐 (on)"
    assert fields["작업을 받는 채널 (channels)"] == "모든 채널"


async def test_stylehelp_explains_the_weights_and_presets(fake: FakeDiscord, bot) -> None:
    request = await fake.send_message(CHANNEL, ALICE, "!stylehelp")
    pages = await help_pages.prefix_pages(fake, CHANNEL, request)
    embed = pages[0]
    text = embed["description"] + "".join(help_pages.fields(pages).values())
    for needle in ("**α**", "**β**", "**λ**", "`tv_weight` (tv)", "`layer_weights` (lambda/lambdas)",
                   "`bold`: style_weight=400", "`strokes`: layer_weights=0.25,0.5,1,2,4", "!style beta=1000",
                   "**Animations**", "`temporal` (temporal_weight)", "`frame_steps`", "`animation_format` (format)"):
        assert needle in text
    assert "animations: ≤ 48 frames, ≤ 10 s" in embed["footer"]["text"]
    assert "backbone" not in text  # operator-only options are not advertised
    assert all(help_pages.size(page) < help_pages.DISCORD_EMBED_LIMIT for page in pages)  # one page a message
    assert pages[1]["title"] == "🖌️ More ways to paint"


async def test_slash_stylehelp_is_ephemeral(fake: FakeDiscord, bot) -> None:
    await fake.wait_for(lambda e: e.kind == "commands_sync")
    payload = await fake.send_slash(CHANNEL, ALICE, "stylehelp")
    await fake.wait_for(lambda e: e.kind == "interaction_callback" and e.data["token"] == payload["token"])
    pages = await help_pages.slash_pages(fake, payload["token"])
    answer, follow_up = fake.interaction_responses(payload["token"])[:2]
    assert answer["type"] == 4 and answer["data"]["flags"] == 64
    assert follow_up["kind"] == "followup" and follow_up["message"]["flags"] & 64  # the second page too
    assert [p["title"] for p in pages] == ["🎨 How to style", "🖌️ More ways to paint"]


async def test_slash_styleconfig_set(fake: FakeDiscord, bot) -> None:
    await fake.wait_for(lambda e: e.kind == "commands_sync")
    payload = await fake.send_slash(CHANNEL, ADMIN, "styleconfig set", {"key": "max_steps", "value": "100"})
    await fake.wait_for(lambda e: e.kind == "interaction_callback" and e.data["token"] == payload["token"])
    assert (await bot.store.get(GUILD)).max_steps == 100
    denied = await fake.send_slash(CHANNEL, ALICE, "styleconfig set", {"key": "max_steps", "value": "5"})
    await fake.wait_for(lambda e: e.kind == "interaction_callback" and e.data["token"] == denied["token"])
    [answer] = fake.interaction_responses(denied["token"])
    assert "Manage Server" in answer["data"]["content"] and answer["data"]["flags"] == 64
    assert (await bot.store.get(GUILD)).max_steps == 100

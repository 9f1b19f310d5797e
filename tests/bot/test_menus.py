"""Right-click menus ("Paint in a style", "Paint avatar"), the saved-style picker and 🎨 Restyle, end to end.

Through discord.py's real HTTP and websocket code against the loopback Discord: the menus arrive
as APPLICATION_COMMAND interactions with their resolved message or member, the picker is a real
select menu (and a modal past 25 styles), avatars come from the loopback CDN, and the fake
refuses any answer later than Discord's 3 s.
"""

from __future__ import annotations

from typing import Any

import pytest
from PIL import Image

from bot.core.library import thumbnail
from tests.bot import help_pages
from tests.bot.conftest import (
    ALICE,
    BOB,
    CHANNEL,
    CONTENT,
    GUILD,
    OTHER_CHANNEL,
    STYLE,
    PayloadSpy,
    RecordingQueue,
    running,
    style_message,
    wait_result,
)
from tests.bot.test_buttons import button
from tests.support.engines import Tiny
from tests.support.fakediscord import EPHEMERAL, FakeDiscord
from tests.support.images import noise_png, png_bytes

pytestmark = pytest.mark.timeout(150)

PAINT, AVATAR = "Paint in a style", "Paint avatar"
STARRY = noise_png(11, 40, 40)
MONET = noise_png(12, 40, 40)


async def save_styles(bot: Any, styles: dict[str, bytes]) -> None:
    for name, blob in styles.items():
        await bot.library.save(GUILD, name, blob, thumbnail(blob, max_bytes=1 << 22), ALICE, limit=100)


def tiny_bot(make_bot: Any) -> Any:
    return make_bot(RecordingQueue(stylizer=Tiny(), workers=1, per_user_limit=10, max_queue=50))


async def first_answer(fake: FakeDiscord, payload: dict[str, Any]) -> dict[str, Any]:
    """The bot's initial response to an interaction (it must come within the fake's 3 s deadline)."""
    await fake.wait_for(lambda e: e.kind == "interaction_callback" and e.data["token"] == payload["token"], 10)
    return fake.interaction_responses(payload["token"])[0]


async def pick(fake: FakeDiscord, user: int, payload: dict[str, Any], value: str,
               channel: int = CHANNEL) -> dict[str, Any]:
    """Choose ``value`` in the picker the bot answered ``payload`` with; returns the pick's payload."""
    answer = await first_answer(fake, payload)
    assert answer["type"] == 4 and answer["data"]["flags"] & EPHEMERAL, answer
    select = answer["message"]["components"][0]["components"][0]
    assert select["type"] == 3
    return await fake.click_button(channel, user, answer["message"]["id"], select["custom_id"], values=[value])


def options_of(answer: dict[str, Any]) -> list[str]:
    return [o["value"] for o in answer["message"]["components"][0]["components"][0]["options"]]


async def test_menus_are_synced_installable_to_users_and_servers(fake: FakeDiscord, make_bot) -> None:
    async with running(fake, make_bot()):
        sync = await fake.wait_for(lambda e: e.kind == "commands_sync")
    menus = {c["name"]: c for c in sync.data["commands"] if c["type"] in (2, 3)}
    assert menus[PAINT]["type"] == 3 and menus[AVATAR]["type"] == 2
    style = next(c for c in sync.data["commands"] if c["name"] == "style")
    for command in (menus[PAINT], menus[AVATAR], style):
        assert command["integration_types"] == [0, 1] and command["contexts"] == [0, 1]


async def test_paint_in_a_saved_style_replies_to_the_message_and_restyle_replies_to_the_result(
        fake: FakeDiscord, make_bot) -> None:
    async with running(fake, tiny_bot(make_bot)) as bot:
        await save_styles(bot, {"starry": STARRY, "monet": MONET})
        spy = PayloadSpy(bot)
        posted = await fake.send_message(CHANNEL, BOB, "my photo", attachments=[CONTENT])
        menu = await fake.send_context_menu(CHANNEL, ALICE, PAINT, message_id=posted["id"])
        answer = await first_answer(fake, menu)
        assert options_of(answer) == ["monet", "starry"]
        assert "Which saved style" in answer["message"]["content"]
        await pick(fake, ALICE, menu, "starry")
        result = await wait_result(fake, predicate=lambda m: m["message_reference"]["message_id"] == posted["id"])
        [spec] = bot.queue.submitted
        assert (spec.content, spec.styles, spec.user_id) == (CONTENT[1], (STARRY,), ALICE)
        assert result["content"].startswith(f"<@{ALICE}>")
        [sent] = [b for b in spy.with_files() if b.get("embeds") and b.get("message_reference")]
        assert sent["allowed_mentions"]["users"] == [ALICE] and not sent["allowed_mentions"].get("replied_user")
        assert not [m for m in fake.messages(CHANNEL) if m["id"] == answer["message"]["id"]], "picker left behind"
        inputs = result["embeds"][0]["url"].rsplit("/", 1)[1]  # the title links to the message with the inputs
        assert result["embeds"][0]["url"].startswith(f"https://discord.com/channels/{GUILD}/{CHANNEL}/")
        carried = [fake.attachment_bytes(a) for a in fake.message(CHANNEL, inputs)["attachments"]]
        assert carried[:2] == [CONTENT[1], STARRY]

        # 🎨 Restyle: another saved style, the same photo, as a reply to that result (by Bob this time)
        click = await fake.click_button(CHANNEL, BOB, result["id"], button(result, "Restyle"))
        await pick(fake, BOB, click, "monet")
        again = await wait_result(fake, predicate=lambda m: m["message_reference"]["message_id"] == result["id"])
        assert (bot.queue.submitted[1].content, bot.queue.submitted[1].styles) == (CONTENT[1], (MONET,))
        assert again["content"].startswith(f"<@{BOB}> restyled in `monet`")


async def test_a_message_with_two_images_is_painted_at_once(fake: FakeDiscord, make_bot) -> None:
    async with running(fake, tiny_bot(make_bot)) as bot:
        posted = await fake.send_message(CHANNEL, BOB, "", attachments=[CONTENT, STYLE])
        menu = await fake.send_context_menu(CHANNEL, ALICE, PAINT, message_id=posted["id"])
        assert (await first_answer(fake, menu))["type"] == 5  # a deferral, then the result
        result = await wait_result(fake, predicate=lambda m: m["message_reference"]["message_id"] == posted["id"])
        [spec] = bot.queue.submitted
        assert (spec.content, spec.styles) == (CONTENT[1], (STYLE[1],))
        # More style on it finds the inputs through the link in its title, even after a restart
    async with running(fake, tiny_bot(make_bot)) as again:
        await fake.click_button(CHANNEL, ALICE, result["id"], button(result, "More style"))
        await wait_result(fake, predicate=lambda m: m["id"] != result["id"])
        assert (again.queue.submitted[0].content, again.queue.submitted[0].styles) == (CONTENT[1], (STYLE[1],))


async def test_the_menu_reads_an_embedded_image(fake: FakeDiscord, make_bot) -> None:
    async with running(fake, tiny_bot(make_bot)) as bot:
        await save_styles(bot, {"starry": STARRY})
        posted = await fake.send_message(CHANNEL, BOB, "look")
        hosted = fake.cdn.store(CHANNEL, "hosted.png", CONTENT[1], "image/png")
        fake.message(CHANNEL, posted["id"])["embeds"] = [
            {"type": "image", "url": "https://example.org/hosted.png",
             "thumbnail": {"url": "https://example.org/hosted.png", "proxy_url": hosted["proxy_url"]}}]
        menu = await fake.send_context_menu(CHANNEL, ALICE, PAINT, message_id=posted["id"])
        await pick(fake, ALICE, menu, "starry")
        await wait_result(fake, predicate=lambda m: m["message_reference"]["message_id"] == posted["id"])
        assert bot.queue.submitted[0].content == CONTENT[1]
        assert int(hosted["id"]) in fake.downloads  # read through Discord's media proxy, not example.org


async def test_refusals_are_the_typed_commands_own_words(fake: FakeDiscord, make_bot) -> None:
    async with running(fake, make_bot()) as bot:
        posted = await fake.send_message(CHANNEL, BOB, "", attachments=[CONTENT])
        menu = await fake.send_context_menu(CHANNEL, ALICE, PAINT, message_id=posted["id"])
        assert "no saved styles yet" in (await first_answer(fake, menu))["data"]["content"]

        text_only = await fake.send_message(CHANNEL, BOB, "no picture here")
        menu = await fake.send_context_menu(CHANNEL, ALICE, PAINT, message_id=text_only["id"])
        assert "has no image I can paint" in (await first_answer(fake, menu))["data"]["content"]

        await bot.store.update(GUILD, channels=[OTHER_CHANNEL])
        typed = await style_message(fake)
        said = await fake.wait_for_message(
            CHANNEL, lambda m: m.get("message_reference", {}).get("message_id") == typed["id"])
        menu = await fake.send_context_menu(CHANNEL, ALICE, AVATAR, member_id=BOB)
        answer = await first_answer(fake, menu)
        assert answer["data"]["content"] == said["content"] and "this channel" in said["content"]
        assert answer["data"]["flags"] & EPHEMERAL and bot.queue.submitted == []


async def test_past_25_styles_a_modal_names_the_others(fake: FakeDiscord, make_bot) -> None:
    async with running(fake, tiny_bot(make_bot)) as bot:
        styles = {f"style-{i:02d}": noise_png(100 + i, 32, 32) for i in range(27)}
        await save_styles(bot, styles)
        posted = await fake.send_message(CHANNEL, BOB, "", attachments=[CONTENT])
        menu = await fake.send_context_menu(CHANNEL, ALICE, PAINT, message_id=posted["id"])
        answer = await first_answer(fake, menu)
        assert len(options_of(answer)) == 25 and "27 saved styles" in answer["message"]["content"]
        [other] = [c for row in answer["message"]["components"] for c in row["components"] if c["type"] == 2]
        click = await fake.click_button(CHANNEL, ALICE, answer["message"]["id"], other["custom_id"])
        modal = await first_answer(fake, click)
        assert modal["type"] == 9
        box = modal["data"]["components"][0]["component"]
        await fake.submit_modal(CHANNEL, ALICE, modal["data"]["custom_id"], {box["custom_id"]: "Style-26"},
                                message_id=answer["message"]["id"])
        await wait_result(fake, predicate=lambda m: m["message_reference"]["message_id"] == posted["id"])
        assert bot.queue.submitted[0].styles == (styles["style-26"],)


async def test_paint_avatar_reads_the_server_avatar_and_names_without_pinging(fake: FakeDiscord, make_bot) -> None:
    fake.set_avatar(BOB, png_bytes(Image.new("RGB", (64, 64), (0, 0, 255))))
    server_avatar = png_bytes(Image.new("RGB", (64, 64), (255, 0, 0)))
    fake.set_avatar(BOB, server_avatar, guild_id=GUILD)
    async with running(fake, tiny_bot(make_bot)) as bot:
        await save_styles(bot, {"starry": STARRY})
        spy = PayloadSpy(bot)
        menu = await fake.send_context_menu(CHANNEL, ALICE, AVATAR, member_id=BOB)
        assert "bob's avatar" in (await first_answer(fake, menu))["message"]["content"]
        await pick(fake, ALICE, menu, "starry")
        result = await wait_result(fake)
        [spec] = bot.queue.submitted
        assert spec.content == server_avatar and spec.styles == (STARRY,)
        assert any(f"/guilds/{GUILD}/users/{BOB}/avatars/" in path for path in fake.cdn.avatar_downloads)
        assert result["content"] == f"<@{ALICE}> painted <@{BOB}>'s avatar in `starry`"
        [sent] = [b for b in spy.with_files() if b.get("embeds")]
        assert sent["allowed_mentions"]["users"] == [ALICE]  # Bob is named, not pinged


async def test_an_animated_avatar_is_painted_as_an_animation(fake: FakeDiscord, make_bot) -> None:
    frames = [Image.new("RGB", (32, 32), (120 * i, 90, 200 - 120 * i)) for i in range(2)]
    for i, frame in enumerate(frames):  # a moving square: two frames that no painting makes alike
        frame.paste((255, 255, 255), (4 + 16 * i, 8, 12 + 16 * i, 24))
    gif = _gif(frames)
    fake.set_avatar(BOB, gif, animated=True)
    async with running(fake, tiny_bot(make_bot)) as bot:
        await save_styles(bot, {"starry": STARRY})
        menu = await fake.send_context_menu(CHANNEL, ALICE, AVATAR, member_id=BOB)
        await pick(fake, ALICE, menu, "starry")
        result = await wait_result(fake)
        assert bot.queue.submitted[0].content == gif
        assert any(".gif" in path for path in fake.cdn.avatar_downloads)
        with Image.open(__import__("io").BytesIO(fake.attachment_bytes(result["attachments"][0]))) as painted:
            assert painted.n_frames == 2


def _gif(frames: list[Image.Image]) -> bytes:
    import io

    out = io.BytesIO()
    frames[0].save(out, format="GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return out.getvalue()


async def test_restyle_after_a_restart_and_more_style_on_its_result(fake: FakeDiscord, make_bot) -> None:
    async with running(fake, make_bot()) as bot:
        await save_styles(bot, {"starry": STARRY})
        request = await style_message(fake)
        first = await wait_result(fake)

    async with running(fake, make_bot()) as again:  # a new process: only the buttons' custom_ids remain
        click = await fake.click_button(CHANNEL, ALICE, first["id"], button(first, "Restyle"))
        await pick(fake, ALICE, click, "starry")
        restyled = await wait_result(fake, predicate=lambda m: m["message_reference"]["message_id"] == first["id"])
        [spec] = again.queue.submitted
        assert (spec.content, spec.styles) == (CONTENT[1], (STARRY,))
        assert spec.params.steps == 2  # the result's own parameters
        assert request["id"] != first["id"]
        await fake.click_button(CHANNEL, ALICE, restyled["id"], button(restyled, "Less style"))
        await wait_result(fake, predicate=lambda m: m["id"] not in (first["id"], restyled["id"]))
        assert (again.queue.submitted[1].content, again.queue.submitted[1].styles) == (CONTENT[1], (STARRY,))


async def test_a_user_installed_style_command_works_in_a_dm(fake: FakeDiscord, make_bot) -> None:
    dm = fake.dm_channel(ALICE)
    async with running(fake, tiny_bot(make_bot)) as bot:
        await fake.wait_for(lambda e: e.kind == "commands_sync")
        slash = await fake.send_slash(dm, ALICE, "style", {}, {"content": CONTENT, "style": STYLE})
        assert slash["authorizing_integration_owners"] == {"1": str(ALICE)} and slash["context"] == 1
        await wait_result(fake, dm)
        assert bot.queue.submitted[0].guild_id is None

        posted = await fake.send_message(dm, ALICE, "", attachments=[CONTENT])
        menu = await fake.send_context_menu(dm, ALICE, PAINT, message_id=posted["id"])
        said = (await first_answer(fake, menu))["data"]["content"]
        assert "saved styles belong to a server, and there is none here" in said


async def test_a_server_that_did_not_add_the_bot_is_answered_through_the_interaction(
        fake: FakeDiscord, make_bot) -> None:
    elsewhere = fake.add_guild("elsewhere", with_bot=False)
    channel = fake.add_channel(elsewhere, "general")
    fake.add_member(elsewhere, ALICE)
    fake.add_member(elsewhere, BOB)
    async with running(fake, tiny_bot(make_bot)) as bot:
        await fake.wait_for(lambda e: e.kind == "commands_sync")
        slash = await fake.send_slash(channel, ALICE, "style", {}, {"content": CONTENT, "style": STYLE})
        assert slash["authorizing_integration_owners"] == {"1": str(ALICE)}  # Alice's own install
        result = await wait_result(fake, channel)
        assert result["content"].startswith(f"<@{ALICE}>") and result["interaction_metadata"]
        said = [r["kind"] for r in fake.interaction_responses(slash["token"])]
        assert said[0] == "callback" and "followup" in said and "edit" in said  # all through the webhook
        await fake.wait_for_message(channel, lambda m: m["content"].startswith("✅ Done"), 20)
        assert not fake.hits("*", rf"^/channels/{channel}/"), "the bot's token has no business there"

        # saved styles need a server that has the bot: one sentence says so
        posted = await fake.send_message(channel, BOB, "", attachments=[CONTENT])
        menu = await fake.send_context_menu(channel, ALICE, PAINT, message_id=posted["id"])
        assert "no saved styles yet" in (await first_answer(fake, menu))["data"]["content"]
        assert len(bot.queue.submitted) == 1


async def test_the_done_link_of_a_user_installed_job_leads_to_the_result_in_its_server(
        fake: FakeDiscord, make_bot) -> None:
    # discord.py's Message.jump_url says "@me" for a guild it has not cached: a link that leads nowhere
    elsewhere = fake.add_guild("elsewhere", with_bot=False)
    channel = fake.add_channel(elsewhere, "general")
    fake.add_member(elsewhere, ALICE)
    async with running(fake, tiny_bot(make_bot)):
        await fake.wait_for(lambda e: e.kind == "commands_sync")
        await fake.send_slash(channel, ALICE, "style", {}, {"content": CONTENT, "style": STYLE})
        result = await wait_result(fake, channel)
        done = await fake.wait_for_message(channel, lambda m: m["content"].startswith("✅ Done"), 20)
    assert done["content"].endswith(f": https://discord.com/channels/{elsewhere}/{channel}/{result['id']}")


async def test_stylehelp_shows_the_menus_restyle_and_user_installs_also_in_korean(fake: FakeDiscord, bot) -> None:
    request = await fake.send_message(CHANNEL, ALICE, "!stylehelp")
    field = help_pages.fields(await help_pages.prefix_pages(fake, CHANNEL, request))["Right-click menus, Restyle, anywhere"]
    for needle in ("**Paint in a style**", "**Paint avatar**", "🎨 **Restyle**", "`/style content:<photo> style:"):
        assert needle in field

    await fake.wait_for(lambda e: e.kind == "commands_sync")
    dm = fake.dm_channel(ALICE)
    fake.user_locales[ALICE] = "ko"
    payload = await fake.send_slash(dm, ALICE, "stylehelp")  # a user-installed command in a DM, in Korean
    answer = await first_answer(fake, payload)
    assert answer["data"]["flags"] & EPHEMERAL
    field = help_pages.fields(await help_pages.slash_pages(fake, payload["token"]))["우클릭 메뉴, 다른 스타일로, 어디서나"]
    assert "**아바타 그리기**" in field and "`/스타일 사진:<사진>" in field  # the names Korean clients see


async def test_an_unused_choice_says_it_has_expired(fake: FakeDiscord, make_bot, monkeypatch) -> None:
    import bot.requests.picker

    monkeypatch.setattr(bot.requests.picker, "PICK_TIMEOUT_S", 0.5)
    async with running(fake, make_bot()) as stylebot:
        await save_styles(stylebot, {"starry": STARRY})
        posted = await fake.send_message(CHANNEL, BOB, "", attachments=[CONTENT])
        menu = await fake.send_context_menu(CHANNEL, ALICE, PAINT, message_id=posted["id"])
        answer = await first_answer(fake, menu)
        expired = await fake.wait_for_message(
            CHANNEL, lambda m: m["id"] == answer["message"]["id"] and "expired" in m["content"], 10)
        assert expired["components"] == [] and stylebot.queue.submitted == []

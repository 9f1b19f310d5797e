"""Which language the bot speaks, end to end through discord.py against the loopback Discord.

A Korean client's /style is answered in Korean from the first message to the result's buttons; a
server set to Korean gets its !style status in Korean; refusals come in each language; the slash
commands carry their Korean names from one sync; a DM follows the user's last known language.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.bot import help_pages
from tests.bot.conftest import (
    ADMIN,
    ALICE,
    BOB,
    CHANNEL,
    CONTENT,
    GUILD,
    STYLE,
    TINY,
    RecordingQueue,
    running,
    style_message,
    wait_result,
    wait_status,
)
from tests.support.engines import Tiny
from tests.support.fakediscord import FakeDiscord

pytestmark = pytest.mark.timeout(120)


def labels(message: dict[str, Any]) -> list[str]:
    return [item["label"] for row in message["components"] for item in row["components"]]


def shown(fake: FakeDiscord, message_id: str) -> list[str]:
    """Every content a message had (posted, then edited), in order (a deferral's empty "thinking" left out)."""
    return [e.data["content"] for e in fake.events if e.data.get("id") == message_id and e.data.get("content")]


async def test_a_korean_clients_slash_style_is_answered_in_korean_to_the_result_buttons(
        fake: FakeDiscord, make_bot: Any) -> None:
    fake.user_locales[ALICE] = "ko"
    async with running(fake, make_bot(RecordingQueue(stylizer=Tiny()))) as bot:  # the words, not the paint
        await fake.wait_for(lambda e: e.kind == "commands_sync")
        await fake.send_slash(CHANNEL, ALICE, "style", {"size": 32, "steps": 2, "coarse_steps": 1},
                              {"content": CONTENT, "style": STYLE})
        result = await wait_result(fake)
        status_id = result["message_reference"]["message_id"]
        done = await fake.wait_for_message(CHANNEL, lambda m: m["id"] == status_id and "완성했어요" in m["content"])
    said = shown(fake, status_id)
    assert said[0] == "⏳ 대기열에 넣는 중…"  # the first words after the deferral
    assert all("Queu" not in s and "Painting" not in s and "Done" not in s for s in said), said
    assert any(s.startswith(("⏳ 대기 중", "🎨 그리는 중")) for s in said), said
    assert done["content"].startswith("✅ ") and "초 만에 완성했어요" in done["content"]
    assert labels(result) == ["스타일 강하게", "스타일 약하게", "변형", "업스케일", "다른 스타일로", "매개변수", "삭제"]
    embed = result["embeds"][0]
    assert embed["title"] == "🎨 스타일을 입힌 결과" and "β 스타일 강도" in [f["name"] for f in embed["fields"]]
    assert embed["footer"]["text"].startswith("options: ")  # read back by the buttons in any language
    assert bot.store.user_language(ALICE) == "ko"  # remembered for direct messages


async def test_a_server_set_to_korean_gets_its_style_status_in_korean(fake: FakeDiscord, bot: Any) -> None:
    setting = await fake.send_message(CHANNEL, ADMIN, "!styleconfig set language ko")
    await wait_status(fake, setting, "✅ `language` 설정을 바꿨어요: ko")
    request = await style_message(fake, BOB, args=TINY)  # Bob's client is English: a channel message follows the server
    result = await wait_result(fake)
    status = await wait_status(fake, request, "완성했어요")
    said = shown(fake, status["id"])
    assert said[0] == "⏳ 대기열에 넣는 중…" and any(s.startswith(("⏳ 대기 중", "🎨 그리는 중")) for s in said), said
    assert labels(result) == ["스타일 강하게", "스타일 약하게", "변형", "업스케일", "다른 스타일로", "매개변수", "삭제"]
    back = await fake.send_message(CHANNEL, ADMIN, "!styleconfig set language en")
    await wait_status(fake, back, "✅ `language` is now en.")


async def test_auto_follows_the_servers_discord_language(fake: FakeDiscord, make_bot: Any) -> None:
    fake.guilds[GUILD]["preferred_locale"] = "ko"  # the default setting is auto
    async with running(fake, make_bot()):
        request = await style_message(fake, ALICE, args=TINY, attachments=(CONTENT,))
        refusal = await wait_status(fake, request, "⚠️ ")
        assert refusal["content"].startswith("⚠️ 이미지가 두 장 필요한데 파일이 하나뿐이에요.")


async def test_a_refusal_in_each_language(fake: FakeDiscord, bot: Any) -> None:
    english = await style_message(fake, ALICE, args=TINY, attachments=())
    await wait_status(fake, english, "⚠️ I need two images and found no image: attach two images to `!style`")
    setting = await fake.send_message(CHANNEL, ADMIN, "!styleconfig set language ko")
    await wait_status(fake, setting, "language")
    korean = await style_message(fake, ALICE, args=TINY, attachments=())
    refusal = await wait_status(fake, korean, "⚠️ 이미지가 두 장 필요한데 하나도 없어요.")
    assert "image" not in refusal["content"]

    fake.user_locales[BOB] = "ko"  # an interaction refused in its user's language, whatever the server's
    await fake.send_slash(CHANNEL, BOB, "style", {"size": 32}, {"content": CONTENT})
    slash = await fake.wait_for_message(CHANNEL, lambda m: "이 서버에 저장된 스타일" in m["content"])
    assert slash["content"] == "⚠️ 그림(`그림` 또는 `그림_링크`)이나 이 서버에 저장된 스타일(`저장된_스타일`) 중 하나를 골라 주세요"
    fake.user_locales[BOB] = "en-GB"
    await fake.send_slash(CHANNEL, BOB, "style", {"size": 32}, {"content": CONTENT})
    await fake.wait_for_message(CHANNEL, lambda m: "give a painting (`style` or `style_url`)" in m["content"])


async def test_slash_commands_are_synced_once_with_their_korean_names(fake: FakeDiscord, bot: Any) -> None:
    sync = await fake.wait_for(lambda e: e.kind == "commands_sync")
    commands = {c["name"]: c for c in sync.data["commands"]}
    style = commands["style"]
    assert style["name_localizations"]["ko"] == "스타일"
    assert style["description_localizations"]["ko"] == "사진을 그림의 스타일로 다시 그려요"
    options = {o["name"]: o for o in style["options"]}
    assert options["content"]["name_localizations"]["ko"] == "사진"
    assert options["style"]["name_localizations"]["ko"] == "그림"
    assert {c["name_localizations"]["ko"] for c in options["init"]["choices"]} == {"초안에서 시작", "사진에서 시작", "노이즈에서 시작"}
    assert "en-US" not in style["name_localizations"]  # English is the default
    assert commands["styleconfig"]["name_localizations"]["ko"] == "스타일설정"
    assert len([e for e in fake.events if e.kind == "commands_sync"]) == 1


async def test_a_direct_message_follows_the_users_last_language(fake: FakeDiscord, bot: Any) -> None:
    dm = fake.dm_channel(ALICE)
    first = await fake.send_message(dm, ALICE, f"!style {TINY}", attachments=[CONTENT])
    await wait_status(fake, first, "I need two images and found only one file")
    fake.user_locales[ALICE] = "ko"
    help_ = await fake.send_slash(CHANNEL, ALICE, "stylehelp", {}, None)  # an interaction from a Korean client
    await fake.wait_for(lambda e: e.kind == "interaction_callback" and e.data["token"] == help_["token"])
    pages = await help_pages.slash_pages(fake, help_["token"])
    assert [p["title"] for p in pages] == ["🎨 스타일 입히는 법", "🖌️ 다른 방법으로 그리기"]
    second = await fake.send_message(dm, ALICE, f"!style {TINY}", attachments=[CONTENT])
    await wait_status(fake, second, "이미지가 두 장 필요한데 파일이 하나뿐이에요")

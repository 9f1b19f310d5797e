"""Drafts through the real bot, discord.py and the loopback Discord, on the local queue (Redis: test_drafts_redis).

The first look on a job's status message is its draft; ``!style quick`` answers with the draft,
labelled, and "Paint it properly" paints it; ``!style try`` answers with one sheet of drafts and a
menu that paints the chosen saved style. The draft network is the real one (onnxruntime).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageDraw

from bot.answers.buttons import TrySelect
from bot.answers.embeds import MENU_MAX
from bot.answers.results import result_embed, result_view
from bot.core.library import thumbnail
from bot.requests.inputs import style_sample
from engine.jobs.drafts import show_draft
from engine.jobs.report import JobReport, Kind
from engine.nst.images import decode_image
from engine.nst.params import StyleParams, parse_options
from engine.nst.schedule import level_shape
from engine.nst.types import Progress
from tests.bot.conftest import (
    ADMIN,
    ALICE,
    BOB,
    CHANNEL,
    GUILD,
    RecordingQueue,
    decode,
    running,
    status_of,
    wait_done,
    wait_result,
    wait_status,
)
from tests.bot.test_buttons import button
from tests.support.engines import Paced
from tests.support.fakediscord import FakeDiscord
from tests.support.images import png_bytes

pytestmark = pytest.mark.timeout(120)
TINY = "size=32 steps=2 coarse_steps=1"


def scene() -> bytes:
    """A small photo with shapes (a draft of it is worth comparing)."""
    image = Image.new("RGB", (64, 48), (90, 140, 200))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 30, 64, 48), fill=(60, 120, 40))
    draw.ellipse((20, 8, 40, 28), fill=(240, 220, 80))
    return png_bytes(image)


def stripes(colours: tuple[tuple[int, int, int], tuple[int, int, int]], seed: int = 0) -> bytes:
    """A painting of diagonal strokes in two colours."""
    rng = np.random.default_rng(seed)
    image = Image.new("RGB", (64, 64), colours[0])
    draw = ImageDraw.Draw(image)
    for _ in range(40):
        x, y = rng.integers(0, 64, 2)
        draw.line((x, y, x + 12, y + 12), fill=colours[1], width=3)
    return png_bytes(image)


PHOTO = ("photo.png", scene(), "image/png")
PAINTING = ("painting.png", stripes(((20, 30, 120), (250, 200, 30))), "image/png")


def expected_preview(photo: bytes, painting: bytes, size: int) -> Image.Image:
    """The first look a job of ``size`` px should show: the draft, as a preview JPEG."""
    seen: list[Progress] = []
    show_draft(decode_image(photo), [decode_image(painting)], parse_options({"size": size}), seen.append)
    assert seen[0].preview is not None
    return decode(seen[0].preview)


def first_preview(fake: FakeDiscord, request: dict[str, Any]) -> tuple[dict[str, Any], Image.Image]:
    """The first edit of ``request``'s status message that carries a preview, and that preview."""
    status_id = status_of(fake, request)["id"]
    edits = [e.data for e in fake.events if e.kind == "message_update" and e.data["id"] == status_id]
    for edit in edits:
        for attachment in edit["attachments"]:
            if attachment["filename"] == "preview.jpg":
                return edit, decode(fake.attachment_bytes(attachment))
    raise AssertionError(f"no preview on the status message: {[e['content'] for e in edits]}")


def same_picture(a: Image.Image, b: Image.Image) -> bool:
    return a.size == b.size and np.abs(np.asarray(a, float) - np.asarray(b, float)).mean() < 3


def menu(message: dict[str, Any]) -> dict[str, Any]:
    [select] = [c for row in message["components"] for c in row["components"] if c["type"] == 3]
    return select


async def test_the_first_look_on_the_status_message_is_the_draft(fake: FakeDiscord, make_bot) -> None:
    queue = RecordingQueue(preview_every=1000, stylizer=Paced())  # the optimisation's only preview: its last rung
    async with running(fake, make_bot(queue, preview=True)):
        request = await fake.send_message(CHANNEL, ALICE, "!style size=32 levels=1 steps=30",
                                          attachments=[PHOTO, PAINTING])
        await wait_done(fake, request, timeout=110)  # the first job of a session also loads torch
    edit, shown = first_preview(fake, request)
    assert "Painting" in edit["content"]
    assert same_picture(shown, expected_preview(PHOTO[1], PAINTING[1], 32))
    photo = decode(PHOTO[1]).resize(shown.size)
    assert np.abs(np.asarray(shown, float) - np.asarray(photo, float)).mean() > 15  # painted, not the photo


async def test_quick_answers_with_the_draft_labelled_and_paint_it_properly_paints_it(fake: FakeDiscord,
                                                                                     make_bot) -> None:
    async with running(fake, make_bot()) as bot:
        request = await fake.send_message(CHANNEL, ALICE, f"!style quick {TINY}", attachments=[PHOTO, PAINTING])
        quick = await wait_done(fake, request)
        [spec] = bot.queue.submitted
        assert spec.draft == "quick" and (spec.content, spec.styles) == (PHOTO[1], (PAINTING[1],))
    embed = quick["embeds"][0]
    assert embed["title"] == "⚡ Quick draft" and "not the finished result" in embed["description"]
    [attachment] = quick["attachments"]
    assert decode(fake.attachment_bytes(attachment)).size == level_shape((64, 48), 32)  # as a 32 px job's
    assert {"More style", "Upscale"}.isdisjoint(c.get("label") for row in quick["components"]
                                                for c in row["components"])

    async with running(fake, make_bot()) as again:  # after a restart: the button still works
        await fake.click_button(CHANNEL, BOB, quick["id"], button(quick, "Paint it properly"))
        painted = await wait_result(fake, predicate=lambda m: m["id"] != quick["id"])
        [spec] = again.queue.submitted
    assert spec.draft == "" and (spec.content, spec.styles) == (PHOTO[1], (PAINTING[1],)) and spec.user_id == BOB
    assert spec.params.steps == 2 and spec.params.size == 32
    assert painted["embeds"][0]["title"] == "🎨 Stylized"
    assert painted["message_reference"]["message_id"] == request["id"]


async def test_quick_as_a_slash_option(fake: FakeDiscord, bot) -> None:
    payload = await fake.send_slash(CHANNEL, ALICE, "style", {"quick": True, "size": 40},
                                    attachments={"content": PHOTO, "style": PAINTING})
    result = await wait_result(fake)
    assert result["embeds"][0]["title"] == "⚡ Quick draft"
    assert bot.queue.submitted[0].draft == "quick"
    assert [cb["type"] for cb in fake.interaction_responses(payload["token"])][:1] == [5]


async def save(bot: Any, names: list[str]) -> dict[str, bytes]:
    """Saved styles of the guild, straight into the library; their paintings by name."""
    paintings = {}
    for i, name in enumerate(names):
        data = stripes(((30 + 7 * i, 60, 200 - 5 * i), (250, 120 + 3 * i, 40)), seed=i)
        await bot.library.save(GUILD, name, data, thumbnail(data, max_bytes=10**7), ADMIN, limit=100)
        paintings[name] = data
    return paintings


async def test_try_answers_with_one_sheet_and_its_menu_paints_the_chosen_style(fake: FakeDiscord, make_bot) -> None:
    async with running(fake, make_bot()) as bot:
        paintings = await save(bot, ["ocean", "sunset", "forest"])
        request = await fake.send_message(CHANNEL, ALICE, f"!style try {TINY}", attachments=[PHOTO])
        sheet = await wait_done(fake, request)
        [spec] = bot.queue.submitted
    assert spec.draft == "try" and spec.captions == ("forest", "ocean", "sunset")  # the library's order
    assert spec.styles == tuple(style_sample(paintings[n]) for n in spec.captions)
    embed = sheet["embeds"][0]
    assert embed["title"] == "🎨 Your photo in 3 saved styles" and "menu" in embed["description"]
    [attachment] = sheet["attachments"]
    image = decode(fake.attachment_bytes(attachment))
    assert image.width > 2 * image.height  # three cells in one row, captions below
    select = menu(sheet)
    assert [o["value"] for o in select["options"]] == ["forest", "ocean", "sunset"]

    async with running(fake, make_bot()) as again:  # after a restart: the menu still works
        await fake.click_button(CHANNEL, BOB, sheet["id"], select["custom_id"], values=["sunset"])
        painted = await wait_result(fake, predicate=lambda m: m["id"] != sheet["id"])
        [spec] = again.queue.submitted
    assert spec.draft == "" and spec.user_id == BOB
    assert (spec.content, spec.styles) == (PHOTO[1], (paintings["sunset"],))  # the photo, the full painting
    assert spec.params.steps == 2
    assert painted["embeds"][0]["title"] == "🎨 Stylized"


def test_a_sheet_of_more_styles_than_a_menu_holds_lists_the_first_and_says_how_to_name_another() -> None:
    names = [f"style-{i:02d}" for i in range(MENU_MAX + 2)]
    report = JobReport(Kind.TRY, StyleParams(size=64), 320, 200, 3.2, names=tuple(names))
    [select, *_] = result_view(1, report).children
    assert isinstance(select, TrySelect) and [o.value for o in select.item.options] == names[:MENU_MAX]
    description = result_embed(report, "stylized.png").description or ""
    assert f"first {MENU_MAX} of {MENU_MAX + 2}" in description and "`!style <name>`" in description
    few = result_embed(replace(report, names=tuple(names[:3])), "stylized.png")
    assert "first" not in (few.description or "") and few.title == "🎨 Your photo in 3 saved styles"


async def test_try_without_saved_styles_or_outside_a_server_is_refused_in_one_sentence(fake: FakeDiscord,
                                                                                     bot) -> None:
    request = await fake.send_message(CHANNEL, ALICE, "!style try", attachments=[PHOTO])
    refusal = await wait_status(fake, request, "no saved styles to try")
    assert refusal["attachments"] == [] and not bot.queue.submitted
    dm = fake.dm_channel(ALICE)
    private = await fake.send_message(dm, ALICE, "!style try", attachments=[PHOTO])
    await wait_status(fake, private, "saved styles belong to a server")
    payload = await fake.send_slash(CHANNEL, ALICE, "style", {"try": True},
                                    attachments={"content": PHOTO, "style": PAINTING})
    await fake.wait_for_message(CHANNEL, lambda m: "leave out the painting" in m["content"], timeout=10)
    assert fake.interaction_responses(payload["token"])


async def test_drafts_speak_the_jobs_language(fake: FakeDiscord, make_bot) -> None:
    """A Korean client's /style quick, and !style try in a server set to Korean: the draft's embed, its
    button and the sheet's menu are in Korean; the slash options carry their Korean names."""
    fake.user_locales[ALICE] = "ko"
    async with running(fake, make_bot()) as bot:
        sync = await fake.wait_for(lambda e: e.kind == "commands_sync")
        await fake.send_slash(CHANNEL, ALICE, "style", {"quick": True, "size": 40},
                              attachments={"content": PHOTO, "style": PAINTING})
        quick = await wait_result(fake)
        await save(bot, ["ocean", "sunset"])
        setting = await fake.send_message(CHANNEL, ADMIN, "!styleconfig set language ko")
        await wait_status(fake, setting, "ko")
        request = await fake.send_message(CHANNEL, BOB, f"!style try {TINY}", attachments=[PHOTO])
        sheet = await wait_result(fake, predicate=lambda m: m["message_reference"]["message_id"] == request["id"])
        await wait_status(fake, request, "✅ ")
    options = {o["name"]: o for c in sync.data["commands"] if c["name"] == "style" for o in c["options"]}
    assert options["quick"]["name_localizations"]["ko"] == "빠른_초안"
    assert options["try"]["name_localizations"]["ko"] == "스타일_둘러보기"
    assert quick["embeds"][0]["title"] == "⚡ 빠른 초안" and "제대로 그리기" in quick["embeds"][0]["description"]
    assert [c.get("label") for row in quick["components"] for c in row["components"]] == ["제대로 그리기", "다른 스타일로", "매개변수",
                                                                                          "삭제"]
    assert sheet["embeds"][0]["title"] == "🎨 저장된 스타일 2개로 그린 사진"
    assert menu(sheet)["placeholder"] == "하나를 골라 제대로 그리기…"

"""📋 Parameters (button and right-click menu), 🎲 Variation and remixes, end to end against the loopback Discord.

Every answer is read from the bot's record of the result (``results`` in SQLite), which also keeps the
saved styles, the message carrying the inputs and, for a remix, the result it came from.
"""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from bot.core.store import GuildStore
from engine.jobs.report import JobReport, Kind
from engine.nst.params import StyleParams
from tests.bot.conftest import (
    ALICE,
    BOB,
    CHANNEL,
    CONTENT,
    GUILD,
    RESULT_TIMEOUT,
    TINY,
    running,
    style_message,
    wait_done,
    wait_result,
)
from tests.bot.test_buttons import button
from tests.bot.test_menus import STARRY, first_answer, pick, save_styles, tiny_bot
from tests.support.fakediscord import EPHEMERAL, FakeDiscord

pytestmark = pytest.mark.timeout(150)

SHOW = "Show parameters"
LINK = rf"https://discord.com/channels/{GUILD}/{CHANNEL}/"


async def parameters(fake: FakeDiscord, user: int, result: dict[str, Any]) -> str:
    """What ``user`` reads after clicking 📋 Parameters on ``result`` (answered to them only)."""
    click = await fake.click_button(CHANNEL, user, result["id"], button(result, "Parameters"))
    answer = await first_answer(fake, click)
    assert answer["type"] == 4 and answer["data"]["flags"] & EPHEMERAL
    return answer["data"]["content"]


def delivered(bot: Any) -> asyncio.Future[Any]:
    """The next result the bot posts and records (``style_result_delivered`` follows the record)."""
    return asyncio.ensure_future(bot.wait_for("style_result_delivered", timeout=RESULT_TIMEOUT))


def command_line(said: str) -> str:
    return said.split("```\n", 1)[1].split("\n```", 1)[0]


async def test_parameters_of_a_painting_and_of_its_variation_with_a_new_seed(fake: FakeDiscord, bot) -> None:
    request = await style_message(fake, args=f"{TINY} beta=300 alpha=2 seed=7")
    first = await wait_done(fake, request)
    said = await parameters(fake, BOB, first)  # anyone may ask
    lines = said.splitlines()
    assert lines[0] == "📋 **Parameters of this result**"
    assert lines[1] == f"Style: the painting in {LINK}{request['id']}"
    assert lines[2] == "α (content) 2 · β (style) 300 · tv 0"
    assert lines[3] == "λ per layer: relu1_1 1 · relu2_1 1 · relu3_1 1 · relu4_1 1 · relu5_1 1"
    assert re.fullmatch(r"Size: \d+×\d+ px · steps: 2 · init: draft · seed: 7 · preset: classic", lines[4]), lines[4]
    assert re.fullmatch(r"Schedule: 16px×1 → 32px×2 · took \d+(\.\d)? s", lines[5]), lines[5]
    assert lines[6] == "To paint it again, attach the photo and the painting to:"
    line = command_line(said)
    assert line.startswith("!style preset=classic size=32 ")
    for option in ("content_weight=2.0", "style_weight=300.0", "steps=2", "coarse_steps=1", "seed=7"):
        assert option in line.split()

    # 🎲 Variation, by Bob: his job, the same one with a new seed, said on it and in its parameters
    recorded = delivered(bot)
    await fake.click_button(CHANNEL, BOB, first["id"], button(first, "Variation"))
    second = await wait_result(fake, predicate=lambda m: m["id"] != first["id"])
    await recorded
    spec = bot.queue.submitted[1]
    seed = spec.params.seed
    assert seed not in (0, 7) and spec.user_id == BOB and spec.content == CONTENT[1]
    assert (spec.params.steps, spec.params.style_weight, spec.params.content_weight) == (2, 300.0, 2.0)
    assert second["content"] == f"<@{BOB}> variation with seed {seed}"
    assert second["message_reference"]["message_id"] == request["id"]
    assert f"seed: {seed} ·" in await parameters(fake, ALICE, second)
    # the seed moves the start, so the picture differs
    assert fake.attachment_bytes(second["attachments"][0]) != fake.attachment_bytes(first["attachments"][0])


async def test_a_grid_and_a_quick_draft_have_parameters_too(fake: FakeDiscord, bot) -> None:
    grid = await wait_done(fake, await style_message(fake, args="grid size=32 steps=1 levels=1 beta=100"))
    said = await parameters(fake, ALICE, grid)
    assert "β (style) 10 · 25 · 100 · 400" in said.splitlines()[2]
    assert command_line(said).startswith("!style grid preset=classic size=32")
    assert "Variation" not in [item.get("label") for row in grid["components"] for item in row["components"]]

    quick = await wait_done(fake, await style_message(fake, args=f"quick {TINY}"))
    said = await parameters(fake, ALICE, quick)
    assert said.startswith("📋 **Parameters of this result**") and "seed: 0" in said
    assert command_line(said).startswith("!style quick preset=classic size=32")


async def test_a_remix_chain_links_back_and_the_menu_shows_it_in_the_readers_language(
        fake: FakeDiscord, make_bot) -> None:
    async with running(fake, tiny_bot(make_bot)) as bot:
        sync = await fake.wait_for(lambda e: e.kind == "commands_sync")
        [menu] = [c for c in sync.data["commands"] if c["name"] == SHOW]
        assert menu["type"] == 3 and menu["name_localizations"]["ko"] == "매개변수 보기"
        await save_styles(bot, {"starry": STARRY})
        original = await wait_done(fake, await style_message(fake, args=TINY))
        chain = [original]
        for user in (BOB, ALICE):  # Bob remixes Alice's result, then Alice remixes Bob's remix
            parent = chain[-1]
            recorded = delivered(bot)
            paint = await fake.send_context_menu(CHANNEL, user, "Paint in a style", message_id=parent["id"])
            await pick(fake, user, paint, "starry")
            remix = await wait_result(fake, predicate=lambda m, p=parent: m["message_reference"]["message_id"] == p["id"])
            await recorded
            assert bot.queue.submitted[-1].content == fake.attachment_bytes(parent["attachments"][0])
            assert remix["embeds"][0]["description"] == f"Remixed from {LINK}{parent['id']}"
            chain.append(remix)
        records = [await bot.store.result_of(int(m["id"])) for m in chain]
        assert [r.parent_id if r else "missing" for r in records] == [None, int(chain[0]["id"]), int(chain[1]["id"])]
        said = await parameters(fake, BOB, chain[2])
        assert f"Remixed from {LINK}{chain[1]['id']}" in said and "Saved styles: `starry`" in said
        assert command_line(said).startswith("!style starry preset=classic size=32")

        fake.user_locales[BOB] = "ko"  # "Show parameters" answers like the button, in the reader's language
        shown = await first_answer(fake, await fake.send_context_menu(CHANNEL, BOB, SHOW, message_id=chain[2]["id"]))
        korean = shown["data"]["content"]
        assert shown["data"]["flags"] & EPHEMERAL
        assert korean.splitlines()[:2] == ["📋 **이 결과의 매개변수**", "저장된 스타일: `starry`"]
        assert f"원본 결과: {LINK}{chain[1]['id']}" in korean and "다시 그리려면 사진을 첨부해서" in korean

        chat = await fake.send_message(CHANNEL, ALICE, "just chatting")
        none = await first_answer(fake, await fake.send_context_menu(CHANNEL, ALICE, SHOW, message_id=chat["id"]))
        assert "isn't one of my results" in none["data"]["content"]


async def test_results_recorded_before_the_migration_stay_readable(tmp_path: Path) -> None:
    path = str(tmp_path / "old.sqlite3")
    report = JobReport(Kind.PAINTING, StyleParams(size=32), 32, 24, 1.5)
    with sqlite3.connect(path) as db:  # the results table as the version before this one made it
        db.execute("CREATE TABLE results (message_id INTEGER PRIMARY KEY, job_id TEXT NOT NULL, guild_id INTEGER, "
                   "channel_id INTEGER NOT NULL, user_id INTEGER NOT NULL, kind TEXT NOT NULL, report TEXT NOT NULL, "
                   "posted_at REAL NOT NULL)")
        db.execute("INSERT INTO results VALUES (1, 'j', 2, 3, 4, 'painting', ?, 5.0)", (json.dumps(report.to_dict()),))
    for _ in range(2):  # migrated once; the second open finds the schema up to date
        store = GuildStore(path)
        await store.open()
        record = await store.result_of(1)
        await store.close()
        assert record is not None and record.report.params.size == 32 and record.user_id == 4
        assert (record.styles, record.inputs_message_id, record.parent_id) == ((), None, None)

"""Damaged, crafted and unknown ``stylebot:`` custom_ids: each click gets one ephemeral sentence, nothing runs.

The components sit on a real result of the bot (as a damaged or older version of it would have
posted them), so that a custom_id read without checks would queue a job from that result.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.bot.conftest import ALICE, CHANNEL, running, style_message, wait_result
from tests.support.fakediscord import EPHEMERAL, FakeDiscord

pytestmark = pytest.mark.timeout(120)

BAD = "⚠️ This button's data is not valid, so it can't be used. Use the buttons on a newer result."
OLD = "This button is from an older version of the bot and no longer works."

CRAFTED = {
    "stylebot:upscale:7:0,0,5000,5000": BAD,  # a grid has cells 0..3
    "stylebot:upscale:2:0,0,1000000,1000000": BAD,  # a box 100 times the picture
    "stylebot:upscale:2:5000,0,0,5000": BAD,  # left past right
    "stylebot:upscale:2:0,0,5000": BAD,  # three numbers
    "stylebot:upscale:": BAD,
    "stylebot:restyle:much": BAD,
    f"stylebot:delete:alice{ALICE}": BAD,  # the owner is not a number
    "stylebot:delete:99999999999999999999": BAD,  # past the largest Discord id
    f"stylebot:cancel:{'a' * 80}:{ALICE}": BAD,  # no job id is this long
    "stylebot:cancel:ab12:x": BAD,
    "stylebot:cancel": BAD,
    "stylebot:paint:again": BAD,
    "stylebot:params:again": BAD,
    "stylebot:variation:7": BAD,
    "stylebot:zzz": OLD,  # no button of this version
    "stylebot:upscaler": OLD,
}


def put_components(fake: FakeDiscord, message: dict[str, Any], custom_ids: list[str],
                   select: dict[str, Any] | None = None) -> None:
    """Replace the components of a stored bot message: these buttons (five a row), then ``select``."""
    buttons = [{"type": 2, "style": 1, "label": f"b{i}", "custom_id": c} for i, c in enumerate(custom_ids)]
    rows = [{"type": 1, "components": buttons[i:i + 5]} for i in range(0, len(buttons), 5)]
    if select is not None:
        rows.append({"type": 1, "components": [select]})
    fake.message(CHANNEL, message["id"])["components"] = rows


async def answer_to(fake: FakeDiscord, message: dict[str, Any], custom_id: str, *,
                    values: list[str] | None = None) -> dict[str, Any]:
    click = await fake.click_button(CHANNEL, ALICE, message["id"], custom_id, values=values)
    await fake.wait_for(lambda e: e.kind == "interaction_callback" and e.data["token"] == click["token"], 10)
    [answer] = fake.interaction_responses(click["token"])
    return answer


async def test_crafted_and_unknown_custom_ids_are_answered_and_run_nothing(fake: FakeDiscord, make_bot) -> None:
    async with running(fake, make_bot()) as bot:
        await style_message(fake)
        result = await wait_result(fake)
        try_menu = {"type": 3, "custom_id": "stylebot:try", "min_values": 1, "max_values": 1,
                    "options": [{"label": "monet", "value": "monet"}]}
        put_components(fake, result, [*CRAFTED, "stylebot:upscale:9:0,0,1,1"], try_menu)
        for custom_id, sentence in CRAFTED.items():
            answer = await answer_to(fake, result, custom_id)
            assert answer["type"] == 4 and answer["data"]["flags"] & EPHEMERAL, custom_id
            assert answer["data"]["content"] == sentence, custom_id
        answer = await answer_to(fake, result, "stylebot:try", values=["not on the menu"])
        assert answer["data"]["content"] == BAD and answer["data"]["flags"] & EPHEMERAL

        fake.user_locales[ALICE] = "ko"  # in the clicker's language
        answer = await answer_to(fake, result, "stylebot:upscale:9:0,0,1,1")
        assert answer["data"]["content"].startswith("⚠️ 이 버튼의 정보가 올바르지 않아서")
        answer = await answer_to(fake, result, "stylebot:zzz")
        assert answer["data"]["content"].startswith("이 버튼은 이전 버전의 봇에서")
        assert len(bot.queue.submitted) == 1  # the request's own job, nothing from the clicks

        fake.user_locales[ALICE] = "en-US"  # and the bot goes on: a well-formed button still works
        put_components(fake, result, ["stylebot:upscale:2:0,0,5000,5000"])
        await answer_to(fake, result, "stylebot:upscale:2:0,0,5000,5000")
        await wait_result(fake, predicate=lambda m: m["id"] != result["id"])
        assert len(bot.queue.submitted) == 2


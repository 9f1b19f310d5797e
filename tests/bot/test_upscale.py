"""⬆️ Upscale (twice the size, from the result itself) and the strength grid, with buttons that survive restarts."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from tests.bot.conftest import (
    ADMIN,
    ALICE,
    BOB,
    CHANNEL,
    CONTENT,
    STYLE,
    decode,
    running,
    style_message,
    wait_result,
    wait_status,
)
from tests.bot.test_buttons import button
from tests.support.fakediscord import FakeDiscord

pytestmark = pytest.mark.timeout(120)
QUICK = "size=32 steps=2 coarse_steps=1"


def buttons(message: dict) -> list[str]:
    return [item["label"] for row in message["components"] for item in row["components"]]


def footer(message: dict) -> str:
    return message["embeds"][0]["footer"]["text"]


async def test_upscale_after_a_restart_paints_twice_the_size_from_the_result(fake: FakeDiscord, make_bot) -> None:
    async with running(fake, make_bot()):
        request = await style_message(fake, args=f"{QUICK} beta=300")
        first = await wait_result(fake)
        assert buttons(first) == ["More style", "Less style", "Variation", "Upscale", "Restyle", "Parameters", "Delete"]

    again = make_bot()  # a new process: the button finds everything on the messages
    async with running(fake, again):
        click = await fake.click_button(CHANNEL, BOB, first["id"], button(first, "Upscale"))
        second = await wait_result(fake, predicate=lambda m: m["id"] != first["id"])
        assert fake.interaction_responses(click["token"])[0]["type"] == 5  # deferred at once
        [spec] = again.queue.submitted
        assert spec.start_image == fake.attachment_bytes(first["attachments"][0])  # from the result itself
        assert (spec.content, spec.styles) == (CONTENT[1], (STYLE[1],))
        assert spec.options["size"] == 64 and float(spec.options["style_weight"]) == 300  # the same parameters
        assert spec.user_id == BOB and second["content"] == f"<@{BOB}>"
        assert second["embeds"][0]["title"] == "⬆️ Upscaled" and "size=64" in footer(second)
        assert second["message_reference"]["message_id"] == request["id"]  # chained to the same inputs
        big, small = (decode(fake.attachment_bytes(m["attachments"][0])) for m in (second, first))
        assert max(big.size) == 64 > max(small.size)  # (the 32 px one keeps its short side at 32: 43x32)


async def test_upscale_stops_at_the_servers_max_size_with_a_clear_refusal(fake: FakeDiscord, bot) -> None:
    request = await fake.send_message(CHANNEL, ADMIN, "!styleconfig set max_size 48")
    await wait_status(fake, request, "✅")
    await style_message(fake, args=QUICK)
    first = await wait_result(fake)
    await fake.click_button(CHANNEL, ALICE, first["id"], button(first, "Upscale"))
    second = await wait_result(fake, predicate=lambda m: m["id"] != first["id"])
    assert "size=48" in footer(second)  # twice 32 is over the limit: up to it, not past it
    click = await fake.click_button(CHANNEL, ALICE, second["id"], button(second, "Upscale"))
    refusal = await fake.wait_for_message(
        CHANNEL, lambda m: m.get("interaction_metadata", {}).get("id") == click["id"] and "⚠️" in m["content"],
        timeout=20)
    assert refusal["content"] == ("⚠️ this picture is already 48 px, the largest this server allows, "
                                  "so I can't upscale it.")
    assert len(bot.queue.submitted) == 2


async def test_a_grid_is_one_labelled_picture_and_each_cell_upscales_itself(fake: FakeDiscord, bot) -> None:
    await style_message(fake, args=f"grid {QUICK} beta=200")
    grid = await wait_result(fake)
    [spec] = bot.queue.submitted
    assert spec.grid == (0.1, 0.25, 1.0, 4.0)
    assert grid["embeds"][0]["title"] == "🎨 Strength grid"
    assert buttons(grid) == ["Upscale β×0.1", "Upscale β×0.25", "Upscale β×1", "Upscale β×4", "Restyle",
                             "Parameters", "Delete"]
    fields = {f["name"]: f["value"] for f in grid["embeds"][0]["fields"]}
    assert fields["β style weight per cell"] == "×0.1 = 20 · ×0.25 = 50 · ×1 = 200 · ×4 = 800"
    sheet = decode(fake.attachment_bytes(grid["attachments"][0])).convert("RGB")
    assert sheet.width > 2 * 32 and sheet.height > 2 * 32  # 2×2 cells of the job's size, and their labels

    await fake.click_button(CHANNEL, ALICE, grid["id"], button(grid, "Upscale β×4"))
    upscaled = await wait_result(fake, predicate=lambda m: m["id"] != grid["id"])
    cell = bot.queue.submitted[1]
    assert cell.options["style_weight"] == 800.0 and cell.options["size"] == 64 and cell.grid == ()
    start = np.asarray(Image.open(io.BytesIO(cell.start_image)).convert("RGB"), dtype=int)
    # the bottom-right cell of the grid, cut out at its own size
    right, bottom = sheet.crop((sheet.width // 2, sheet.height // 2, sheet.width, sheet.height)).size
    assert start.shape[1] <= right and start.shape[0] <= bottom and max(start.shape[:2]) >= 32
    corner = np.asarray(sheet, dtype=int)[-bottom:, -right:]
    assert any((corner[y:y + start.shape[0], x:x + start.shape[1]] == start).all()
               for y in range(bottom - start.shape[0] + 1) for x in range(right - start.shape[1] + 1))
    assert buttons(upscaled) == ["More style", "Less style", "Variation", "Upscale", "Restyle", "Parameters", "Delete"]
    assert "style_weight=800.0" in footer(upscaled)

"""Result buttons ("More style", "Less style", "Delete") keep working across a bot restart."""

from __future__ import annotations

from typing import Any

import pytest

from tests.bot.conftest import (
    ALICE,
    BOB,
    CHANNEL,
    CONTENT,
    STYLE,
    RecordingQueue,
    running,
    style_message,
    wait_result,
    wait_text,
)
from tests.support.engines import Tiny
from tests.support.fakediscord import FakeDiscord

pytestmark = pytest.mark.timeout(120)


def button(message: dict[str, Any], label: str) -> str:
    for row in message["components"]:
        for item in row["components"]:
            if item.get("label") == label:
                return item["custom_id"]
    raise AssertionError(f"no {label!r} button on {message['components']}")


async def test_less_style_after_a_restart_reruns_with_half_the_beta(fake: FakeDiscord, make_bot) -> None:
    async with running(fake, make_bot()):
        request = await style_message(fake, args="size=32 steps=2 coarse_steps=1 beta=300")
        first = await wait_result(fake)

    again = make_bot()  # a new process: nothing in memory, same channel history
    async with running(fake, again):
        click = await fake.click_button(CHANNEL, ALICE, first["id"], button(first, "Less style"))
        second = await wait_result(fake, predicate=lambda m: m["id"] != first["id"])
        assert [cb["type"] for cb in fake.interaction_responses(click["token"])][:1] == [5]
        [spec] = again.queue.submitted
        assert spec.params.style_weight == 150.0
        assert spec.params.steps == 2 and spec.params.coarse_steps == 1
        # the original images, downloaded again from the message the result replies to
        assert (spec.content, spec.styles) == (CONTENT[1], (STYLE[1],))
        assert "style_weight=150.0" in second["embeds"][0]["footer"]["text"]
        assert second["message_reference"]["message_id"] == request["id"]  # chained to the same inputs


async def test_more_style_from_someone_else_runs_as_their_job(fake: FakeDiscord, bot) -> None:
    await style_message(fake, args="size=32 steps=2 coarse_steps=1 beta=300")
    first = await wait_result(fake)
    await fake.click_button(CHANNEL, BOB, first["id"], button(first, "More style"))
    second = await wait_result(fake, predicate=lambda m: m["id"] != first["id"])
    assert bot.queue.submitted[1].params.style_weight == 600.0
    assert bot.queue.submitted[1].user_id == BOB and second["content"] == f"<@{BOB}>"


async def test_more_style_works_on_a_slash_result(fake: FakeDiscord, make_bot) -> None:
    async with running(fake, make_bot(RecordingQueue(stylizer=Tiny()))) as bot:
        await fake.wait_for(lambda e: e.kind == "commands_sync")
        await fake.send_slash(CHANNEL, ALICE, "style", {"size": 32, "steps": 2},
                              {"content": CONTENT, "style": STYLE})
        first = await wait_result(fake)
        await fake.click_button(CHANNEL, ALICE, first["id"], button(first, "More style"))
        await wait_result(fake, predicate=lambda m: m["id"] != first["id"])
        second_spec = bot.queue.submitted[1]
        assert second_spec.params.style_weight == 200.0
        # the inputs came back from the status message of the /style run (re-encoded copies)
        assert second_spec.content == bot.queue.submitted[0].content


async def test_the_buttons_read_the_bots_record_of_the_result_not_its_embed(fake: FakeDiscord, bot) -> None:
    await style_message(fake, args="size=32 steps=2 coarse_steps=1 beta=300 alpha=2")
    first = await wait_result(fake)
    await wait_text(fake, CHANNEL, "✅ Done")  # said once the result is posted and recorded
    record = await bot.store.result_of(int(first["id"]))
    assert record is not None and record.report.params.style_weight == 300.0 and record.user_id == ALICE
    footer = next(m for m in fake.messages(CHANNEL) if m["id"] == first["id"])["embeds"][0]["footer"]
    footer["text"] = footer["text"].replace("style_weight=300.0", "style_weight=1.0")  # display only
    await fake.click_button(CHANNEL, BOB, first["id"], button(first, "More style"))
    await wait_result(fake, predicate=lambda m: m["id"] != first["id"])
    again = bot.queue.submitted[1].params
    assert (again.style_weight, again.content_weight, again.steps) == (600.0, 2.0, 2)


async def test_a_result_the_bot_has_no_record_of_runs_again_from_its_options_line(fake: FakeDiscord, make_bot,
                                                                                   tmp_path) -> None:
    async with running(fake, make_bot()):
        await style_message(fake, args="size=32 steps=2 coarse_steps=1 beta=300")
        first = await wait_result(fake)
    # a bot with another database: as for a result posted before the bot kept records of its results
    again = make_bot(database_path=str(tmp_path / "elsewhere.sqlite3"))
    async with running(fake, again):
        assert await again.store.result_of(int(first["id"])) is None
        await fake.click_button(CHANNEL, ALICE, first["id"], button(first, "More style"))
        await wait_result(fake, predicate=lambda m: m["id"] != first["id"])
        assert again.queue.submitted[0].params.style_weight == 600.0


async def test_delete_is_for_the_owner(fake: FakeDiscord, bot) -> None:
    await style_message(fake)
    result = await wait_result(fake)
    stranger = await fake.click_button(CHANNEL, BOB, result["id"], button(result, "Delete"))
    await fake.wait_for(lambda e: e.kind == "interaction_callback" and e.data["token"] == stranger["token"])
    [answer] = fake.interaction_responses(stranger["token"])
    assert answer["data"]["flags"] == 64 and "Only the person who asked" in answer["data"]["content"]
    assert fake.message(CHANNEL, result["id"])

    await fake.click_button(CHANNEL, ALICE, result["id"], button(result, "Delete"))
    await fake.wait_for(lambda e: e.kind == "message_delete" and e.data["id"] == result["id"])


async def test_rerun_when_the_inputs_are_gone_is_explained(fake: FakeDiscord, bot) -> None:
    request = await style_message(fake)
    result = await wait_result(fake)
    # the user deleted their message meanwhile: Discord answers 404 Unknown Message
    fake.fail_next("GET", rf"^/channels/{CHANNEL}/messages/{request['id']}$", status=404, code=10008,
                   message="Unknown Message")
    await fake.click_button(CHANNEL, ALICE, result["id"], button(result, "More style"))
    await wait_text(fake, CHANNEL, "the message with the original images is gone, so I can't run it again")
    assert len(bot.queue.submitted) == 1

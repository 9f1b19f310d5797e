"""Queue semantics as users see them: limits, busy, fairness between users, and the Cancel button."""

from __future__ import annotations

from typing import Any

import pytest

from bot.client import StyleBot
from tests.bot.conftest import (
    ADMIN,
    ALICE,
    BOB,
    CHANNEL,
    RecordingQueue,
    bot_messages,
    is_result,
    running,
    status_of,
    style_message,
    wait_result,
    wait_status,
    wait_text,
)
from tests.support.engines import Tap
from tests.support.fakediscord import FakeDiscord

pytestmark = pytest.mark.timeout(120)


def results(fake: FakeDiscord) -> list[dict[str, Any]]:
    return [m for m in bot_messages(fake, CHANNEL) if is_result(m)]


def cancel_id(status: dict[str, Any]) -> str:
    [row] = status["components"]
    [button] = row["components"]
    assert button["label"] == "Cancel"
    return button["custom_id"]


async def test_per_user_limit_refuses_clearly(fake: FakeDiscord, make_bot) -> None:
    gate = Tap()
    async with running(fake, make_bot(RecordingQueue(per_user_limit=1, stylizer=gate))) as bot:
        first = await style_message(fake)
        await wait_status(fake, first, "Painting")
        second = await style_message(fake)
        refusal = await wait_status(fake, second, "✋ you already have 1 job in the queue; wait for it to finish or cancel it")
        assert refusal["components"] == [] and not refusal["attachments"]
        gate.open()
        await wait_result(fake)
        assert len(bot.queue.submitted) == 2 and await bot.queue.depth() == 0


async def test_guild_user_limit_refuses_before_downloading(fake: FakeDiscord, make_bot) -> None:
    gate = Tap()
    async with running(fake, make_bot(RecordingQueue(stylizer=gate))) as bot:
        await bot.store.update(next(iter(fake.guilds)), user_limit=1)
        first = await style_message(fake)
        await wait_status(fake, first, "Painting")
        downloads = len(fake.downloads)
        second = await style_message(fake)
        await wait_status(fake, second, "this server allows 1 job per member at a time")
        assert len(fake.downloads) == downloads and len(bot.queue.submitted) == 1
        gate.open()


async def test_full_queue_says_busy(fake: FakeDiscord, make_bot) -> None:
    gate = Tap()
    async with running(fake, make_bot(RecordingQueue(max_queue=1, stylizer=gate))):
        first = await style_message(fake, ALICE)
        await wait_status(fake, first, "Painting")
        second = await style_message(fake, BOB)
        await wait_status(fake, second, "🚦 I'm busy right now: the queue is full")
        gate.open()


async def test_two_users_are_served_in_turn(fake: FakeDiscord, make_bot) -> None:
    gate = Tap()
    async with running(fake, make_bot(RecordingQueue(stylizer=gate))):
        blocker = await style_message(fake, ADMIN)  # keeps the worker busy while A and B queue up
        await wait_status(fake, blocker, "Painting")
        for _ in range(3):
            request = await style_message(fake, ALICE)
            await wait_status(fake, request, "Queued")
        request = await style_message(fake, BOB)
        status = await wait_status(fake, request, "Queued")
        assert "1 job ahead of yours" in status["content"]  # behind Alice's first, ahead of her others
        gate.open()
        await fake.wait_for(lambda e: len(results(fake)) == 5, timeout=120)
        owners = [m["content"] for m in results(fake)]
        assert owners == [f"<@{u}>" for u in (ADMIN, ALICE, BOB, ALICE, ALICE)]


async def test_cancel_button_works_for_the_owner_only(fake: FakeDiscord, make_bot) -> None:
    gate = Tap()
    async with running(fake, make_bot(RecordingQueue(stylizer=gate))) as bot:
        request = await style_message(fake, ALICE)
        status = await wait_status(fake, request, "Painting")
        refused = await fake.click_button(CHANNEL, BOB, status["id"], cancel_id(status))
        await fake.wait_for(
            lambda e: e.kind == "interaction_callback" and e.data["token"] == refused["token"])
        [answer] = fake.interaction_responses(refused["token"])
        assert answer["type"] == 4 and answer["data"]["flags"] == 64
        assert answer["data"]["content"].startswith("Only the person who asked for this job")

        await fake.click_button(CHANNEL, ALICE, status["id"], cancel_id(status))
        final = await wait_status(fake, request, "🛑 Cancelled: cancelled by alice")
        assert final["components"] == []
        handle = await bot.queue.get(cancel_id(status).split(":")[2])
        assert handle is not None and (await handle.status()).state.value == "cancelled"
        assert results(fake) == []


async def test_moderator_can_cancel_a_queued_job(fake: FakeDiscord, make_bot) -> None:
    gate = Tap()
    async with running(fake, make_bot(RecordingQueue(stylizer=gate))):
        running_job = await style_message(fake, BOB)
        await wait_status(fake, running_job, "Painting")
        request = await style_message(fake, ALICE)
        status = await wait_status(fake, request, "Queued")
        await fake.click_button(CHANNEL, ADMIN, status["id"], cancel_id(status))
        await wait_status(fake, request, "🛑 Cancelled: cancelled by admin")
        gate.open()
        result = await wait_result(fake)
        assert result["content"] == f"<@{BOB}>"


async def test_cancel_after_the_end_says_so(fake: FakeDiscord, bot: StyleBot) -> None:
    request = await style_message(fake, ALICE)
    status = await wait_status(fake, request, "Queued")
    custom_id = cancel_id(status)
    await wait_result(fake)
    click = await fake.click_button(CHANNEL, ALICE, status["id"], custom_id)
    await fake.wait_for(lambda e: e.kind == "interaction_callback" and e.data["token"] == click["token"])
    [answer] = fake.interaction_responses(click["token"])
    assert answer["data"]["content"] == "That job has already finished."
    await wait_text(fake, CHANNEL, "Done")


class Forgetful(RecordingQueue):
    """The local queue, except that it no longer knows the jobs in ``forgotten``: as after a restart without
    its SQLite journal, ``get`` finds nothing for them."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.forgotten: set[str] = set()

    async def get(self, job_id: str):  # type: ignore[override]
        return None if job_id in self.forgotten else await super().get(job_id)


async def test_cancel_of_a_job_the_bot_lost_says_so_and_settles_the_status_message(fake: FakeDiscord,
                                                                                    make_bot) -> None:
    gate = Tap()
    async with running(fake, make_bot(Forgetful(stylizer=gate))) as bot:
        request = await style_message(fake, ALICE)
        status = await wait_status(fake, request, "Painting")
        job_id = cancel_id(status).split(":")[2]
        handle = await bot.queue.get(job_id)
        bot.queue.forgotten.add(job_id)
        click = await fake.click_button(CHANNEL, ALICE, status["id"], cancel_id(status))
        await fake.wait_for(lambda e: e.kind == "interaction_callback" and e.data["token"] == click["token"])
        [answer] = fake.interaction_responses(click["token"])
        assert answer["type"] == 7  # the status message itself: that sentence, no Cancel button any more
        assert answer["message"]["content"].startswith("❔ I no longer know this job: it was lost")
        assert answer["message"]["components"] == []
        assert bot.tracker.jobs_of(ALICE) == []  # nobody follows it any more: no edit after the settling one

        gate.open()  # the lost job ends in the queue all the same: nobody posts it or edits the status again
        assert handle is not None
        await handle.result()
        assert status_of(fake, request)["content"] == answer["message"]["content"]
        assert results(fake) == []


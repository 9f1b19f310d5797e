"""Many users at once: every request gets exactly one answer, a picture or a refusal, never two."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.bot.conftest import (
    CHANNEL,
    CONTENT,
    GUILD,
    STYLE,
    TINY,
    RecordingQueue,
    bot_messages,
    is_result,
    running,
)
from tests.support.fakediscord import FakeDiscord

pytestmark = pytest.mark.timeout(180)
REQUESTS, USERS, PER_USER = 40, 8, 3


def answers(fake: FakeDiscord, requests: list[dict[str, Any]]) -> dict[str, list[str]]:
    """For each request: what the bot answered it with ("result" or the refusal's first word)."""
    out: dict[str, list[str]] = {r["id"]: [] for r in requests}
    for m in bot_messages(fake, CHANNEL):
        ref = (m.get("message_reference") or {}).get("message_id")
        if ref in out and (is_result(m) or m["content"].startswith("✋")):
            out[ref].append("result" if is_result(m) else "refused")
    return out


async def test_forty_requests_from_eight_users_get_one_answer_each(fake: FakeDiscord, make_bot) -> None:
    users = [fake.add_member(GUILD, fake.add_user(f"user{i}")) for i in range(USERS)]
    queue = RecordingQueue(workers=1, per_user_limit=PER_USER, max_queue=REQUESTS)
    async with running(fake, make_bot(queue, per_user_limit=PER_USER)):
        requests = [await fake.send_message(CHANNEL, users[i % USERS], f"!style {TINY} seed={i}",
                                            attachments=[CONTENT, STYLE]) for i in range(REQUESTS)]
        for _ in range(600):
            got = answers(fake, requests)
            if all(got.values()) and await queue.depth() == 0:
                break
            await asyncio.sleep(0.2)
        await asyncio.sleep(1.0)  # a late duplicate would show up now
        got = answers(fake, requests)
    assert all(len(a) == 1 for a in got.values()), {k: v for k, v in got.items() if len(v) != 1}
    results = sum(a == ["result"] for a in got.values())
    assert results == len(queue.submitted) - sum(a == ["refused"] for a in got.values())
    assert results >= USERS * PER_USER  # each user's first jobs always fit

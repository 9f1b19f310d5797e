"""The help's two pages as a test reads them (one message may carry 6,000 characters of embeds)."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.support.fakediscord.server import FakeDiscord

DISCORD_EMBED_LIMIT = 6000


async def prefix_pages(fake: FakeDiscord, channel: int, request: dict[str, Any]) -> list[dict[str, Any]]:
    """The embeds of ``!stylehelp``: the reply to ``request``, then the next message with an embed."""
    first = await fake.wait_for_message(
        channel, lambda m: m.get("message_reference", {}).get("message_id") == request["id"] and m["embeds"])
    second = await fake.wait_for_message(channel, lambda m: int(m["id"]) > int(first["id"]) and m["embeds"])
    return [first["embeds"][0], second["embeds"][0]]


async def slash_pages(fake: FakeDiscord, token: str, timeout: float = 10.0) -> list[dict[str, Any]]:
    """The embeds of ``/stylehelp``: its first answer, then its follow-up (both ephemeral)."""
    for _ in range(int(timeout / 0.05)):
        answers = [r for r in fake.interaction_responses(token) if r["kind"] in ("callback", "followup")]
        if len(answers) >= 2:
            break
        await asyncio.sleep(0.05)
    assert len(answers) == 2, answers
    return [a["data"]["embeds"][0] for a in answers]


def size(embed: dict[str, Any]) -> int:
    """What Discord counts of an embed towards its limit: title, description, fields, footer."""
    return (len(embed.get("title", "")) + len(embed.get("description", "")) + len(embed.get("footer", {}).get("text", ""))
            + sum(len(f["name"]) + len(f["value"]) for f in embed.get("fields", [])))


def fields(pages: list[dict[str, Any]]) -> dict[str, str]:
    return {f["name"]: f["value"] for page in pages for f in page.get("fields", [])}

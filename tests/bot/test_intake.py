"""Unit tests of bot/requests/intake.py's first, cheapest checks: where a request may come from, the member's quota.

Everything after them (downloads, the status message, the queue) is tested end to end in the other files
of tests/bot/; these pin the sentences and the order of the checks without a Discord.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import discord
import pytest

from bot.core.errors import UserError
from bot.core.settings import BotSettings
from bot.core.store import GuildConfig
from bot.requests.intake import Intake
from bot.requests.origin import Origin
from engine.errors import UserLimitReached

CHANNEL, THREAD, ART = 11, 12, 13
ALL_NEEDED = discord.Permissions(send_messages=True, attach_files=True, embed_links=True,
                                 read_message_history=True)
NO_FILES = discord.Permissions(send_messages=True, read_message_history=True)


def intake(*, accepting: bool = True, allow_dms: bool = True, active: int = 0) -> Intake:
    settings = BotSettings(_env_file=None, allow_dms=allow_dms)
    tracker = SimpleNamespace(active=lambda user_id, guild_id: active, in_channel=lambda channel_id: [])
    return Intake(SimpleNamespace(settings=settings, accepting=accepting, tracker=tracker))  # type: ignore[arg-type]


def origin(channel_id: int = CHANNEL, *, parent_id: int | None = None, in_guild: bool = True,
           perms: discord.Permissions = ALL_NEEDED) -> Origin:
    channel = SimpleNamespace(id=channel_id, parent_id=parent_id, permissions_for=lambda member: perms)
    guild: Any = SimpleNamespace(id=5, me=object()) if in_guild else None
    return Origin(SimpleNamespace(id=42), channel, guild)  # type: ignore[arg-type]


def test_a_request_in_an_allowed_place_passes() -> None:
    intake()._check_place(origin(), GuildConfig())
    intake()._check_place(origin(ART), GuildConfig(channels=(ART,)))
    intake()._check_place(origin(THREAD, parent_id=ART), GuildConfig(channels=(ART,)))  # a thread of it
    intake()._check_place(origin(in_guild=False), GuildConfig())  # a DM


@pytest.mark.parametrize("check, says", [
    (lambda: intake(accepting=False)._check_place(origin(), GuildConfig()), "I'm restarting"),
    (lambda: intake(allow_dms=False)._check_place(origin(in_guild=False), GuildConfig()),
     "I don't take jobs in direct messages"),
    (lambda: intake()._check_place(origin(), GuildConfig(channels=(ART, 14))),
     "I don't take jobs in this channel; please use <#13>, <#14>."),
    (lambda: intake()._check_place(origin(perms=NO_FILES), GuildConfig()),
     "I need the Attach Files, Embed Links permissions in this channel to post results"),
])
def test_a_request_from_a_place_the_bot_cannot_serve_is_refused_with_the_reason(check: Any,
                                                                                says: str) -> None:
    with pytest.raises(UserError) as info:
        check()
    assert says in str(info.value)


def test_the_restart_refusal_comes_before_any_other() -> None:
    with pytest.raises(UserError, match="I'm restarting"):
        intake(accepting=False, allow_dms=False)._check_place(origin(in_guild=False), GuildConfig())


async def test_a_member_at_the_servers_job_limit_is_told_to_wait() -> None:
    await intake(active=1)._check_quota(origin(), GuildConfig(user_limit=2))
    await intake(active=9)._check_quota(origin(), GuildConfig())  # no limit set here
    with pytest.raises(UserLimitReached, match="this server allows 2 jobs per member at a time"):
        await intake(active=2)._check_quota(origin(), GuildConfig(user_limit=2))
    with pytest.raises(UserLimitReached, match="allows 1 job per member"):
        await intake(active=1)._check_quota(origin(), GuildConfig(user_limit=1))

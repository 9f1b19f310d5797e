"""Fair in a busy channel: the wait a server sets between one member's jobs (``cooldown``) and the jobs one
channel may have waiting or running (``channel_limit``).

The intake asks :class:`Fairness` beside the per-member limit, before any image is downloaded, so every
way in (commands, menus, buttons) is held to the same rules; each refusal says when to try again, as a
duration the catalogue formats (a ``*_s`` argument). The time of each member's last job is kept in
memory: a restart of the bot forgets the cooldowns, which errs on the member's side.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING

from bot.core.errors import UserError

if TYPE_CHECKING:
    from bot.core.host import Followers
    from bot.core.store import GuildConfig
    from bot.requests.origin import Origin


class Fairness:
    """The cooldown's memory (when each member's last job was queued, per server) and the two checks."""

    def __init__(self) -> None:
        self._last_job: dict[tuple[int, int], float] = {}  # (guild, member) -> time.monotonic() of their last job

    async def check(self, origin: Origin, config: GuildConfig, followers: Followers) -> None:
        """Refuse (UserError) a member still in their cooldown, or a channel at its limit; in servers only."""
        if origin.guild_id is None:
            return
        last = self._last_job.get((origin.guild_id, origin.user.id))
        if config.cooldown and last is not None and (wait := last + config.cooldown - time.monotonic()) > 0:
            raise UserError("refusal.cooldown", cooldown_s=config.cooldown, wait_s=math.ceil(wait))
        waiting = followers.in_channel(origin.channel.id)
        if config.channel_limit and len(waiting) >= config.channel_limit:
            # a place frees when the first of them ends: the soonest time the queue foresees
            etas = [s.eta_s for s in [await h.status() for h in waiting] if s.eta_s is not None]
            if etas:
                raise UserError("refusal.channel_limit", count=config.channel_limit,
                                wait_s=max(1, math.ceil(min(etas))))
            raise UserError("refusal.channel_limit.estimating", count=config.channel_limit)

    def queued(self, origin: Origin) -> None:
        """A job of this member was queued: their cooldown starts now."""
        if origin.guild_id is not None:
            self._last_job[(origin.guild_id, origin.user.id)] = time.monotonic()

"""A request as every way in describes it: who asked and where (:class:`Origin`), and what for (:class:`Inputs`).

The front doors (cogs, buttons, menus) build these and hand them to :class:`bot.requests.intake.Intake`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import discord
from discord.ext import commands

from bot.requests.links import Link
from bot.words import i18n
from engine.tiles import Box


@dataclass
class Origin:
    """Who asked, where, and how to answer: a command message, or an already deferred interaction."""

    user: discord.abc.User
    channel: Any  # a Messageable with an id (text channel, thread, DM, partial)
    guild: discord.Guild | None
    interaction: discord.Interaction | None = None
    message: discord.Message | None = None
    lang: str = i18n.DEFAULT  # what every answer to this request speaks (bot.words.language.choose)

    @classmethod
    def from_context(cls, ctx: commands.Context) -> Origin:
        return cls(ctx.author, ctx.channel, ctx.guild, message=ctx.message)

    @classmethod
    def from_interaction(cls, interaction: discord.Interaction) -> Origin:
        return cls(interaction.user, interaction.channel, interaction.guild, interaction=interaction)

    @property
    def guild_id(self) -> int | None:
        return self.guild.id if self.guild else None

    @property
    def upload_limit(self) -> int:
        if self.interaction is not None:
            return self.interaction.filesize_limit
        return self.guild.filesize_limit if self.guild else discord.utils.DEFAULT_FILE_SIZE_LIMIT_BYTES

    def bot_permissions(self) -> discord.Permissions:
        if self.interaction is not None:
            return self.interaction.app_permissions
        return self.channel.permissions_for(self.guild.me)  # type: ignore[union-attr]


@dataclass
class Inputs:
    """What a request asks for; ``source`` is the message carrying the images, when there is one.

    ``saved`` names styles of the server's library, used after the attached ones; ``grid`` asks
    for a strength grid; ``upscale`` makes the job an upscale of that result message's picture
    (or of the grid cell at the box), downloaded with the other images, once the cheap checks pass.
    """

    attachments: list[discord.Attachment | Link]
    options: dict[str, Any] = field(default_factory=dict)
    source: discord.Message | None = None
    saved: list[str] = field(default_factory=list)
    grid: bool = False
    upscale: tuple[discord.Message, Box | None] | None = None
    quick: bool = False  # the draft is the result (engine.jobs.drafts)
    spoiler: bool = False  # asked for; the server's spoiler setting may add it (see Intake.request)
    # Where the result replies when that is not the message carrying the inputs (a right-clicked
    # message, a result being restyled); the result then links to the inputs (Delivery.inputs_message_id).
    reply_to: discord.Message | None = None
    note: str = ""  # said on the result after the requester's mention (names a member, never pings)
    parent: discord.Message | None = None  # a remix: the posted result whose picture is the photo


Gather = Callable[[], Awaitable[Inputs]]

"""Where a job's answers go (:class:`Delivery`, kept in the job's meta), whom they may ping, and a posted result's picture."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import discord

from bot.core.errors import discord_call
from bot.words import i18n

if TYPE_CHECKING:
    from bot.core.host import Host

log = logging.getLogger(__name__)


def mention_only(user_id: int, *, replied_user: bool = True) -> discord.AllowedMentions:
    """Every answer may ping its requester, and nobody else."""
    return discord.AllowedMentions(everyone=False, roles=False, users=[discord.Object(user_id)],
                                   replied_user=replied_user)


async def posted_file(bot: Host, channel_id: int, guild_id: int | None, message_id: int) -> discord.Attachment | None:
    """The picture of a posted result (its first file), for a repost or a winners' sheet; None when the
    message or its file is gone, or Discord failed (logged)."""
    channel = bot.get_partial_messageable(channel_id, guild_id=guild_id)
    with discord_call(log, "cannot read the picture of result %s", message_id, level=logging.WARNING):
        message = await channel.fetch_message(message_id)
        if message.attachments:
            return message.attachments[0]
        log.warning("result %s has no picture left", message_id)
    return None


def message_link(guild_id: int | None, channel_id: int, message_id: int) -> str:
    """A link to a message: in its server, or ``@me`` for a direct message."""
    return f"https://discord.com/channels/{guild_id or '@me'}/{channel_id}/{message_id}"


@dataclass(frozen=True)
class Delivery:
    """Where a job's answers go; stored in ``JobSpec.meta`` (plain ints; the reach fields, two strings and an
    int, only where set, so the meta of a plain job is what it always was)."""

    channel_id: int
    status_message_id: int
    reply_to_id: int  # the message that carries the inputs; the result replies to it
    reply_author_id: int
    upload_limit: int
    guild_id: int | None = None
    lang: str = i18n.DEFAULT  # the language of every answer about this job (bot.words.language.choose)
    spoiler: bool = False  # post the result, its previews and its gallery repost as spoilers
    inputs_message_id: int | None = None  # the message carrying the inputs, when the result replies elsewhere
    note: str = ""  # said after the requester's mention on the result
    # a server that did not add the bot: answers go through the interaction's webhook (bot.answers.courier)
    webhook_token: str | None = None
    parent_id: int | None = None  # a remix: the result (in this channel) whose picture is the photo

    @property
    def inputs_id(self) -> int:
        """The message carrying the job's photo and paintings."""
        return self.inputs_message_id or self.reply_to_id

    def jump_url(self, message_id: int) -> str:
        """A link to one of this job's messages in its channel. Built from the job's own ids, not
        ``Message.jump_url``: that one falls back to ``@me`` when the guild is not cached, as in a
        server that did not add the bot, and such a link leads nowhere. ``@me`` only for a DM."""
        return message_link(self.guild_id, self.channel_id, message_id)

    def to_meta(self) -> dict[str, Any]:
        meta = asdict(self)
        for name in _SET_ONLY:
            if meta[name] in (None, ""):
                del meta[name]
        return meta

    @classmethod
    def from_meta(cls, meta: dict[str, Any]) -> Delivery | None:
        try:
            return cls(**{k: meta[k] for k in cls.__dataclass_fields__ if k in meta})
        except TypeError:
            return None


_SET_ONLY = ("inputs_message_id", "note", "webhook_token", "parent_id")  # Delivery fields kept in the meta only when set



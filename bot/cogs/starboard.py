"""The starboard: a result that members give enough ⭐ goes to the server's gallery channel, once.

Stars are kept in SQLite beside the settings (:mod:`bot.core.records`), one row per member and result,
so a restart between two stars loses none. Counted: ⭐ on a message the bot recorded as a result, from a
member who is neither a bot nor the result's author. When the count reaches the server's ``stars``
setting (default 3), the repost is claimed in SQLite first, so two stars that arrive together repost
once; stars taken back never delete a repost, and a result that falls below and comes back is not
reposted again. Listened to raw (``on_raw_reaction_*``), so a result posted before a restart, which
discord.py no longer caches, counts all the same.

A result deleted any way (its Delete button, a moderator in Discord) takes its repost along and its stars
are forgotten; a repost deleted in the gallery is forgotten, and its result is not reposted again.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord
from discord.ext import commands

from bot.answers.buttons import delete_repost
from bot.answers.delivery import message_link, posted_file
from bot.answers.gallery import Piece, gallery_for, post
from bot.core.records import ResultRecord

if TYPE_CHECKING:
    from bot.core.host import Host

log = logging.getLogger(__name__)

STAR = "⭐"


class StarboardCog(commands.Cog):
    def __init__(self, bot: Host) -> None:
        self.bot = bot

    @commands.Cog.listener()
    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        if _star_in_a_server(payload):
            stars = await self._star(payload)
            self.bot.dispatch("style_star_added", payload.message_id, payload.user_id, stars)

    @commands.Cog.listener()
    async def on_raw_reaction_remove(self, payload: discord.RawReactionActionEvent) -> None:
        if _star_in_a_server(payload):  # only members' stars on results were kept: nothing else to take back
            stars = await self.bot.store.remove_star(payload.message_id, payload.user_id)
            self.bot.dispatch("style_star_removed", payload.message_id, payload.user_id, stars)

    @commands.Cog.listener()
    async def on_raw_reaction_clear(self, payload: discord.RawReactionClearEvent) -> None:
        """A moderator cleared every reaction of a message: its stars are gone too (a repost stays)."""
        if payload.guild_id is not None:
            await self.bot.store.clear_stars(payload.message_id)

    @commands.Cog.listener()
    async def on_raw_reaction_clear_emoji(self, payload: discord.RawReactionClearEmojiEvent) -> None:
        if payload.guild_id is not None and _is_star(payload.emoji):
            await self.bot.store.clear_stars(payload.message_id)

    async def _star(self, payload: discord.RawReactionActionEvent) -> int | None:
        """Count a ⭐ and repost the result when it has enough: its stars now (None: not counted)."""
        if payload.member is not None and payload.member.bot:
            return None
        record = await self.bot.store.result_of(payload.message_id)
        if record is None or payload.user_id in (record.user_id, getattr(self.bot.user, "id", None)):
            return None  # not a result, or its author's own star (or the bot's)
        stars = await self.bot.store.add_star(record.message_id, payload.user_id)
        log.info("result %s starred by user %s (%d)", record.message_id, payload.user_id, stars)
        await self._repost_if_starred(record, stars)
        return stars

    @commands.Cog.listener()
    async def on_raw_message_delete(self, payload: discord.RawMessageDeleteEvent) -> None:
        if payload.guild_id is not None:
            await self._deleted(payload.message_id)

    @commands.Cog.listener()
    async def on_raw_bulk_message_delete(self, payload: discord.RawBulkMessageDeleteEvent) -> None:
        for message_id in payload.message_ids:
            await self._deleted(message_id)

    async def _deleted(self, message_id: int) -> None:
        """A result's repost goes with it (Delete may have taken it already); a deleted repost is forgotten."""
        if await delete_repost(self.bot, message_id):
            return
        if (result_id := await self.bot.store.forget_repost(message_id)) is not None:
            log.info("gallery repost %s of result %s deleted; the result is not reposted again", message_id,
                     result_id)

    async def _repost_if_starred(self, record: ResultRecord, stars: int) -> None:
        config = await self.bot.store.get(record.guild_id)
        if stars < config.stars or (gallery := gallery_for(self.bot, config, record.channel_id)) is None:
            return
        claimed = await self.bot.store.claim_repost(record.message_id, config.stars)
        if claimed is None:
            return  # reposted (or being reposted) already, or a star was taken back meanwhile
        try:
            file = await posted_file(self.bot, record.channel_id, record.guild_id, record.message_id)
            image = await file.read() if file is not None else None
        except Exception:  # the claim goes back whatever went wrong: a later star tries again
            await self.bot.store.release_claim(record.message_id)
            raise
        if file is None or image is None:
            await self.bot.store.release_claim(record.message_id)
            return
        link = message_link(record.guild_id, record.channel_id, record.message_id)
        await post(self.bot, config, gallery,
                   Piece(record.message_id, record.user_id, record.report, image, file.is_spoiler(), claimed, link))


def _is_star(emoji: discord.PartialEmoji) -> bool:
    """A plain ⭐ (not a custom emoji named so), with or without the emoji presentation selector."""
    return emoji.is_unicode_emoji() and (emoji.name or "").removesuffix("\ufe0f") == STAR


def _star_in_a_server(payload: discord.RawReactionActionEvent) -> bool:
    """A ⭐ in a server: a DM has no gallery."""
    return payload.guild_id is not None and _is_star(payload.emoji)

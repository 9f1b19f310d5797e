"""The gallery: the one way a result is reposted to its server's gallery channel.

A server's ``gallery_posts`` setting says which results go there: ``every`` one as it is delivered
(:func:`repost_delivered`), or those members starred enough (``starred``: :mod:`bot.cogs.starboard`,
which also brings in, in ``every`` mode, a starred result that has no repost yet, such as one posted
before the gallery was set). Either way the caller first claims the repost in SQLite
(:meth:`bot.core.store.GuildStore.claim_repost`), so a result reaches the gallery once; the repost is
then remembered beside the result, so deleting the result takes the repost along, and 📋 Parameters
on the repost answers with the result's own.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import discord

from bot.answers.results import repost_view, result_embed
from bot.answers.upload import Reduced, send_fitted
from bot.core import spoilers
from bot.core.errors import UserError, discord_call
from bot.words import i18n
from bot.words.language import choose
from engine.jobs.report import JobReport

if TYPE_CHECKING:
    from bot.core.host import Host
    from bot.core.store import GuildConfig

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Piece:
    """What a repost shows: whose result, its picture and report; from the starboard, its stars and a link."""

    result_id: int
    user_id: int
    report: JobReport
    image: bytes
    spoiler: bool  # the result is one (its job's choice, or its channel's setting)
    stars: int | None = None  # reposted for its stars: how many it had, said with ``link`` to the result
    link: str = ""


def gallery_for(bot: Host, config: GuildConfig, channel_id: int) -> Any:
    """The server's gallery channel, when the bot sees one and the result was not posted in it (None: no repost)."""
    gallery = bot.get_channel(config.gallery_channel) if config.gallery_channel else None
    return None if gallery is None or gallery.id == channel_id else gallery


async def repost_delivered(bot: Host, guild_id: int | None, channel_id: int, piece: Piece) -> None:
    """A result just delivered goes to the gallery when the server's gallery takes ``every`` result."""
    config = await bot.store.get(guild_id)
    gallery = gallery_for(bot, config, channel_id)
    if gallery is None or config.gallery_posts != "every" or await bot.store.claim_repost(piece.result_id) is None:
        return
    await post(bot, config, gallery, piece)


async def post(bot: Host, config: GuildConfig, gallery: Any, piece: Piece) -> discord.Message | None:
    """Post a result whose repost the caller claimed, without pings; a post that fails gives the claim back
    (logged), so a later star may try again."""
    lang = await choose(bot, guild=gallery.guild)  # the server's language, not the requester's
    user = f"<@{piece.user_id}>"
    if piece.stars is None:
        content, view = i18n.text(lang, "gallery.by", user=user), None
    else:
        content = i18n.text(lang, "gallery.starred", count=piece.stars, user=user, link=piece.link)
        view = repost_view(lang)

    async def send(file: discord.File, reduced: Reduced) -> discord.Message:
        return await gallery.send(content, file=file, embed=result_embed(piece.report, file.filename, lang),
                                  view=view, allowed_mentions=discord.AllowedMentions.none())

    # the result's own choice, or the server's setting for the gallery channel (it may be age-restricted)
    spoiler = piece.spoiler or spoilers.wanted(config.spoiler, gallery)
    repost = None
    with discord_call(log, "result %s: cannot post to gallery channel %s", piece.result_id, gallery.id,
                      level=logging.WARNING):
        try:
            repost = await send_fitted(send, piece.image, gallery.guild.filesize_limit, name="gallery",
                                       spoiler=spoiler)
        except UserError as exc:  # too large even when shrunk
            log.warning("result %s: cannot post to gallery channel %s: %s", piece.result_id, gallery.id, exc)
        except Exception:  # anything else: the claim goes back (a later star tries again), and it is logged
            await bot.store.release_claim(piece.result_id)
            raise
    if repost is None:
        await bot.store.release_claim(piece.result_id)
        return None
    await bot.store.record_repost(piece.result_id, gallery.id, repost.id)
    log.info("result %s reposted to gallery channel %s as message %s (%s)", piece.result_id, gallery.id, repost.id,
             "every result" if piece.stars is None else f"{piece.stars} stars")
    return repost

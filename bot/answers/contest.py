"""What the bot posts about a style challenge: the announcement, the answer to a vote, and the winners' sheet.

The challenge itself (its entries and votes) is kept by :class:`bot.core.challenges.ChallengeBook`; its
commands and its clock live in :mod:`bot.cogs.challenge`. The announcement and the sheet speak the
language the server spoke when the challenge started; a vote is answered in the voter's own.
"""

from __future__ import annotations

import asyncio
import io
import logging
from typing import TYPE_CHECKING, Any

import discord

from bot.answers.delivery import message_link, posted_file
from bot.answers.embeds import EMBED_COLOUR
from bot.core.challenges import Ballot, Challenge, Entry
from bot.core.errors import discord_call
from bot.words import i18n
from bot.words.language import choose
from engine.nst.images import decode_image, encode_image, peek
from engine.tiles import compose

if TYPE_CHECKING:
    from bot.core.host import Host

log = logging.getLogger(__name__)

SHEET_CELL = 384  # px, one winner's tile on the sheet
SHEET_NAME = "winners.jpg"
MEDALS = ("🥇", "🥈", "🥉")
SHOWN_FORMATS = ("png", "jpeg", "gif", "webp")  # what Discord shows as an embed's picture
BALLOT_KEYS = {Ballot.VOTED: "challenge.vote.counted", Ballot.MOVED: "challenge.vote.moved",
               Ballot.SAME: "challenge.vote.same", Ballot.OWN: "challenge.vote.own",
               Ballot.NOT_ENTRY: "challenge.vote.not_entry", Ballot.CLOSED: "challenge.vote.closed"}


def when(seconds: float, style: str = "F") -> str:
    """A moment as Discord shows it to each reader, in their own time zone and language."""
    return f"<t:{int(seconds)}:{style}>"


def announcement(challenge: Challenge, painting: bytes) -> tuple[discord.Embed, discord.File]:
    """The announcement's embed, with the painting as its picture (a file beside it: re-encoded as a PNG unless
    Discord shows it as it is)."""
    found = peek(painting, None)
    kind = found[0].lower() if found else ""
    if kind not in SHOWN_FORMATS:
        painting, kind = encode_image(decode_image(painting), format="PNG"), "png"
    name = f"painting.{kind}"
    lang = challenge.lang
    embed = discord.Embed(title=i18n.text(lang, "challenge.announce.title", style=challenge.style),
                          description=i18n.text(lang, "challenge.announce.rules", style=challenge.style,
                                                channel=f"<#{challenge.channel_id}>", end=when(challenge.ends_at),
                                                left=when(challenge.ends_at, "R")),
                          colour=EMBED_COLOUR)
    embed.set_image(url=f"attachment://{name}")
    return embed, discord.File(io.BytesIO(painting), name)


async def answer_vote(interaction: discord.Interaction[Host], challenge_id: int) -> None:
    """A member clicked 🗳️ Vote on an entry: count it (one vote per member, movable), or say why not."""
    bot, message = interaction.client, interaction.message
    assert message is not None
    lang = await choose(bot, interaction=interaction)
    ballot, entrant = await bot.challenges.vote(challenge_id, interaction.user.id, message.id,
                                                discord.utils.utcnow().timestamp())
    log.info("challenge %s: user %s voted on message %s: %s", challenge_id, interaction.user.id, message.id,
             ballot.value)
    await interaction.response.send_message(i18n.text(lang, BALLOT_KEYS[ballot], user=f"<@{entrant}>"),
                                            ephemeral=True, allowed_mentions=discord.AllowedMentions.none())


def _sheet(images: list[Any]) -> bytes:
    """The podium side by side, each captioned with its place: tiles as large as the largest picture, at most
    :data:`SHEET_CELL` a side (a deleted entry is an empty tile)."""
    shown = [i for i in images if i is not None]
    cell = (min(SHEET_CELL, max(i.width for i in shown)), min(SHEET_CELL, max(i.height for i in shown)))
    sheet = compose(images, [str(place) for place in range(1, len(images) + 1)], columns=len(images), cell=cell)
    return encode_image(sheet.image, format="JPEG", quality=90)


async def _picture(bot: Host, challenge: Challenge, entry: Entry) -> Any:
    """An entry's picture, read from its message (None: deleted, or unreadable: an empty tile; logged)."""
    file = await posted_file(bot, challenge.channel_id, challenge.guild_id, entry.message_id)
    if file is None:
        return None
    try:
        return await asyncio.to_thread(decode_image, await file.read())
    except Exception:  # one unreadable entry must not keep the others off the sheet
        log.warning("challenge %s: cannot read entry %s for the winners' sheet", challenge.id, entry.message_id,
                    exc_info=True)
        return None


async def post_winners(bot: Host, challenge: Challenge, pings: bool) -> int | None:
    """Post the winners' sheet in the challenge's channel: its message id, or None when that channel is gone
    for good (Discord says not found, or the bot may no longer post there). Other failures raise: try again."""
    lang = challenge.lang
    try:
        channel = bot.get_channel(challenge.channel_id) or await bot.fetch_channel(challenge.channel_id)
    except (discord.NotFound, discord.Forbidden):
        return None
    podium = challenge.winners
    lines = [i18n.text(lang, "challenge.ended.title", style=challenge.style)]
    for medal, entry in zip(MEDALS, podium, strict=False):
        lines.append(i18n.text(lang, "challenge.ended.place", medal=medal, user=f"<@{entry.user_id}>",
                               count=entry.votes,
                               link=message_link(challenge.guild_id, challenge.channel_id, entry.message_id)))
    if not podium:
        lines.append(i18n.text(lang, "challenge.ended.no_votes"))
    mentions = discord.AllowedMentions(users=[discord.Object(e.user_id) for e in podium]) if pings \
        else discord.AllowedMentions.none()
    options: dict[str, Any] = {}
    pictures = [await _picture(bot, challenge, entry) for entry in podium]
    if any(p is not None for p in pictures):
        data = await asyncio.to_thread(_sheet, pictures)
        options["file"] = discord.File(io.BytesIO(data), SHEET_NAME)
    try:
        sheet = await channel.send("\n".join(lines), allowed_mentions=mentions, **options)
    except (discord.NotFound, discord.Forbidden) as exc:
        log.warning("challenge %s: cannot post the winners' sheet in channel %s: %s", challenge.id,
                    challenge.channel_id, exc)
        return None
    await _settle_announcement(channel, challenge, sheet.id)
    return sheet.id


async def _settle_announcement(channel: Any, challenge: Challenge, sheet_id: int) -> None:
    """The announcement says the challenge has ended (and where the winners are), and is unpinned."""
    if challenge.announcement_id is None:
        return
    message = channel.get_partial_message(challenge.announcement_id)
    link = message_link(challenge.guild_id, challenge.channel_id, sheet_id)
    with discord_call(log, "challenge %s: cannot mark the announcement ended", challenge.id):
        await message.edit(content=i18n.text(challenge.lang, "challenge.announce.ended", link=link))
    with discord_call(log, "challenge %s: cannot unpin the announcement", challenge.id):
        await message.unpin()

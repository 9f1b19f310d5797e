"""``/stylechallenge`` (and ``!stylechallenge``): a server-wide "paint this week's style", with votes and winners.

A moderator (Manage Server) starts one with a saved style (or a painting, saved under the name given),
a length in days and a channel; the bot announces it there and pins the announcement. Every result
painted in that style in that channel while it runs becomes its member's entry (the latest counts)
and gets a 🗳️ Vote button. When the end time passes (a clock that reads the end times from SQLite,
so a restart, even one after the end, still closes it once), the bot posts the podium on one sheet.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.answers.buttons import VoteButton
from bot.answers.contest import announcement, post_winners, when
from bot.answers.delivery import Delivery, message_link
from bot.answers.results import result_view
from bot.cogs.library import save_painting
from bot.core.challenges import Challenge
from bot.core.errors import UserError, discord_call
from bot.core.library import normal_name, truncate_name
from bot.words import i18n
from bot.words.language import choose, of_context
from engine.jobs import JobHandle
from engine.jobs.report import Kind

if TYPE_CHECKING:
    from bot.core.host import Host

log = logging.getLogger(__name__)

DEFAULT_DAYS = 7.0
MAX_DAYS = 30.0
# what the bot needs in the challenge's channel: the announcement (its rules are an embed), the sheet, the entries
ANNOUNCE_PERMISSIONS = ("view_channel", "send_messages", "attach_files", "embed_links", "read_message_history")
CHECK_EVERY_S = 60.0  # the clock looks at the end times at least this often (and at the next end exactly)
STOP_WAIT_S = 10.0  # on shutdown, how long the clock may finish its turn


class ChallengeCog(commands.Cog):
    def __init__(self, bot: Host, clock: Callable[[], float] = time.time) -> None:
        self.bot = bot
        self.clock = clock
        self._wake = asyncio.Event()
        self._posting = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        """Start the clock once connected (again after a reconnect only if it stopped)."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._keep_time(), name="challenge-clock")

    async def cog_unload(self) -> None:
        """Stop the clock after its current turn (a sheet being posted is also recorded), or cancel it after
        :data:`STOP_WAIT_S`."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(self._task, STOP_WAIT_S)

    # -- commands ------------------------------------------------------------------------------------

    @commands.hybrid_group(name="stylechallenge", fallback="status", description="This server's style challenge")
    @app_commands.guild_only()
    async def stylechallenge(self, ctx: commands.Context) -> None:
        """Show this server's running style challenge: its style, channel, end, entries and votes."""
        guild = _guild(ctx)
        lang = await of_context(self.bot, ctx)
        challenge = await self.bot.challenges.running(guild.id)
        if challenge is None:
            await ctx.reply(i18n.text(lang, "challenge.none"), ephemeral=True)
            return
        standings = await self.bot.challenges.standings(challenge.id)
        lines = [i18n.text(lang, "challenge.status", style=challenge.style, channel=f"<#{challenge.channel_id}>",
                           end=when(challenge.ends_at), left=when(challenge.ends_at, "R")),
                 i18n.text(lang, "list.separator").join(
                     (i18n.text(lang, "challenge.status.entries", count=len(standings)),
                      i18n.text(lang, "challenge.status.votes", count=sum(e.votes for e in standings))))]
        if challenge.announcement_id:
            link = message_link(challenge.guild_id, challenge.channel_id, challenge.announcement_id)
            lines.append(i18n.text(lang, "challenge.status.announcement", link=link))
        await ctx.reply("\n".join(lines), ephemeral=True, allowed_mentions=discord.AllowedMentions.none())

    # Who may start and end a challenge is checked when the command runs (_moderator): Discord's default
    # member permissions apply to a top-level command only, and `status` and `history` are for everyone.
    @stylechallenge.command(name="start", description="Start a style challenge (Manage Server)", ignore_extra=False)
    @app_commands.describe(style="a saved style, or the name to save the attached painting under",
                           days="how long it runs, in days (default 7)",
                           channel="where entries are painted and the winners posted (default: here)",
                           painting="a painting to save as the style first (optional)")
    async def start(self, ctx: commands.Context, style: str, days: float | None = None,
                    channel: discord.TextChannel | None = None, painting: discord.Attachment | None = None) -> None:
        """Start a challenge: a saved style (or attach a painting to save it under that name), how many days
        (7 if not given), and the channel (this one if none)."""
        guild = _moderator(ctx)
        await ctx.defer(ephemeral=True)  # the painting is read (and maybe saved), posted and pinned: seconds
        lang = await of_context(self.bot, ctx)
        days = DEFAULT_DAYS if days is None else days
        if not 0 < days <= MAX_DAYS:
            raise UserError("challenge.bad_days", days=days, most=MAX_DAYS)
        where = channel or ctx.channel
        if not isinstance(where, discord.TextChannel) or where.guild.id != guild.id:
            raise UserError("challenge.bad_channel")
        missing = [p for p in ANNOUNCE_PERMISSIONS if not getattr(where.permissions_for(guild.me), p)]
        if missing:  # without Embed Links the rules would vanish from the announcement, silently
            raise commands.BotMissingPermissions(missing)
        if await self.bot.challenges.running(guild.id) is not None:
            raise UserError("challenge.already_running")
        name = normal_name(style)
        if painting is not None:
            name = await save_painting(self.bot, guild.id, style, painting, ctx.author.id)
        elif name not in self.bot.library.names(guild.id):
            raise UserError("challenge.unknown_style", name=truncate_name(style))
        [image] = await self.bot.library.images(guild.id, [name])
        now = self.clock()
        server_lang = await choose(self.bot, guild=guild)  # the announcement and the sheet speak the server's
        challenge = await self.bot.challenges.start(guild.id, where.id, name, ctx.author.id, now, now + days * 86400,
                                                    server_lang)
        if challenge is None:  # another moderator was quicker
            raise UserError("challenge.already_running")
        embed, file = await asyncio.to_thread(announcement, challenge, image)
        try:
            posted = await where.send(embed=embed, file=file, allowed_mentions=discord.AllowedMentions.none())
        except discord.HTTPException:
            await self.bot.challenges.withdraw(challenge.id)
            raise UserError("challenge.cannot_announce", channel=f"<#{where.id}>") from None
        await self.bot.challenges.announced(challenge.id, posted.id)
        log.info("guild %s: challenge %s started by user %s in channel %s, style %r, ends %s", guild.id,
                 challenge.id, ctx.author.id, where.id, name, challenge.ends_at)
        with discord_call(log, "challenge %s: cannot pin the announcement", challenge.id) as pin:
            await posted.pin(reason="style challenge")
        self._wake.set()
        text = i18n.text(lang, "challenge.started", style=name, channel=f"<#{where.id}>", end=when(challenge.ends_at),
                         link=message_link(guild.id, where.id, posted.id))
        if pin.failed:
            text += "\n" + i18n.text(lang, "challenge.not_pinned")
        await ctx.reply(text, ephemeral=True)

    @stylechallenge.command(name="end", description="End this server's style challenge now (Manage Server)")
    async def end(self, ctx: commands.Context) -> None:
        """End the running challenge now and post its winners."""
        guild = _moderator(ctx)
        lang = await of_context(self.bot, ctx)
        challenge = await self.bot.challenges.running(guild.id)
        if challenge is None:
            raise UserError("challenge.none")
        await ctx.defer(ephemeral=True)
        ended = await self._close(challenge.id)
        if ended is None:  # the clock closed it meanwhile
            raise UserError("challenge.none")
        log.info("guild %s: challenge %s ended early by user %s", guild.id, challenge.id, ctx.author.id)
        sheet = await self.bot.challenges.get(challenge.id)
        key = "challenge.ended_early" if sheet is not None and sheet.sheet_id is not None else "challenge.ended_early.later"
        await ctx.reply(i18n.text(lang, key, style=challenge.style), ephemeral=True)

    @stylechallenge.command(name="history", description="Past style challenges and their winners")
    async def history(self, ctx: commands.Context) -> None:
        """The server's past challenges, newest first, with their winners."""
        guild = _guild(ctx)
        lang = await of_context(self.bot, ctx)
        past = await self.bot.challenges.history(guild.id)
        if not past:
            await ctx.reply(i18n.text(lang, "challenge.history.empty"), ephemeral=True)
            return
        lines = [i18n.text(lang, "challenge.history.title")]
        for challenge in past:
            winners = i18n.text(lang, "list.separator").join(f"<@{e.user_id}> ({e.votes})" for e in challenge.winners)
            key = "challenge.history.line" if winners else "challenge.history.line.no_votes"
            lines.append(i18n.text(lang, key, style=challenge.style, end=when(challenge.ended_at or challenge.ends_at,
                                                                               "D"), winners=winners))
        await ctx.reply("\n".join(lines), ephemeral=True, allowed_mentions=discord.AllowedMentions.none())

    # -- entries -------------------------------------------------------------------------------------

    @commands.Cog.listener()
    async def on_style_result_delivered(self, handle: JobHandle, message: discord.Message) -> None:
        """A painting in the running challenge's style and channel becomes its member's entry, with 🗳️ Vote;
        the entry it replaces loses its Vote."""
        where = Delivery.from_meta(handle.meta)
        if where is None or where.guild_id is None:
            return
        challenge = await self.bot.challenges.running(where.guild_id)
        if challenge is None or challenge.channel_id != where.channel_id:
            return
        record = await self.bot.store.result_of(message.id)
        if record is None or record.report.kind is not Kind.PAINTING or challenge.style not in record.styles:
            return
        entered, replaced = await self.bot.challenges.enter(challenge.id, handle.user_id, message.id, self.clock())
        if not entered:
            return
        log.info("challenge %s: result %s is user %s's entry", challenge.id, message.id, handle.user_id)
        view = result_view(handle.user_id, record.report, where.lang)
        view.add_item(VoteButton(challenge.id, where.lang))
        with discord_call(log, "challenge %s: cannot add the vote button to entry %s", challenge.id, message.id):
            await message.edit(view=view)
        if replaced is not None and (old := await self.bot.store.result_of(replaced)) is not None:
            earlier = message.channel.get_partial_message(replaced)
            with discord_call(log, "challenge %s: cannot take the vote button off entry %s", challenge.id, replaced):
                await earlier.edit(view=result_view(old.user_id, old.report, where.lang))

    @commands.Cog.listener()
    async def on_raw_message_delete(self, payload: discord.RawMessageDeleteEvent) -> None:
        """A deleted picture is no longer an entry (its member may enter another)."""
        if payload.guild_id is not None:
            await self.bot.challenges.withdraw_entry(payload.message_id)

    @commands.Cog.listener()
    async def on_raw_bulk_message_delete(self, payload: discord.RawBulkMessageDeleteEvent) -> None:
        for message_id in payload.message_ids:
            await self.bot.challenges.withdraw_entry(message_id)

    # -- the clock -------------------------------------------------------------------------------------

    async def _keep_time(self) -> None:
        """Close each challenge when its end time passes, and post the sheets not out yet, until the bot stops.
        Each challenge's trouble is its own (logged; its sheet is tried again next turn, a few times)."""
        while not self._stopping:
            self._wake.clear()
            try:
                for challenge_id in await self.bot.challenges.due(self.clock()):
                    await self._close(challenge_id)
                for challenge in await self.bot.challenges.unposted():
                    await self._post(challenge)
                next_end = await self.bot.challenges.next_end()
            except Exception:  # the book itself failed: the next turn tries again
                log.exception("the challenge clock's turn failed")
                next_end = None
            self.bot.dispatch("style_challenge_clock_turn")
            wait = CHECK_EVERY_S if next_end is None else min(CHECK_EVERY_S, max(0.0, next_end - self.clock()))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait + 0.05)

    async def _close(self, challenge_id: int) -> Challenge | None:
        """End a challenge (once: None if it had ended already) and post its winners."""
        ended = await self.bot.challenges.end(challenge_id, self.clock())
        if ended is not None:
            log.info("challenge %s ended: %d on the podium", challenge_id, len(ended.winners))
            await self._post(ended)
        return ended

    async def _post(self, challenge: Challenge) -> None:
        """Post an ended challenge's winners' sheet, unless it is settled already; a failure is counted, and
        the sheet is given up after a few (the clock tries again meanwhile)."""
        async with self._posting:  # the clock and a moderator's `end` may both get here: one sheet
            current = await self.bot.challenges.get(challenge.id)
            if current is None or current.sheet_settled:
                return
            try:
                pings = (await self.bot.store.get(challenge.guild_id)).challenge_pings
                sheet_id = await post_winners(self.bot, current, pings)
            except Exception:  # Discord's trouble or ours (an entry that will not decode): counted, logged
                given_up = await self.bot.challenges.sheet_failed(challenge.id)
                log.exception("challenge %s: cannot post the winners' sheet%s", challenge.id,
                              "; given up" if given_up else " yet")
                return
            await self.bot.challenges.sheet_posted(challenge.id, sheet_id)


def _guild(ctx: commands.Context) -> discord.Guild:
    if ctx.guild is None:
        raise commands.NoPrivateMessage()
    return ctx.guild


def _moderator(ctx: commands.Context) -> discord.Guild:
    """The guild, if the author may start and end its challenges (Manage Server)."""
    guild = _guild(ctx)
    if not ctx.permissions.manage_guild:
        raise commands.MissingPermissions(["manage_guild"])
    return guild

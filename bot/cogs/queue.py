"""``/queue`` (the caller's jobs, their place and time left) and ``/stats`` (this server's jobs), to the caller only.

Both read what either queue exposes: the jobs this bot follows (:meth:`bot.answers.tracker.JobTracker.jobs_of`),
each one's status (position and ETA), and :meth:`engine.jobs.JobQueue.depth`. Finished jobs are
recorded here, from the ``style_job_finished`` event, in the guild store's SQLite (:mod:`bot.core.records`).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.answers.delivery import message_link
from bot.core.records import GuildStats, JobRecord
from bot.words.i18n import text
from bot.words.language import choose
from engine.jobs import JobHandle, JobState, JobStatus

if TYPE_CHECKING:
    from bot.core.host import Host


def eta(lang: str, seconds: float) -> str:
    """A coarse time left, as the status messages show it."""
    if seconds < 60:
        return text(lang, "queue.eta.seconds", n=max(5, round(seconds / 5) * 5))
    if seconds < 3600:
        return text(lang, "queue.eta.minutes", n=round(seconds / 60))
    return text(lang, "queue.eta.hours", n=round(seconds / 3600, 1))


def job_line(lang: str, number: int, handle: JobHandle, status: JobStatus) -> str:
    """One job's line; a time not known yet has a sentence of its own (``.estimating``), not a phrase for {eta}."""
    meta = handle.meta
    where = message_link(meta.get("guild_id"), meta.get("channel_id"), meta.get("status_message_id"))
    seconds = status.eta_s
    if status.state is JobState.QUEUED:
        if seconds is None:
            return text(lang, "queue.job.queued.estimating", number=number, link=where, count=status.position or 0)
        return text(lang, "queue.job.queued", number=number, link=where, count=status.position or 0,
                    eta=eta(lang, seconds))
    if status.state is JobState.RUNNING:
        percent = f"{status.fraction:.0%}"
        if seconds is None:
            return text(lang, "queue.job.running.estimating", number=number, link=where, percent=percent)
        return text(lang, "queue.job.running", number=number, link=where, percent=percent,
                    eta=eta(lang, seconds))
    return text(lang, "queue.job.finishing", number=number, link=where)


def stats_text(lang: str, stats: GuildStats) -> str:
    lines = [text(lang, "stats.title"), text(lang, "stats.jobs", today=stats.today, total=stats.total)]
    lines.append(text(lang, "stats.median", seconds=round(stats.median_s, 1)) if stats.median_s is not None
                 else text(lang, "stats.median.none"))
    if stats.top_styles:
        names = ", ".join(f"`{name}` ({count})" for name, count in stats.top_styles)
        lines.append(text(lang, "stats.styles", styles=names))
    else:
        lines.append(text(lang, "stats.styles.none"))
    return "\n".join(lines)


class QueueCog(commands.Cog):
    def __init__(self, bot: Host) -> None:
        self.bot = bot

    @app_commands.command(name="queue", description="Your jobs waiting or running: their place and time left")
    async def queue(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        lang = await choose(self.bot, interaction=interaction)
        handles = self.bot.tracker.jobs_of(interaction.user.id)
        statuses = [await h.status() for h in handles]
        mine = [(h, s) for h, s in zip(handles, statuses) if not s.state.finished or s.state is JobState.DONE]
        lines = [job_line(lang, i, h, s) for i, (h, s) in enumerate(mine, 1)]
        head = text(lang, "queue.mine", count=len(lines)) if lines else text(lang, "queue.none")
        depth = await self.bot.queue.depth()
        total = text(lang, "queue.total", count=depth)
        share = self._channel_share(interaction, lang, depth)
        await interaction.followup.send("\n".join([head, *lines, total, *share]), ephemeral=True)

    def _channel_share(self, interaction: discord.Interaction, lang: str, depth: int) -> list[str]:
        """How many of the jobs waiting come from the channel /queue was asked in (in a server only)."""
        if not depth or interaction.guild_id is None or interaction.channel_id is None:
            return []
        here = len(self.bot.tracker.in_channel(interaction.channel_id))
        return [text(lang, "queue.channel_share", count=depth, here=here)]

    @app_commands.command(name="stats", description="This server's style jobs: today, in all, time, favourite styles")
    @app_commands.guild_only()
    async def stats(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        lang = await choose(self.bot, interaction=interaction)
        midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
        stats = await self.bot.store.stats(interaction.guild_id or 0, midnight)
        await interaction.followup.send(stats_text(lang, stats), ephemeral=True)

    @commands.Cog.listener()
    async def on_style_job_finished(self, handle: JobHandle, outcome: str) -> None:
        """Keep a record of each finished job, for /stats (once per job: the event follows claim_delivery)."""
        now = time.time()
        asked = handle.meta.get("asked_at")
        await self.bot.store.record_job(JobRecord(
            handle.job_id, handle.guild_id, handle.user_id, outcome, now,
            seconds=now - asked if isinstance(asked, (int, float)) else None,
            styles=tuple(handle.meta.get("saved") or ())))

"""The bot: one ``commands.Bot`` that owns its queue, its settings store, its style library and its job tracker.

Dependencies come in through the constructor (built in :mod:`bot.__main__`, or by a
test); resources are started in :meth:`StyleBot.setup_hook` and released in
:meth:`StyleBot.close`. Which :class:`~engine.jobs.JobQueue` is live is not this
module's business.

Events for metrics (listen with ``@commands.Cog.listener()``): ``on_style_job_submitted(handle)``,
``on_style_job_refused(user_id, exc)``, ``on_style_job_finished(handle, outcome)`` with outcome
"done"/"failed"/"cancelled", ``on_style_result_delivered(handle, message)``, and, once a ⭐ on a message is
handled, ``on_style_star_added(message_id, user_id, stars)`` (stars: the result's count, None when the star
does not count) and ``on_style_star_removed(message_id, user_id, stars)``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.answers.buttons import DYNAMIC_ITEMS
from bot.answers.delivery import mention_only
from bot.answers.tracker import JobTracker
from bot.core.challenges import ChallengeBook
from bot.core.errors import discord_call, explain
from bot.core.library import StyleLibrary
from bot.core.settings import BotSettings
from bot.core.store import GuildStore
from bot.requests.intake import Intake
from bot.requests.links import LinkFetcher
from bot.words.language import choose, of_context
from bot.words.translator import CatalogueTranslator
from engine.jobs import JobQueue
from engine.ops import metrics

log = logging.getLogger(__name__)


class StyleTree(app_commands.CommandTree):
    """Slash-command errors go through the same :func:`~bot.core.errors.explain` as everything else."""

    async def on_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        text = explain(error, await choose(self.client, interaction=interaction))  # type: ignore[arg-type]
        with discord_call(log, "could not report an error to user %s", interaction.user.id):
            if interaction.response.is_done():
                await interaction.followup.send(text, ephemeral=True)
            else:
                await interaction.response.send_message(text, ephemeral=True)


class StyleBot(commands.Bot):
    def __init__(self, settings: BotSettings, queue: JobQueue, store: GuildStore,
                 library: StyleLibrary | None = None, *, links: LinkFetcher | None = None, **options: Any) -> None:
        """``library`` defaults to the one kept in ``settings.database_path`` (beside ``store``'s settings);
        ``links`` fetches images named by links (tests pass one on a fake network)."""
        intents = discord.Intents.default()
        intents.message_content = True  # `!style key=value` needs the text of messages
        options.setdefault("chunk_guilds_at_startup", False)
        super().__init__(command_prefix=settings.command_prefix, intents=intents, tree_cls=StyleTree,
                         allowed_mentions=discord.AllowedMentions.none(), **options)
        self.settings, self.queue, self.store = settings, queue, store
        self.library = library or StyleLibrary(settings.database_path)
        self.challenges = ChallengeBook(settings.database_path)
        self.links = links or LinkFetcher(settings.max_attachment_bytes)
        self.tracker = JobTracker(self, queue)
        self.intake = Intake(self)
        self.accepting = False  # taking new jobs (false before start-up and during shutdown)
        self._queue_open = False
        self._tasks: list[asyncio.Task[None]] = []

    async def setup_hook(self) -> None:
        from bot.cogs.admin import AdminCog
        from bot.cogs.challenge import ChallengeCog
        from bot.cogs.help import HelpCog
        from bot.cogs.library import LibraryCog
        from bot.cogs.menus import MenusCog
        from bot.cogs.queue import QueueCog
        from bot.cogs.starboard import StarboardCog
        from bot.cogs.style import StyleCog

        await self.store.open()
        await self.library.open()
        await self.challenges.open()
        await self.queue.start(self._screen)  # logged in: Discord's HTTP API answers, the gateway not yet
        self._queue_open = True
        for cog in (StyleCog(self), LibraryCog(self), AdminCog(self), HelpCog(self)):  # the library extends !style
            await self.add_cog(cog)
        await self.add_cog(QueueCog(self))
        await self.add_cog(MenusCog(self))  # right-click menus (message, member)
        await self.add_cog(ChallengeCog(self))
        await self.add_cog(StarboardCog(self))  # ⭐ on results (the default intents carry reactions)
        self.add_dynamic_items(*DYNAMIC_ITEMS)
        await self.tree.set_translator(CatalogueTranslator())  # names and descriptions in every language, at sync
        if self.settings.sync_commands:
            with discord_call(log, "could not register the slash commands", level=logging.WARNING):
                await self.tree.sync()
        self.accepting = True
        self._tasks = [asyncio.create_task(self._resume_when_ready(), name="resume-undelivered"),
                       asyncio.create_task(metrics.heartbeat_forever(self.queue.depth), name="heartbeat")]

    async def _screen(self) -> None:
        """Before the kept jobs run: drop those nobody can be told about (their channel or user is gone)."""
        try:
            await self.tracker.screen()
        except Exception:  # logged below; the kept jobs then run, as before the check existed
            log.exception("could not check the undelivered jobs' channels")

    async def _resume_when_ready(self) -> None:
        await self.wait_until_ready()
        try:
            await self.tracker.resume()
        except Exception:  # logged below; the bot is still useful without the old jobs
            log.exception("could not resume undelivered jobs")

    async def on_command_error(  # type: ignore[override]
        self, ctx: commands.Context, error: commands.CommandError
    ) -> None:
        if isinstance(error, commands.CommandNotFound):
            return
        text = explain(error, await of_context(self, ctx))
        with discord_call(log, "could not report an error in channel %s", ctx.channel.id):
            await ctx.reply(text, ephemeral=True, allowed_mentions=mention_only(ctx.author.id))

    async def shutdown(self, drain_timeout: float) -> None:
        """Stop taking jobs, let running jobs finish up to ``drain_timeout``, tell users whose jobs are kept, close."""
        log.info("shutting down (running jobs get %.0f s to finish)", drain_timeout)
        self.accepting = False
        await self._close_queue(drain_timeout)
        await self.tracker.settle(timeout=10.0)  # followers post the last word on each ended job
        await self.close()

    async def _close_queue(self, drain_timeout: float) -> None:
        if self._queue_open:
            self._queue_open = False
            await self.queue.close(drain_timeout)

    async def close(self) -> None:
        self.accepting = False
        for task in self._tasks:
            task.cancel()
        await self._close_queue(0.0)
        for name in list(self.cogs):  # before the stores they use: a cog's own task ends its turn first
            await self.remove_cog(name)
        await self.tracker.close()
        await self.library.close()
        await self.challenges.close()
        await self.store.close()
        await super().close()

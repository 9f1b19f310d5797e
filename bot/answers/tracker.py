"""Following submitted jobs to the end: progress on the status message, then exactly one answer.

Everything delivery needs travels in the job's ``meta`` (:class:`Delivery`), so a bot
that restarts finds its unfinished jobs with ``queue.undelivered()`` and follows them
the same way (those nobody can be told about any more are dropped first: :meth:`JobTracker.screen`);
``claim_delivery`` makes sure only one process answers.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

import aiohttp
import discord

from bot.answers.buttons import status_view
from bot.answers.courier import channel_for
from bot.answers.delivery import Delivery, mention_only
from bot.answers.embeds import link_inputs, link_parent
from bot.answers.gallery import Piece, repost_delivered
from bot.answers.progress import ProgressMessage, describe
from bot.answers.results import result_embed, result_view
from bot.answers.upload import Reduced, send_fitted
from bot.core.errors import count_discord_error, discord_call, explain
from bot.core.host import Cancel, Say
from bot.core.records import ResultRecord
from bot.words import i18n
from bot.words.language import choose
from engine.errors import JobCancelled, JobFailed
from engine.jobs import JobHandle, JobQueue, JobReport, JobResult, JobStatus
from engine.texts import msg

if TYPE_CHECKING:
    from bot.core.host import Host

log = logging.getLogger(__name__)

# why a dropped job was cancelled, as the queue keeps it
GONE = msg("job.unanswerable")
PAUSED = i18n.text(i18n.DEFAULT, "status.paused")  # in English; a job's own language is in its Delivery


def reduction_note(report: JobReport, reduced: Reduced, lang: str = i18n.DEFAULT) -> str:
    """What the result gave up, for its reply: the engine's caps (an animation's size), then the upload's."""
    notes = [i18n.render(lang, n) for n in (report.animation.reduced if report.animation else ())]
    if reduced:
        fitted = i18n.text(lang, "list.separator").join(i18n.render(lang, r) for r in reduced)
        notes.append(i18n.text(lang, "result.fitted", reductions=fitted))
    return f" ({'; '.join(notes)})" if notes else ""


class JobTracker:
    """Owns one follower task per job this process answers for."""

    def __init__(self, bot: Host, queue: JobQueue) -> None:
        self.bot, self.queue = bot, queue
        self._followers: dict[str, tuple[JobHandle, asyncio.Task[None]]] = {}

    async def start(self, handle: JobHandle) -> None:
        """A job just queued: its status message shows its place and a Cancel button, then it is followed."""
        where = Delivery.from_meta(handle.meta)
        shown = None
        if where is not None:
            snapshot = await handle.status()
            status = channel_for(self.bot, where).get_partial_message(where.status_message_id)
            with discord_call(log, "job %s: cannot show the queue position", handle.job_id) as call:
                await status.edit(content=describe(snapshot, where.lang),
                                  view=status_view(handle.job_id, handle.user_id, where.lang))
            shown = None if call.failed else snapshot  # already "Painting…" when the job started at once
        self.follow(handle, shown)

    def follow(self, handle: JobHandle, shown: JobStatus | None = None) -> None:
        """Follow a job to its one answer; ``shown``: what its status message shows now, if known."""
        where = Delivery.from_meta(handle.meta)
        if where is None:
            log.warning("job %s has no delivery data in its meta; not following it", handle.job_id)
            return
        task = asyncio.create_task(self._follow(handle, where, shown), name=f"follow-{handle.job_id}")
        self._followers[handle.job_id] = (handle, task)
        task.add_done_callback(lambda _: self._followers.pop(handle.job_id, None))

    async def screen(self) -> int:
        """Drop the jobs a previous run of the bot left unanswered that nobody can be told about; how many.

        A job whose channel (or, in a DM, whose user) Discord no longer knows, or no longer shows the
        bot, is cancelled and marked answered, so it is neither painted for nobody nor resumed again.
        Any other failure of that check keeps the job, as before. Needs Discord's HTTP API only, not
        the gateway: the bot screens while the queue starts, before the local queue runs any job.
        """
        handles = await self._unfollowed()
        checked: dict[tuple[int, int | None], str | None] = {}  # one look per channel (and DM user)
        dropped = 0
        for handle in handles:
            where = Delivery.from_meta(handle.meta)
            if where is None:
                continue  # resume() says why it cannot follow it
            key = (where.channel_id, handle.user_id if where.guild_id is None else None)
            if key not in checked:
                checked[key] = await self._why_unanswerable(*key)
            if (why := checked[key]) is not None:
                await self._drop(handle, where, why)
                dropped += 1
        return dropped

    async def resume(self) -> int:
        """Follow the jobs a previous run of the bot left unanswered (after :meth:`screen`); how many."""
        handles = await self._unfollowed()
        for handle in handles:
            self.follow(handle)
        if handles:
            log.info("resumed following %d undelivered job(s)", len(handles))
        return len(handles)

    async def _unfollowed(self) -> list[JobHandle]:
        """The jobs left unanswered that nobody here follows yet."""
        return [h for h in await self.queue.undelivered() if h.job_id not in self._followers]

    async def _why_unanswerable(self, channel_id: int, dm_user_id: int | None) -> str | None:
        """Why nobody can be told in this channel: it is gone or hidden from the bot, or the DM's user is gone."""
        try:
            await self.bot.fetch_channel(channel_id)
            if dm_user_id is not None:
                await self.bot.fetch_user(dm_user_id)
        except (discord.NotFound, discord.Forbidden) as exc:
            count_discord_error(exc)
            return str(exc)
        except (discord.DiscordException, aiohttp.ClientError, OSError) as exc:
            # Discord's trouble, not the job's: follow it as before, and let delivery try
            log.warning("cannot check channel %s before resuming its jobs: %s", channel_id, exc)
        return None

    async def _drop(self, handle: JobHandle, where: Delivery, why: str) -> None:
        log.warning("job %s dropped on resume: nobody can be told in channel %s (%s)",
                    handle.job_id, where.channel_id, why)
        cancelled = await handle.cancel(GONE)
        if await handle.claim_delivery():
            outcome = "cancelled" if cancelled else (await handle.status()).state.value
            self.bot.dispatch("style_job_finished", handle, outcome)

    def active(self, user_id: int, guild_id: int | None) -> int:
        """Jobs of this user in this guild that are still being followed here."""
        return sum(1 for h, _ in self._followers.values() if h.user_id == user_id and h.guild_id == guild_id)

    def in_channel(self, channel_id: int) -> list[JobHandle]:
        """The jobs asked for in this channel that are still being followed here (waiting or running)."""
        return [h for h, _ in self._followers.values() if h.meta.get("channel_id") == channel_id]

    def jobs_of(self, user_id: int) -> list[JobHandle]:
        """The user's jobs this process follows (anywhere), oldest first."""
        return [h for h, _ in self._followers.values() if h.user_id == user_id]

    async def cancel(self, job_id: str, by: discord.abc.User) -> Cancel:
        handle = await self.queue.get(job_id)
        if handle is None:
            log.warning("job %s: cancel by user %s, but the queue does not know the job", job_id, by.id)
            if (followed := self._followers.get(job_id)) is not None:
                followed[1].cancel()  # no progress edit of a job the queue lost after the caller says so
                await asyncio.gather(followed[1], return_exceptions=True)
            return Cancel.UNKNOWN
        cancelled = await handle.cancel(msg("job.cancelled_by", name=by.display_name))
        return Cancel.CANCELLED if cancelled else Cancel.FINISHED

    async def settle(self, timeout: float) -> None:
        """On shutdown: let the followers of finished jobs post their last word, and tell the others' users.

        Unfinished jobs are kept (in SQLite or in Redis, where workers may even finish them
        meanwhile): their status message says so, and the next start of the bot resumes them.
        """
        followers = list(self._followers.values())
        finished = [t for h, t in followers if (await h.status()).state.finished]
        if finished:
            await asyncio.wait(finished, timeout=timeout)
        for handle, task in followers:
            if task not in finished and not task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
                await self._say_paused(handle)

    async def _say_paused(self, handle: JobHandle) -> None:
        where = Delivery.from_meta(handle.meta)
        if where is None:
            return
        status = channel_for(self.bot, where).get_partial_message(where.status_message_id)
        with discord_call(log, "job %s: cannot say the bot is restarting", handle.job_id):
            await status.edit(content=i18n.text(where.lang, "status.paused"))

    async def close(self) -> None:
        tasks = [t for _, t in self._followers.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # -- following ---------------------------------------------------------------------------

    async def _follow(self, handle: JobHandle, where: Delivery, shown: JobStatus | None) -> None:
        channel = channel_for(self.bot, where)
        settings = self.bot.settings
        progress = ProgressMessage(channel.get_partial_message(where.status_message_id),
                                   interval=settings.progress_interval_s, preview=settings.preview, lang=where.lang,
                                   spoiler=where.spoiler, shown=shown)
        try:
            async for status in handle.updates():
                if status.state.finished:
                    break
                progress.update(status)
            await self._deliver(handle, where, channel, progress)
        except asyncio.CancelledError:
            # whoever stops following may speak next (settle() says PAUSED): no edit of ours after it
            await progress.stop()
            raise
        except Exception:  # one job's trouble must not reach the event loop (logged, so not blind)
            log.exception("job %s: following or delivering failed", handle.job_id)

    async def _deliver(self, handle: JobHandle, where: Delivery, channel: Any,
                       progress: ProgressMessage) -> None:
        """Exactly one answer per job: the result, or why there is none (on the status message)."""
        try:
            result = await handle.result()
        except (JobFailed, JobCancelled) as exc:
            if await handle.claim_delivery():
                outcome = "cancelled" if isinstance(exc, JobCancelled) else "failed"
                self.bot.dispatch("style_job_finished", handle, outcome)
                await self._say(progress, handle, where, exc)
            return
        if not await handle.claim_delivery():
            return  # another process answers
        self.bot.dispatch("style_job_finished", handle, "done")
        try:
            message = await self._post_result(handle, where, channel, result)
        except Exception as exc:  # noqa: BLE001 - explain() logs what is unexpected
            await self._say(progress, handle, where, exc)
            return
        seconds = round(result.report.seconds, 1)
        await progress.finish(i18n.text(where.lang, "status.done", time_s=seconds, link=where.jump_url(message.id)))
        await repost_delivered(self.bot, where.guild_id, where.channel_id,
                               Piece(message.id, handle.user_id, result.report, result.image, where.spoiler))

    async def _say(self, progress: ProgressMessage, handle: JobHandle, where: Delivery, exc: Exception) -> None:
        """Why a job has no result, on its status message; else (explained once, logged once) by DM."""
        text = explain(exc, where.lang, job_id=handle.job_id)
        if not await progress.finish(text):
            await self.notify_directly(handle.user_id, where.guild_id,
                                       lambda lang: text if lang == where.lang else explain(exc, lang))

    async def _post_result(self, handle: JobHandle, where: Delivery, channel: Any,
                           result: JobResult) -> discord.Message:
        reference = channel.get_partial_message(where.reply_to_id).to_reference(fail_if_not_exists=False)
        mentions = mention_only(handle.user_id, replied_user=where.reply_author_id == handle.user_id)

        async def send(file: discord.File, reduced: Reduced) -> discord.Message:
            note = f" {where.note}" if where.note else ""
            return await channel.send(f"<@{handle.user_id}>{note}{reduction_note(result.report, reduced, where.lang)}",
                                      file=file, reference=reference,
                                      embed=link_parent(link_inputs(result_embed(result.report, file.filename,
                                                                                 where.lang), where), where),
                                      view=result_view(handle.user_id, result.report, where.lang),
                                      allowed_mentions=mentions)

        message = await send_fitted(send, result.image, where.upload_limit, spoiler=where.spoiler)
        await self._remember(handle, where, result.report, message.id)
        self.bot.dispatch("style_result_delivered", handle, message)
        log.info("job %s delivered as message %s", handle.job_id, message.id)
        return message

    async def _remember(self, handle: JobHandle, where: Delivery, report: JobReport, message_id: int) -> None:
        """Keep the job's report with the posted result: its buttons run it again from this record."""
        record = ResultRecord(message_id, handle.job_id, where.guild_id, where.channel_id, handle.user_id, report,
                              time.time(), styles=tuple(handle.meta.get("saved") or ()),
                              inputs_message_id=where.inputs_id, parent_id=where.parent_id)
        try:
            await self.bot.store.record_result(record)
        except Exception:  # the result is posted; its buttons then fall back to the embed's options line
            log.exception("job %s: could not record result %s", handle.job_id, message_id)

    async def notify_directly(self, user_id: int, guild_id: int | None, say: Say) -> None:
        """Tell a user by DM what could not be said in the channel (if the guild allows DMs), in the
        user's own language (``say(lang)`` is the sentence)."""
        text = say(await choose(self.bot, user_id=user_id))
        if guild_id is not None and not (await self.bot.store.get(guild_id)).allow_dms:
            log.warning("could not tell user %s (guild %s disallows DMs): %s", user_id, guild_id, text)
            return
        with discord_call(log, "could not tell user %s %r", user_id, text, level=logging.WARNING):
            user = self.bot.get_user(user_id) or await self.bot.fetch_user(user_id)
            await user.send(text, allowed_mentions=discord.AllowedMentions.none())

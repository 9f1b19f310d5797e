"""The one status message of a job: queue position, progress and ETA, edited at a bounded rate.

Status snapshots can arrive many times a second; :class:`ProgressMessage` keeps only
the latest and edits the message at most once per interval (and only when what it
would show changed), so a busy queue cannot run into Discord's rate limits.

With previews on, the first seconds of a running job show "Painting…" and then its first
look: percentages alone are not worth an edit meanwhile (:data:`FIRST_LOOK_WAIT_S`), so the
edit that carries the look is never kept waiting for the interval by one that does not.
The job's first look is a draft drawn within a second of its start (:mod:`engine.jobs.drafts`):
"Painting…" waits for it up to :data:`DRAFT_WAIT_S` to come with it, and the edit that brings a
job's first preview needs only :data:`FIRST_PREVIEW_GAP_S` after the previous edit (one such
edit per job: no threat to Discord's rate limits).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import time

import discord

from bot.core.errors import discord_call
from bot.core.spoilers import plain_name
from bot.words import i18n
from engine.jobs import JobState, JobStatus

log = logging.getLogger(__name__)

PREVIEW_NAME = "preview.jpg"
FIRST_LOOK_WAIT_S = 10.0  # at most this long after "Painting…", only an edit with the first preview is made
DRAFT_WAIT_S = 1.5  # after a job starts running, "Painting…" waits this long for the draft to show with it
FIRST_PREVIEW_GAP_S = 0.5  # the edit that brings a job's first preview needs only this long after the last one


def eta_text(seconds: float, lang: str = i18n.DEFAULT) -> str:
    """A coarse, stable ETA (it should not change on every edit)."""
    if seconds < 60:
        return i18n.text(lang, "eta.seconds", n=max(5, round(seconds / 5) * 5))
    if seconds < 3600:
        return i18n.text(lang, "eta.minutes", n=round(seconds / 60))
    return i18n.text(lang, "eta.hours", n=round(seconds / 3600, 1))


def describe(status: JobStatus, lang: str = i18n.DEFAULT) -> str:
    """The status line of a queued or running job. An ETA not known yet is a sentence of its own (a key
    ending ``.estimating``), not a phrase put where the time would go: the words around it differ."""
    eta = None if status.eta_s is None else eta_text(status.eta_s, lang)

    def say(key: str, estimating: str, **args: object) -> str:
        return i18n.text(lang, key, eta=eta, **args) if eta is not None else i18n.text(lang, estimating, **args)

    if status.state is JobState.QUEUED:
        ahead = status.position or 0
        if ahead == 0:
            return say("status.queued_next", "status.queued_next.estimating")
        return say("status.queued", "status.queued.estimating", count=ahead)
    if status.state is JobState.RUNNING:
        percent = round(status.fraction * 100)
        if status.frames:
            return say("status.painting_frame", "status.painting_frame.estimating", frame=status.frame,
                       frames=status.frames, percent=percent)
        return say("status.painting", "status.painting.estimating", percent=percent)
    return f"… {status.state.value}"


class ProgressMessage:
    """Coalescing editor of one status message (which may carry the job's input images)."""

    def __init__(self, message: discord.Message | discord.PartialMessage, *, interval: float,
                 preview: bool = False, lang: str = i18n.DEFAULT, spoiler: bool = False,
                 shown: JobStatus | None = None) -> None:
        """``shown``: the status the message was just edited to show, by whoever made it (the tracker's
        first edit, with the Cancel button): it counts as this editor's last edit, so a job already
        painting then is not told "Painting…" twice before its first look."""
        self.message, self.lang = message, lang
        self.spoiler = spoiler  # previews as spoilers
        self.interval = interval
        self.preview = preview
        self._latest: JobStatus | None = None
        self._shown: tuple[str, bytes | None] = ("", None)
        self._last_edit = -float("inf")
        self._painting_since: float | None = None  # when "Painting…" was first shown
        self._running_since: float | None = None  # when the job was first seen running
        self._news = asyncio.Event()  # set by update(): a waiting edit looks again
        self._task: asyncio.Task[None] | None = None
        self._dead = False  # the message is gone or not editable: stop trying
        if shown is not None:
            self._shown = (describe(shown, lang), None)
            self._last_edit = time.monotonic()
            if shown.state is JobState.RUNNING:
                self._painting_since = self._running_since = self._last_edit

    def update(self, status: JobStatus) -> None:
        """Show ``status`` soon; never waits (the follower keeps reading updates)."""
        self._latest = status
        if status.state is JobState.RUNNING and self._running_since is None:
            self._running_since = time.monotonic()
        self._news.set()
        if not self._dead and (self._task is None or self._task.done()):
            self._task = asyncio.create_task(self._flush(), name=f"progress-{self.message.id}")

    async def _flush(self) -> None:
        while True:
            self._news.clear()
            status = self._latest
            if self._dead or status is None or status.state.finished:
                return
            delay = max(self._last_edit + self._gap(status) - time.monotonic(), self._draft_wait(status))
            if delay > 0:  # until then, or until a newer status (say, one with the draft) arrives
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._news.wait(), delay)
                continue
            preview = status.preview if self.preview else None
            shown = (describe(status, self.lang), preview)
            if shown != self._shown and not self._awaiting_first_look(status, preview):
                self._shown = shown
                self._last_edit = time.monotonic()
                if status.state is JobState.RUNNING and self._painting_since is None:
                    self._painting_since = self._last_edit
                await self._edit(content=shown[0], preview=preview)
            if self._latest is status:  # nothing newer arrived while this edit was on its way
                return

    def _first_preview(self, status: JobStatus) -> bool:
        """Whether showing ``status`` would bring the job's first preview."""
        return self.preview and self._shown[1] is None and status.preview is not None

    def _gap(self, status: JobStatus) -> float:
        """The least time between the last edit and one showing ``status``."""
        return min(self.interval, FIRST_PREVIEW_GAP_S) if self._first_preview(status) else self.interval

    def _draft_wait(self, status: JobStatus) -> float:
        """How long a first "Painting…" without a preview still waits for the job's draft (0: no longer)."""
        if (not self.preview or status.state is not JobState.RUNNING or self._painting_since is not None
                or status.preview is not None or self._running_since is None):
            return 0.0
        return self._running_since + DRAFT_WAIT_S - time.monotonic()

    def _awaiting_first_look(self, status: JobStatus, preview: bytes | None) -> bool:
        """Whether to skip an edit that only moves the percentage while the first look is being painted."""
        if not self.preview or preview is not None or self._shown[1] is not None or self._painting_since is None:
            return False
        return status.state is JobState.RUNNING and time.monotonic() - self._painting_since < FIRST_LOOK_WAIT_S

    async def stop(self) -> None:
        """No progress edit from now on, not even one already waiting for its slot."""
        self._dead = True
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def finish(self, text: str) -> bool:
        """The last edit: the outcome, no buttons, no preview. False if the message could not be edited."""
        await self.stop()  # no progress edits after this one
        with discord_call(log, "cannot edit status message %s", self.message.id) as call:
            # with previews on, drop the last one (maybe left by an earlier run of the bot)
            extra = {"attachments": await self._inputs()} if self.preview else {}
            await self.message.edit(content=text, view=None, **extra)
        return not call.failed

    async def _inputs(self) -> list[discord.Attachment]:
        """The message's own attachments except an earlier preview (kept on every edit)."""
        if not isinstance(self.message, discord.Message):
            self.message = await self.message.fetch()
        return [a for a in self.message.attachments if plain_name(a.filename) != PREVIEW_NAME]

    async def _edit(self, content: str, preview: bytes | None) -> None:
        # deleted, or permissions changed: the job goes on, without progress edits
        with discord_call(log, "cannot edit status message %s", self.message.id) as call:
            if preview is None:
                await self.message.edit(content=content)
            else:
                preview_file = discord.File(io.BytesIO(preview), PREVIEW_NAME, spoiler=self.spoiler)
                files = [*await self._inputs(), preview_file]
                await self.message.edit(content=content, attachments=files)
        self._dead = self._dead or call.failed is not None

"""A job of the local queue, as its followers see it: a snapshot that changes, and a result to await.

The handle holds the job's status and wakes its followers; :class:`~engine.jobs.local.queue.LocalJobQueue`
decides what happens to the job (its place in line, its run, its end) and tells the handle.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any, Protocol

from engine.errors import JobCancelled, JobFailed
from engine.jobs import paint, runtime
from engine.jobs.contract import JobHandle, JobResult, JobState, JobStatus
from engine.jobs.journal import Journal, StoredJob
from engine.texts import Message, msg


class Owner(Protocol):
    """What a handle asks of its queue (:class:`~engine.jobs.local.queue.LocalJobQueue`), without importing it."""

    journal: Journal

    def status_of(self, handle: LocalJobHandle) -> JobStatus:
        """The job's status now, with its place in line and ETA."""
        ...

    async def cancel_job(self, handle: LocalJobHandle, reason: str) -> bool:
        """Cancel the job, queued or running; False if it had already ended."""
        ...


class LocalJobHandle(JobHandle):
    def __init__(self, queue: Owner, stored: StoredJob):
        self.job_id, self.spec = stored.job_id, stored.spec
        self.user_id, self.guild_id, self.meta = self.spec.user_id, self.spec.guild_id, dict(self.spec.meta)
        self.round, self.arrival = stored.round, stored.arrival  # place in the fair order
        self.batch_key = paint.batch_key(self.spec)  # jobs with the same key may share a batch
        self.predicted_s: float | None = None  # the time model's seconds for it, set when it is queued
        self._queue = queue
        self._status = JobStatus(self.job_id, JobState.QUEUED)
        self._changed = asyncio.Condition()
        self._done: asyncio.Future[JobResult] = asyncio.get_running_loop().create_future()
        self.control: runtime.Control | None = None  # while running
        self._claimed = False

    async def status(self) -> JobStatus:
        return self._queue.status_of(self)

    async def updates(self) -> AsyncIterator[JobStatus]:
        last = None
        while True:
            current = self._queue.status_of(self)
            if current != last:
                last = current
                yield current
            if current.state.finished:
                return
            async with self._changed:
                await self._changed.wait()

    async def result(self) -> JobResult:
        return await asyncio.shield(self._done)

    async def cancel(self, reason: Message | str | None = None) -> bool:
        return await self._queue.cancel_job(self, reason)

    async def claim_delivery(self) -> bool:
        if self._claimed:
            return False
        self._claimed = True
        return await self._queue.journal.claim(self.job_id)

    def _set(self, **changes: Any) -> None:
        """Update the snapshot and wake every follower (event-loop thread only)."""
        self._status = replace(self._status, **changes)
        asyncio.ensure_future(self._notify())

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    def _finish(self, state: JobState, *, result: JobResult | None = None, error: Message | None = None) -> None:
        self._set(state=state, error=error, preview=None, position=None, eta_s=0.0)
        if self._done.done():
            return
        if result is not None:
            self._done.set_result(result)
            return
        exc_type = JobCancelled if state is JobState.CANCELLED else JobFailed
        self._done.set_exception(exc_type(error or msg("job.cancelled" if exc_type is JobCancelled else "job.failed")))
        self._done.exception()  # nobody may await result(); don't warn about an unretrieved exception

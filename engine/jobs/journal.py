"""The local queue's jobs on disk: specs, input images, outcomes and delivery claims, in SQLite.

Every change of a job is written before the queue acts on it, so a bot process that is
killed at any point (SIGKILL included) finds on its next start every job it had: waiting
jobs wait again in their fair order, a job that was running runs again (a job whose process
died :data:`engine.jobs.runtime.MAX_ATTEMPTS` times while running it is given up on), and a
finished job that nobody answered for is answered once. The bot keeps its per-server settings
in the same database file (``DATABASE_PATH``).
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from typing import Any

from engine.jobs.contract import JobResult, JobSpec, draft_fields, with_draft
from engine.jobs.report import JobReport
from engine.ops.sqlite import SqliteThread
from engine.texts import Message, as_message, to_json

START_IMAGE = -1  # local_job_inputs.idx of an upscale's start image

SCHEMA = """
CREATE TABLE IF NOT EXISTS local_jobs (
    id TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL,
    guild_id INTEGER,
    meta TEXT NOT NULL,
    options TEXT NOT NULL,
    time_limit REAL,
    round INTEGER NOT NULL,      -- place in the fair order: (round, arrival)
    arrival INTEGER NOT NULL,
    state TEXT NOT NULL,         -- queued, running, done, failed, cancelled
    attempts INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    report TEXT,
    result BLOB,                 -- the PNG, until the job is answered for
    submitted_at REAL NOT NULL,
    grid TEXT,                   -- JSON list of a strength grid's factors, NULL for one image
    draft TEXT                   -- a draft job's kind and captions (contract.draft_fields), NULL for a painting
);
CREATE TABLE IF NOT EXISTS local_job_inputs (
    job_id TEXT NOT NULL,
    idx INTEGER NOT NULL,        -- 0: the content photo, 1..: the style images, -1: an upscale's start image
    data BLOB NOT NULL,
    PRIMARY KEY (job_id, idx)
);
"""


@dataclass
class StoredJob:
    """One row of the journal, as the queue restores it."""

    job_id: str
    spec: JobSpec
    round: int
    arrival: int
    state: str
    attempts: int = 0
    error: Message | None = None
    result: JobResult | None = None


class Journal:
    """Durable record of the local queue's jobs; ``path=None`` keeps it in memory (nothing survives)."""

    def __init__(self, path: str | None) -> None:
        self._db = SqliteThread(path or ":memory:", SCHEMA, name="job-journal")

    async def open(self) -> None:
        await self._db.open()
        await self._db.run(_migrate)

    async def close(self) -> None:
        await self._db.close()

    async def add(self, job: StoredJob) -> None:
        await self._db.run(_add, job)

    async def started(self, job_id: str) -> int:
        """Mark the job running; returns how many times it has been started, this time included."""
        return await self._db.run(_started, job_id)

    async def requeue(self, job_id: str) -> None:
        """A running job stopped by a shutdown: it waits again, and this run does not count as an attempt."""
        await self._db.run(_execute, "UPDATE local_jobs SET state = 'queued', attempts = MAX(attempts - 1, 0) "
                                     "WHERE id = ?", (job_id,))

    async def finish(self, job_id: str, state: str, error: Message | None, result: JobResult | None) -> None:
        """The job ended: keep its outcome (and picture) until it is answered for; drop its inputs."""
        await self._db.run(_finish, job_id, state, error, result)

    async def claim(self, job_id: str) -> bool:
        """True once: the caller answers for the job, which is then forgotten."""
        return await self._db.run(_claim, job_id)

    async def load(self) -> list[StoredJob]:
        """Every job not yet answered for, in the fair order."""
        return await self._db.run(_load)


def _migrate(db: sqlite3.Connection) -> None:
    """Bring a journal written by an older version up to this schema (columns added since)."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(local_jobs)")}
    if "grid" not in columns:
        with db:
            db.execute("ALTER TABLE local_jobs ADD COLUMN grid TEXT")
    if "draft" not in columns:
        with db:
            db.execute("ALTER TABLE local_jobs ADD COLUMN draft TEXT")


def _execute(db: sqlite3.Connection, sql: str, args: tuple[Any, ...]) -> int:
    with db:
        return db.execute(sql, args).rowcount


def _add(db: sqlite3.Connection, job: StoredJob) -> None:
    s = job.spec
    with db:
        db.execute("INSERT INTO local_jobs (id, user_id, guild_id, meta, options, time_limit, round, arrival, "
                   "state, submitted_at, grid, draft) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?)",
                   (job.job_id, s.user_id, s.guild_id, json.dumps(s.meta), json.dumps(s.options), s.time_limit_s,
                    job.round, job.arrival, time.time(), json.dumps(list(s.grid)) if s.grid else None,
                    draft_fields(s)))
        blobs = [(job.job_id, i, blob) for i, blob in enumerate((s.content, *s.styles))]
        if s.start_image is not None:
            blobs.append((job.job_id, START_IMAGE, s.start_image))
        db.executemany("INSERT INTO local_job_inputs (job_id, idx, data) VALUES (?, ?, ?)", blobs)


def _started(db: sqlite3.Connection, job_id: str) -> int:
    with db:
        db.execute("UPDATE local_jobs SET state = 'running', attempts = attempts + 1 WHERE id = ?", (job_id,))
        row = db.execute("SELECT attempts FROM local_jobs WHERE id = ?", (job_id,)).fetchone()
    return int(row[0]) if row else 0


def _finish(db: sqlite3.Connection, job_id: str, state: str, error: Message | None,
            result: JobResult | None) -> None:
    report = json.dumps(result.report.to_dict()) if result is not None else None
    with db:
        db.execute("UPDATE local_jobs SET state = ?, error = ?, report = ?, result = ? WHERE id = ?",
                   (state, to_json(error) or None, report, result.image if result is not None else None, job_id))
        db.execute("DELETE FROM local_job_inputs WHERE job_id = ?", (job_id,))


def _claim(db: sqlite3.Connection, job_id: str) -> bool:
    with db:
        claimed = db.execute("DELETE FROM local_jobs WHERE id = ?", (job_id,)).rowcount == 1
        db.execute("DELETE FROM local_job_inputs WHERE job_id = ?", (job_id,))
    return claimed


def _load(db: sqlite3.Connection) -> list[StoredJob]:
    rows = db.execute("SELECT id, user_id, guild_id, meta, options, time_limit, round, arrival, state, attempts, "
                      "error, report, result, grid, draft FROM local_jobs ORDER BY round, arrival").fetchall()
    inputs: dict[str, list[bytes]] = {}
    starts: dict[str, bytes] = {}
    for job_id, idx, blob in db.execute("SELECT job_id, idx, data FROM local_job_inputs ORDER BY job_id, idx"):
        if idx == START_IMAGE:
            starts[job_id] = blob
        else:
            inputs.setdefault(job_id, []).append(blob)
    jobs = []
    for (job_id, user, guild, meta, options, limit, rnd, arrival, state, attempts, error, report, png,
         grid, draft) in rows:
        blobs = inputs.get(job_id) or [b""]
        spec = JobSpec(blobs[0], tuple(blobs[1:]), json.loads(options), user, guild, json.loads(meta), limit,
                       start_image=starts.get(job_id), grid=tuple(json.loads(grid)) if grid else ())
        spec = with_draft(spec, draft)
        result = JobResult(png, JobReport.from_dict(json.loads(report))) if png is not None and report else None
        jobs.append(StoredJob(job_id, spec, rnd, arrival, state, attempts,
                              as_message(error, "job.failed") if error else None, result))
    return jobs

"""What the bot remembers of finished jobs (for ``/stats``), of posted results (for their buttons) and of
gallery reposts (for Delete).

Plain SQL on the guild store's SQLite connection (:class:`bot.core.store.GuildStore` runs these on its
thread): one row per finished job; one per posted result, with the job's typed report, so More/Less
style, Restyle and Upscale run it again from what the job really was (not from its embed's text), in
either queue mode and after a restart; and one per result reposted to a gallery channel, so the
result's Delete button can remove the repost too.
"""

from __future__ import annotations

import json
import sqlite3
import statistics
from collections import Counter
from dataclasses import dataclass, field

from engine.jobs.report import JobReport

SCHEMA = """
CREATE TABLE IF NOT EXISTS job_records (
    job_id TEXT PRIMARY KEY, guild_id INTEGER, user_id INTEGER NOT NULL, outcome TEXT NOT NULL,
    finished_at REAL NOT NULL, seconds REAL, styles TEXT NOT NULL DEFAULT '[]');
CREATE INDEX IF NOT EXISTS job_records_guild ON job_records (guild_id, finished_at);
CREATE TABLE IF NOT EXISTS gallery_reposts (
    result_id INTEGER PRIMARY KEY, channel_id INTEGER NOT NULL, message_id INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS results (
    message_id INTEGER PRIMARY KEY, job_id TEXT NOT NULL, guild_id INTEGER, channel_id INTEGER NOT NULL,
    user_id INTEGER NOT NULL, kind TEXT NOT NULL, report TEXT NOT NULL, posted_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS schema_versions (name TEXT PRIMARY KEY, version INTEGER NOT NULL);
"""
RESULTS_VERSION = 2  # 2: the saved styles, the inputs message and the parent result (a remix) of each result
TOP_STYLES = 5


@dataclass(frozen=True)
class JobRecord:
    """One finished job: how it ended, when, how long from request to end, which saved styles it used."""

    job_id: str
    guild_id: int | None
    user_id: int
    outcome: str  # done, failed or cancelled
    finished_at: float
    seconds: float | None = None
    styles: tuple[str, ...] = ()


@dataclass(frozen=True)
class GuildStats:
    today: int = 0  # jobs finished since the start of the day (UTC)
    total: int = 0
    median_s: float | None = None  # of the jobs that gave a picture
    top_styles: list[tuple[str, int]] = field(default_factory=list)


def add_job(db: sqlite3.Connection, record: JobRecord) -> None:
    with db:
        db.execute("INSERT OR IGNORE INTO job_records VALUES (?, ?, ?, ?, ?, ?, ?)",
                   (record.job_id, record.guild_id, record.user_id, record.outcome, record.finished_at,
                    record.seconds, json.dumps(list(record.styles))))


def guild_stats(db: sqlite3.Connection, guild_id: int, today_from: float) -> GuildStats:
    rows = db.execute("SELECT finished_at, outcome, seconds, styles FROM job_records WHERE guild_id = ?",
                      (guild_id,)).fetchall()
    times = [seconds for _, outcome, seconds, _ in rows if outcome == "done" and seconds is not None]
    styles: Counter[str] = Counter(name for *_, names in rows for name in json.loads(names))
    return GuildStats(today=sum(1 for finished, *_ in rows if finished >= today_from), total=len(rows),
                      median_s=statistics.median(times) if times else None,
                      top_styles=styles.most_common(TOP_STYLES))


def add_repost(db: sqlite3.Connection, result_id: int, channel_id: int, message_id: int) -> None:
    with db:
        db.execute("INSERT OR REPLACE INTO gallery_reposts VALUES (?, ?, ?)", (result_id, channel_id, message_id))


def repost_of(db: sqlite3.Connection, result_id: int) -> tuple[int, int] | None:
    row = db.execute("SELECT channel_id, message_id FROM gallery_reposts WHERE result_id = ?",
                     (result_id,)).fetchone()
    return (row[0], row[1]) if row else None


@dataclass(frozen=True)
class ResultRecord:
    """A result the bot posted: which job made it, for whom, where, and the job's report."""

    message_id: int
    job_id: str
    guild_id: int | None
    channel_id: int
    user_id: int
    report: JobReport
    posted_at: float
    styles: tuple[str, ...] = ()  # the saved styles it was painted in, by name (none: attached paintings)
    inputs_message_id: int | None = None  # the message carrying its photo and paintings
    parent_id: int | None = None  # the result it remixes (its picture was the photo), in the same channel


def migrate(db: sqlite3.Connection) -> None:
    """Bring the ``results`` table of an older version up to :data:`RESULTS_VERSION` (old rows stay readable:
    the added columns are empty for them)."""
    row = db.execute("SELECT version FROM schema_versions WHERE name = 'results'").fetchone()
    if row is not None and row[0] >= RESULTS_VERSION:
        return
    columns = {info[1] for info in db.execute("PRAGMA table_info(results)")}
    with db:
        for name, kind in (("styles", "TEXT NOT NULL DEFAULT '[]'"), ("inputs_message_id", "INTEGER"),
                           ("parent_id", "INTEGER")):
            if name not in columns:
                db.execute(f"ALTER TABLE results ADD COLUMN {name} {kind}")
        db.execute("INSERT OR REPLACE INTO schema_versions VALUES ('results', ?)", (RESULTS_VERSION,))


def add_result(db: sqlite3.Connection, record: ResultRecord) -> None:
    with db:
        db.execute("INSERT OR REPLACE INTO results (message_id, job_id, guild_id, channel_id, user_id, kind, report, "
                   "posted_at, styles, inputs_message_id, parent_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   (record.message_id, record.job_id, record.guild_id, record.channel_id, record.user_id,
                    record.report.kind.value, json.dumps(record.report.to_dict()), record.posted_at,
                    json.dumps(list(record.styles)), record.inputs_message_id, record.parent_id))


def result_of(db: sqlite3.Connection, message_id: int) -> ResultRecord | None:
    row = db.execute("SELECT message_id, job_id, guild_id, channel_id, user_id, report, posted_at, styles, "
                     "inputs_message_id, parent_id FROM results WHERE message_id = ?", (message_id,)).fetchone()
    if row is None:
        return None
    *ids, report, posted_at, styles, inputs_id, parent_id = row
    return ResultRecord(*ids, report=JobReport.from_dict(json.loads(report)), posted_at=posted_at,
                        styles=tuple(json.loads(styles or "[]")), inputs_message_id=inputs_id, parent_id=parent_id)


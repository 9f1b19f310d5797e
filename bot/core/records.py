"""What the bot remembers of finished jobs (for ``/stats``), of posted results (for their buttons), of
gallery reposts (for Delete) and of the stars members give results (for the starboard).

Plain SQL on the guild store's SQLite connection (:class:`bot.core.store.GuildStore` runs these on its
thread): one row per finished job; one per posted result, with the job's typed report, so More/Less
style, Restyle and Upscale run it again from what the job really was (not from its embed's text), in
either queue mode and after a restart; one per result reposted to a gallery channel, so the
result's Delete button can remove the repost too, and 📋 Parameters on the repost finds the result; one
per ⭐ a member gave a result; and one per result whose repost was claimed, so a result reaches the
gallery once, however many stars arrive at once, come and go, or the bot restarts between them.
"""

from __future__ import annotations

import json
import sqlite3
import statistics
import time
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
CREATE INDEX IF NOT EXISTS gallery_reposts_message ON gallery_reposts (message_id);
CREATE TABLE IF NOT EXISTS stars (
    result_id INTEGER NOT NULL, user_id INTEGER NOT NULL, PRIMARY KEY (result_id, user_id));
CREATE TABLE IF NOT EXISTS gallery_claims (result_id INTEGER PRIMARY KEY, claimed_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS results (
    message_id INTEGER PRIMARY KEY, job_id TEXT NOT NULL, guild_id INTEGER, channel_id INTEGER NOT NULL,
    user_id INTEGER NOT NULL, kind TEXT NOT NULL, report TEXT NOT NULL, posted_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS schema_versions (name TEXT PRIMARY KEY, version INTEGER NOT NULL);
"""
RESULTS_VERSION = 2  # 2: the saved styles, the inputs message and the parent result (a remix) of each result
STARBOARD_VERSION = 1  # 1: stars, gallery_claims and the reposts by message (new tables: older rows stay as they are)
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


def reposted_result(db: sqlite3.Connection, message_id: int) -> int | None:
    """The result a gallery message reposts (None: not a repost)."""
    row = db.execute("SELECT result_id FROM gallery_reposts WHERE message_id = ?", (message_id,)).fetchone()
    return row[0] if row else None


def forget_result(db: sqlite3.Connection, result_id: int) -> tuple[int, int] | None:
    """A deleted result's repost ``(channel, message)``, now forgotten with its stars and claim; taken once,
    so the Delete button and the deletion's gateway event never both delete the repost."""
    with db:
        row = db.execute("SELECT channel_id, message_id FROM gallery_reposts WHERE result_id = ?",
                         (result_id,)).fetchone()
        for table in ("gallery_reposts", "stars", "gallery_claims"):
            db.execute(f"DELETE FROM {table} WHERE result_id = ?", (result_id,))
    return (row[0], row[1]) if row else None


def forget_repost(db: sqlite3.Connection, message_id: int) -> int | None:
    """A deleted repost: forget it (Delete on its result has nothing left to delete), keep its claim (the
    result is not reposted again). The result it reposted, if it was one."""
    with db:
        result_id = reposted_result(db, message_id)
        if result_id is not None:  # a repost from before the claims had none: it is claimed now, for good
            db.execute("INSERT OR IGNORE INTO gallery_claims VALUES (?, ?)", (result_id, time.time()))
        db.execute("DELETE FROM gallery_reposts WHERE message_id = ?", (message_id,))
    return result_id


def add_star(db: sqlite3.Connection, result_id: int, user_id: int) -> int:
    """A member's ⭐ on a result (given twice, counted once); the result's stars now."""
    with db:
        db.execute("INSERT OR IGNORE INTO stars VALUES (?, ?)", (result_id, user_id))
    return _stars(db, result_id)


def remove_star(db: sqlite3.Connection, result_id: int, user_id: int) -> int:
    with db:
        db.execute("DELETE FROM stars WHERE result_id = ? AND user_id = ?", (result_id, user_id))
    return _stars(db, result_id)


def clear_stars(db: sqlite3.Connection, result_id: int) -> None:
    with db:
        db.execute("DELETE FROM stars WHERE result_id = ?", (result_id,))


def _stars(db: sqlite3.Connection, result_id: int) -> int:
    return db.execute("SELECT COUNT(*) FROM stars WHERE result_id = ?", (result_id,)).fetchone()[0]


def claim_repost(db: sqlite3.Connection, result_id: int, needed: int = 0) -> int | None:
    """Claim the one gallery repost of a result that has at least ``needed`` stars: its stars when this call
    claimed it; None when it has fewer, or was reposted or claimed before (by a star, by delivery, by
    another process). One transaction: of two stars that arrive together, one claims."""
    with db:
        if db.execute("SELECT 1 FROM gallery_reposts WHERE result_id = ?", (result_id,)).fetchone():
            return None
        stars = _stars(db, result_id)
        if stars < needed:
            return None
        claimed = db.execute("INSERT OR IGNORE INTO gallery_claims VALUES (?, ?)", (result_id, time.time()))
    return stars if claimed.rowcount == 1 else None


def release_claim(db: sqlite3.Connection, result_id: int) -> None:
    """A repost that could not be posted: the next star (or nothing) tries again."""
    with db:
        db.execute("DELETE FROM gallery_claims WHERE result_id = ?", (result_id,))


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
    """Bring a database of an older version up to :data:`RESULTS_VERSION` and :data:`STARBOARD_VERSION`."""
    _migrate_results(db)
    # the starboard's tables and index are new ones, which SCHEMA makes on open: only its version to note
    with db:
        db.execute("INSERT INTO schema_versions VALUES ('starboard', ?) ON CONFLICT(name) DO UPDATE "
                   "SET version = MAX(version, excluded.version)", (STARBOARD_VERSION,))


def _migrate_results(db: sqlite3.Connection) -> None:
    """The ``results`` table of an older version, brought up to :data:`RESULTS_VERSION` (old rows stay
    readable: the added columns are empty for them)."""
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


"""A server's weekly style challenge, kept in SQLite beside the settings: the challenge, its entries, its votes.

One challenge runs in a guild at a time. An entry is a member's latest result painted in the challenge's
saved style in its channel while it runs; a vote is one per member and challenge, for another member's
entry, and may be moved. The end time is stored, so the closing survives restarts; closing is claimed
in one transaction (``running`` → ``ended``, winners written), so it happens once, and the winners' sheet
is posted afterwards until it is out (:meth:`ChallengeBook.unposted`).
"""

from __future__ import annotations

import enum
import json
import logging
import sqlite3
from dataclasses import dataclass

from engine.ops.sqlite import SqliteThread

log = logging.getLogger(__name__)

VERSION = 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS challenges (
    id INTEGER PRIMARY KEY AUTOINCREMENT, guild_id INTEGER NOT NULL, channel_id INTEGER NOT NULL,
    style TEXT NOT NULL, started_by INTEGER NOT NULL, starts_at REAL NOT NULL, ends_at REAL NOT NULL,
    lang TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'running',  -- running, ended
    announcement_id INTEGER, ended_at REAL, winners TEXT, sheet_id INTEGER, sheet_given_up INTEGER DEFAULT 0);
CREATE INDEX IF NOT EXISTS challenges_guild ON challenges (guild_id, state);
CREATE TABLE IF NOT EXISTS challenge_entries (
    challenge_id INTEGER NOT NULL, user_id INTEGER NOT NULL, message_id INTEGER NOT NULL, posted_at REAL NOT NULL,
    PRIMARY KEY (challenge_id, user_id));
CREATE TABLE IF NOT EXISTS challenge_votes (
    challenge_id INTEGER NOT NULL, voter_id INTEGER NOT NULL, entrant_id INTEGER NOT NULL, voted_at REAL NOT NULL,
    PRIMARY KEY (challenge_id, voter_id));
CREATE TABLE IF NOT EXISTS schema_versions (name TEXT PRIMARY KEY, version INTEGER NOT NULL);
"""
PODIUM = 3  # how many entries the winners' sheet shows
HISTORY = 10  # how many ended challenges `history` lists


@dataclass(frozen=True)
class Entry:
    """A member's entry (their latest picture in the challenge) and the votes it has."""

    user_id: int
    message_id: int
    posted_at: float
    votes: int = 0


@dataclass(frozen=True)
class Challenge:
    id: int
    guild_id: int
    channel_id: int
    style: str  # a saved style of the guild, by name
    started_by: int
    starts_at: float
    ends_at: float
    lang: str  # the language of its announcement and winners' sheet (the server's, when it started)
    state: str = "running"
    announcement_id: int | None = None
    ended_at: float | None = None
    winners: tuple[Entry, ...] = ()  # written once, when it ends
    sheet_id: int | None = None  # the winners' sheet's message, once posted

    @property
    def running(self) -> bool:
        return self.state == "running"


class Ballot(enum.Enum):
    """What :meth:`ChallengeBook.vote` did: counted a first vote, moved one, or why not."""

    VOTED = "voted"
    MOVED = "moved"  # from another entry
    SAME = "same"  # already this member's vote
    OWN = "own"  # one's own entry
    NOT_ENTRY = "not_entry"  # a picture that is no (longer any member's) entry
    CLOSED = "closed"  # the challenge has ended


class ChallengeBook:
    """Challenges, entries and votes; ``open`` before use, ``close`` at the end."""

    def __init__(self, path: str) -> None:
        self._db = SqliteThread(path, SCHEMA, name="challenges")

    async def open(self) -> None:
        await self._db.open()
        await self._db.run(_migrate)

    async def close(self) -> None:
        await self._db.close()

    async def start(self, guild_id: int, channel_id: int, style: str, by: int, now: float, ends_at: float,
                    lang: str) -> Challenge | None:
        """A new running challenge; None if one already runs in the guild (checked in the same transaction)."""
        return await self._db.run(_start, guild_id, channel_id, style, by, now, ends_at, lang)

    async def withdraw(self, challenge_id: int) -> None:
        """Forget a challenge that could not be announced (nobody heard of it)."""
        await self._db.run(_delete, challenge_id)

    async def withdraw_entry(self, message_id: int) -> None:
        """A deleted picture is no longer an entry (its member's votes wait for their next one)."""
        await self._db.run(_delete_entry, message_id)

    async def set_announcement(self, challenge_id: int, message_id: int) -> None:
        await self._db.run(_set, challenge_id, "announcement_id", message_id)

    async def running(self, guild_id: int) -> Challenge | None:
        return await self._db.run(_running, guild_id)

    async def get(self, challenge_id: int) -> Challenge | None:
        return await self._db.run(_get, challenge_id)

    async def enter(self, challenge: Challenge, user_id: int, message_id: int, posted_at: float) -> bool:
        """Make this picture the member's entry (replacing an earlier one); False if the challenge no longer runs."""
        return await self._db.run(_enter, challenge.id, user_id, message_id, posted_at)

    async def vote(self, challenge_id: int, voter_id: int, message_id: int, now: float) -> tuple[Ballot, int | None]:
        """A member's vote for the entry on ``message_id``: the outcome and the entrant (None: not an entry)."""
        return await self._db.run(_vote, challenge_id, voter_id, message_id, now)

    async def standings(self, challenge_id: int) -> list[Entry]:
        """Every entry with its votes, best first (ties: the earlier entry first)."""
        return await self._db.run(_standings, challenge_id)

    async def end(self, challenge_id: int, now: float) -> Challenge | None:
        """Close a running challenge and write its winners, once: None if it had already ended."""
        return await self._db.run(_end, challenge_id, now)

    async def due(self, now: float) -> list[int]:
        """The running challenges whose end time has passed."""
        return [row[0] for row in await self._db.run(_query, "SELECT id FROM challenges WHERE state = 'running' "
                                                             "AND ends_at <= ?", (now,))]

    async def next_end(self) -> float | None:
        rows = await self._db.run(_query, "SELECT MIN(ends_at) FROM challenges WHERE state = 'running'", ())
        return rows[0][0] if rows else None

    async def unposted(self) -> list[Challenge]:
        """Ended challenges whose winners' sheet is not out yet (the bot stopped, or Discord failed, meanwhile)."""
        rows = await self._db.run(_query, "SELECT id FROM challenges WHERE state = 'ended' AND sheet_id IS NULL "
                                          "AND sheet_given_up = 0 ORDER BY ends_at", ())
        return [c for (cid,) in rows if (c := await self.get(cid)) is not None]

    async def sheet_posted(self, challenge_id: int, message_id: int | None) -> None:
        """The winners' sheet is out (its message), or will never be (None: its channel is gone)."""
        if message_id is None:
            await self._db.run(_set, challenge_id, "sheet_given_up", 1)
        else:
            await self._db.run(_set, challenge_id, "sheet_id", message_id)

    async def history(self, guild_id: int) -> list[Challenge]:
        """The guild's ended challenges, newest first."""
        rows = await self._db.run(_query, "SELECT id FROM challenges WHERE guild_id = ? AND state = 'ended' "
                                          "ORDER BY ends_at DESC LIMIT ?", (guild_id, HISTORY))
        return [c for (cid,) in rows if (c := await self.get(cid)) is not None]


# -- SQL, on the store's thread --------------------------------------------------------------------------

_COLUMNS = ("id, guild_id, channel_id, style, started_by, starts_at, ends_at, lang, state, announcement_id, "
            "ended_at, winners, sheet_id")


def _migrate(db: sqlite3.Connection) -> None:
    """Today's tables come from :data:`SCHEMA` (a file from before challenges gains them empty); the version is noted."""
    with db:
        db.execute("INSERT OR IGNORE INTO schema_versions VALUES ('challenges', ?)", (VERSION,))


def _challenge(row: tuple) -> Challenge:
    *head, winners, sheet_id = row
    entries = tuple(Entry(*w) for w in json.loads(winners)) if winners else ()
    return Challenge(*head, winners=entries, sheet_id=sheet_id)


def _get(db: sqlite3.Connection, challenge_id: int) -> Challenge | None:
    row = db.execute(f"SELECT {_COLUMNS} FROM challenges WHERE id = ?", (challenge_id,)).fetchone()
    return _challenge(row) if row else None


def _running(db: sqlite3.Connection, guild_id: int) -> Challenge | None:
    row = db.execute(f"SELECT {_COLUMNS} FROM challenges WHERE guild_id = ? AND state = 'running'",
                     (guild_id,)).fetchone()
    return _challenge(row) if row else None


def _start(db: sqlite3.Connection, guild_id: int, channel_id: int, style: str, by: int, now: float,
           ends_at: float, lang: str) -> Challenge | None:
    with db:
        if db.execute("SELECT 1 FROM challenges WHERE guild_id = ? AND state = 'running'", (guild_id,)).fetchone():
            return None
        cursor = db.execute("INSERT INTO challenges (guild_id, channel_id, style, started_by, starts_at, ends_at, "
                            "lang) VALUES (?, ?, ?, ?, ?, ?, ?)", (guild_id, channel_id, style, by, now, ends_at, lang))
    return _get(db, cursor.lastrowid)  # type: ignore[arg-type]


def _set(db: sqlite3.Connection, challenge_id: int, column: str, value: object) -> None:
    with db:
        db.execute(f"UPDATE challenges SET {column} = ? WHERE id = ?", (value, challenge_id))


def _delete(db: sqlite3.Connection, challenge_id: int) -> None:
    with db:
        db.execute("DELETE FROM challenges WHERE id = ? AND state = 'running'", (challenge_id,))


def _delete_entry(db: sqlite3.Connection, message_id: int) -> None:
    with db:
        db.execute("DELETE FROM challenge_entries WHERE message_id = ? AND challenge_id IN "
                   "(SELECT id FROM challenges WHERE state = 'running')", (message_id,))


def _query(db: sqlite3.Connection, sql: str, args: tuple) -> list[tuple]:
    return db.execute(sql, args).fetchall()


def _is_running(db: sqlite3.Connection, challenge_id: int) -> bool:
    return db.execute("SELECT 1 FROM challenges WHERE id = ? AND state = 'running'", (challenge_id,)).fetchone() \
        is not None


def _enter(db: sqlite3.Connection, challenge_id: int, user_id: int, message_id: int, posted_at: float) -> bool:
    with db:
        if not _is_running(db, challenge_id):
            return False
        db.execute("INSERT INTO challenge_entries VALUES (?, ?, ?, ?) ON CONFLICT (challenge_id, user_id) "
                   "DO UPDATE SET message_id = excluded.message_id, posted_at = excluded.posted_at",
                   (challenge_id, user_id, message_id, posted_at))
    return True


def _vote(db: sqlite3.Connection, challenge_id: int, voter_id: int, message_id: int,
          now: float) -> tuple[Ballot, int | None]:
    """A vote goes to the member whose entry this is (an earlier picture of theirs counts for their latest)."""
    with db:
        if not _is_running(db, challenge_id):
            return Ballot.CLOSED, None
        row = db.execute("SELECT user_id FROM challenge_entries WHERE challenge_id = ? AND message_id = ?",
                         (challenge_id, message_id)).fetchone()
        if row is None:
            return Ballot.NOT_ENTRY, None
        entrant = row[0]
        if entrant == voter_id:
            return Ballot.OWN, entrant
        before = db.execute("SELECT entrant_id FROM challenge_votes WHERE challenge_id = ? AND voter_id = ?",
                            (challenge_id, voter_id)).fetchone()
        if before is not None and before[0] == entrant:
            return Ballot.SAME, entrant
        db.execute("INSERT OR REPLACE INTO challenge_votes VALUES (?, ?, ?, ?)", (challenge_id, voter_id, entrant, now))
    return (Ballot.VOTED if before is None else Ballot.MOVED), entrant


def _standings(db: sqlite3.Connection, challenge_id: int) -> list[Entry]:
    rows = db.execute(
        "SELECT e.user_id, e.message_id, e.posted_at, COUNT(v.voter_id) AS votes FROM challenge_entries e "
        "LEFT JOIN challenge_votes v ON v.challenge_id = e.challenge_id AND v.entrant_id = e.user_id "
        "WHERE e.challenge_id = ? GROUP BY e.user_id ORDER BY votes DESC, e.posted_at ASC", (challenge_id,))
    return [Entry(*row) for row in rows]


def _end(db: sqlite3.Connection, challenge_id: int, now: float) -> Challenge | None:
    """Claim the end (only a running challenge ends) and write the podium: entries with at least one vote."""
    with db:
        if not _is_running(db, challenge_id):
            return None
        podium = [e for e in _standings(db, challenge_id) if e.votes > 0][:PODIUM]
        db.execute("UPDATE challenges SET state = 'ended', ended_at = ?, winners = ? WHERE id = ?",
                   (now, json.dumps([[e.user_id, e.message_id, e.posted_at, e.votes] for e in podium]), challenge_id))
    return _get(db, challenge_id)

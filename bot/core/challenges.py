"""A server's weekly style challenge, kept in SQLite beside the settings: the challenge, its entries, its votes.

One challenge runs in a guild at a time (a unique index says so). An entry is a member's latest result
painted in the challenge's saved style in its channel before its end time; a vote is one per member and
challenge, for another member's entry, and may be moved. The end time is stored, so the closing survives
restarts; closing is one conditional update (``running`` → ``ended``, winners written), so it happens
once, and the winners' sheet is posted afterwards until it is out or given up (:meth:`ChallengeBook.unposted`).
Every call runs on the book's one SQLite thread, so its read-then-write steps never interleave.
"""

from __future__ import annotations

import enum
import json
import logging
import sqlite3
from dataclasses import dataclass, fields

from engine.ops.sqlite import SqliteThread

log = logging.getLogger(__name__)

VERSION = 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS challenges (
    id INTEGER PRIMARY KEY AUTOINCREMENT, guild_id INTEGER NOT NULL, channel_id INTEGER NOT NULL,
    style TEXT NOT NULL, started_by INTEGER NOT NULL, starts_at REAL NOT NULL, ends_at REAL NOT NULL,
    lang TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'running',  -- running, ended
    announcement_id INTEGER, ended_at REAL, winners TEXT NOT NULL DEFAULT '[]', sheet_id INTEGER,
    sheet_tries INTEGER NOT NULL DEFAULT 0, sheet_given_up INTEGER NOT NULL DEFAULT 0);
CREATE UNIQUE INDEX IF NOT EXISTS challenges_running ON challenges (guild_id) WHERE state = 'running';
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
SHEET_TRIES = 5  # turns of the clock a winners' sheet is tried before it is given up


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
    sheet_tries: int = 0
    sheet_given_up: bool = False  # its channel is gone, or every try failed

    @property
    def sheet_settled(self) -> bool:
        """The winners' sheet is out, or will never be."""
        return self.sheet_id is not None or self.sheet_given_up


class Ballot(enum.Enum):
    """What :meth:`ChallengeBook.vote` did: counted a first vote, moved one, or why not."""

    VOTED = "voted"
    MOVED = "moved"  # from another entry
    SAME = "same"  # already this member's vote
    OWN = "own"  # one's own entry
    NOT_ENTRY = "not_entry"  # a picture that is no (longer any member's) entry
    CLOSED = "closed"  # the challenge has ended (or its end time has passed)


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
        """A new running challenge; None if one already runs in the guild."""
        return await self._db.run(_start, guild_id, channel_id, style, by, now, ends_at, lang)

    async def withdraw(self, challenge_id: int) -> None:
        """Forget a challenge that could not be announced (nobody heard of it)."""
        await self._db.run(_execute, "DELETE FROM challenges WHERE id = ? AND state = 'running'", (challenge_id,))

    async def announced(self, challenge_id: int, message_id: int) -> None:
        await self._db.run(_execute, "UPDATE challenges SET announcement_id = ? WHERE id = ?",
                           (message_id, challenge_id))

    async def running(self, guild_id: int) -> Challenge | None:
        return await self._db.run(_one, "guild_id = ? AND state = 'running'", (guild_id,))

    async def get(self, challenge_id: int) -> Challenge | None:
        return await self._db.run(_one, "id = ?", (challenge_id,))

    async def enter(self, challenge_id: int, user_id: int, message_id: int, now: float) -> tuple[bool, int | None]:
        """Make this picture the member's entry: whether it is (not after the end time), and the entry it replaced."""
        return await self._db.run(_enter, challenge_id, user_id, message_id, now)

    async def withdraw_entry(self, message_id: int) -> None:
        """A deleted picture is no longer an entry (its member's votes wait for their next one)."""
        await self._db.run(_execute, "DELETE FROM challenge_entries WHERE message_id = ? AND challenge_id IN "
                                     "(SELECT id FROM challenges WHERE state = 'running')", (message_id,))

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
        rows = await self._db.run(_rows, "SELECT id FROM challenges WHERE state = 'running' AND ends_at <= ?", (now,))
        return [cid for (cid,) in rows]

    async def next_end(self) -> float | None:
        [(soonest,)] = await self._db.run(_rows, "SELECT MIN(ends_at) FROM challenges WHERE state = 'running'", ())
        return soonest

    async def unposted(self) -> list[Challenge]:
        """Ended challenges whose winners' sheet is not out yet (the bot stopped, or Discord failed, meanwhile)."""
        return await self._db.run(_many, "state = 'ended' AND sheet_id IS NULL AND sheet_given_up = 0 "
                                         "ORDER BY ends_at", ())

    async def sheet_posted(self, challenge_id: int, message_id: int | None) -> None:
        """The winners' sheet is out (its message), or will never be (None: its channel is gone)."""
        if message_id is None:
            await self._db.run(_execute, "UPDATE challenges SET sheet_given_up = 1 WHERE id = ?", (challenge_id,))
        else:
            await self._db.run(_execute, "UPDATE challenges SET sheet_id = ? WHERE id = ?", (message_id, challenge_id))

    async def sheet_failed(self, challenge_id: int) -> bool:
        """A try at the sheet failed: whether it is now given up (after :data:`SHEET_TRIES`)."""
        return await self._db.run(_sheet_failed, challenge_id)

    async def history(self, guild_id: int) -> list[Challenge]:
        """The guild's ended challenges, the latest ended first."""
        return await self._db.run(_many, "guild_id = ? AND state = 'ended' ORDER BY COALESCE(ended_at, ends_at) "
                                         "DESC LIMIT ?", (guild_id, HISTORY))


# -- SQL, on the book's thread -----------------------------------------------------------------------------

_FIELDS = tuple(f.name for f in fields(Challenge))


def _migrate(db: sqlite3.Connection) -> None:
    """Today's tables come from :data:`SCHEMA` (a file from before challenges gains them empty); the version is noted."""
    with db:
        db.execute("INSERT OR IGNORE INTO schema_versions VALUES ('challenges', ?)", (VERSION,))


def _challenge(row: sqlite3.Row | tuple) -> Challenge:
    values = dict(zip(_FIELDS, row, strict=True))
    values["winners"] = tuple(Entry(*w) for w in json.loads(values["winners"]))
    values["sheet_given_up"] = bool(values["sheet_given_up"])
    return Challenge(**values)


def _many(db: sqlite3.Connection, where: str, args: tuple) -> list[Challenge]:
    return [_challenge(row) for row in db.execute(f"SELECT {', '.join(_FIELDS)} FROM challenges WHERE {where}", args)]


def _one(db: sqlite3.Connection, where: str, args: tuple) -> Challenge | None:
    found = _many(db, where, args)
    return found[0] if found else None


def _rows(db: sqlite3.Connection, sql: str, args: tuple) -> list[tuple]:
    return db.execute(sql, args).fetchall()


def _execute(db: sqlite3.Connection, sql: str, args: tuple) -> None:
    with db:
        db.execute(sql, args)


def _start(db: sqlite3.Connection, guild_id: int, channel_id: int, style: str, by: int, now: float,
           ends_at: float, lang: str) -> Challenge | None:
    try:
        with db:
            cursor = db.execute("INSERT INTO challenges (guild_id, channel_id, style, started_by, starts_at, ends_at, "
                                "lang) VALUES (?, ?, ?, ?, ?, ?, ?)",
                                (guild_id, channel_id, style, by, now, ends_at, lang))
    except sqlite3.IntegrityError:  # challenges_running: one runs in this guild already
        return None
    return _one(db, "id = ?", (cursor.lastrowid,))


def _open_for(db: sqlite3.Connection, challenge_id: int, now: float) -> bool:
    """Whether the challenge still takes entries and votes: running, and before its end time."""
    return db.execute("SELECT 1 FROM challenges WHERE id = ? AND state = 'running' AND ends_at > ?",
                      (challenge_id, now)).fetchone() is not None


def _enter(db: sqlite3.Connection, challenge_id: int, user_id: int, message_id: int,
           now: float) -> tuple[bool, int | None]:
    with db:
        if not _open_for(db, challenge_id, now):
            return False, None
        before = db.execute("SELECT message_id FROM challenge_entries WHERE challenge_id = ? AND user_id = ?",
                            (challenge_id, user_id)).fetchone()
        db.execute("INSERT INTO challenge_entries VALUES (?, ?, ?, ?) ON CONFLICT (challenge_id, user_id) "
                   "DO UPDATE SET message_id = excluded.message_id, posted_at = excluded.posted_at",
                   (challenge_id, user_id, message_id, now))
    return True, (before[0] if before else None)


def _vote(db: sqlite3.Connection, challenge_id: int, voter_id: int, message_id: int,
          now: float) -> tuple[Ballot, int | None]:
    """A vote goes to the member whose current entry this picture is; an earlier picture of theirs is no entry."""
    with db:
        if not _open_for(db, challenge_id, now):
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
        podium = [e for e in _standings(db, challenge_id) if e.votes > 0][:PODIUM]
        ended = db.execute("UPDATE challenges SET state = 'ended', ended_at = ?, winners = ? "
                           "WHERE id = ? AND state = 'running'",
                           (now, json.dumps([[e.user_id, e.message_id, e.posted_at, e.votes] for e in podium]),
                            challenge_id)).rowcount
    return _one(db, "id = ?", (challenge_id,)) if ended == 1 else None


def _sheet_failed(db: sqlite3.Connection, challenge_id: int) -> bool:
    with db:
        db.execute("UPDATE challenges SET sheet_tries = sheet_tries + 1, sheet_given_up = (sheet_tries + 1 >= ?) "
                   "WHERE id = ?", (SHEET_TRIES, challenge_id))
    challenge = _one(db, "id = ?", (challenge_id,))
    return challenge is not None and challenge.sheet_given_up

"""A server's own library of named styles (paintings), kept in SQLite beside the server settings.

Names are short, lowercase and unambiguous: never a preset word or a ``!style`` subcommand, so
``!style starry`` can only mean the saved style. The images are stored as uploaded (within
``LIBRARY_MAX_BYTES``) with a small JPEG thumbnail for the contact sheet; a job that uses a
saved style carries its bytes like an attached painting, so it works the same on Redis workers.
Names are also kept in memory, for the slash command's autocomplete (3 s, no defer possible).
"""

from __future__ import annotations

import logging
import re
import sqlite3
import time
from collections.abc import Sequence

from PIL import Image

from bot.core.errors import UserError
from bot.requests.options import GRID_WORD, QUICK_WORD, TRY_WORD
from engine.nst.images import decode_image, encode_image
from engine.nst.params import PRESETS
from engine.ops.sqlite import SqliteThread
from engine.tiles import compose

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS guild_styles (
    guild_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    image BLOB NOT NULL,      -- the painting as uploaded
    thumb BLOB NOT NULL,      -- a small JPEG of it, for the contact sheet
    added_by INTEGER NOT NULL,
    added_at REAL NOT NULL,
    PRIMARY KEY (guild_id, name)
);
"""
NAME = re.compile(r"[a-z0-9][a-z0-9_-]{1,31}")
SUBCOMMANDS = ("save", "styles", "delete", "rename")
# Words a saved style may not be called: they mean something else after `!style`.
RESERVED = frozenset({*SUBCOMMANDS, *PRESETS, GRID_WORD, "help", "list", "style", "default", "none",
                      QUICK_WORD, TRY_WORD})
THUMB_SIDE = 160  # px, a contact-sheet tile
SHEET_COLUMNS = 5


def normal_name(text: str) -> str:
    """How a name is looked up: without surrounding spaces, lowercased."""
    return text.strip().lower()


def check_name(text: str) -> str:
    """The library name for ``text`` (:func:`normal_name`); UserError with the rule it breaks."""
    name = normal_name(text)
    if not NAME.fullmatch(name):
        raise UserError("library.bad_name", name=truncate_name(text))
    if name in RESERVED:
        raise UserError("library.reserved_name", name=name)
    return name


def truncate_name(text: str, limit: int = 40) -> str:
    """A user's attempted name, safe to quote back (no backticks, no mentions, short)."""
    cleaned = re.sub(r"[`@<>]", "", text)
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


def thumbnail(image_bytes: bytes, *, max_bytes: int) -> bytes:
    """Decode (which validates) a painting and return its contact-sheet thumbnail as a JPEG."""
    image = decode_image(image_bytes, max_bytes=max_bytes)
    image.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.Resampling.LANCZOS)
    return encode_image(image, format="JPEG", quality=85)


def contact_sheet(entries: Sequence[tuple[str, bytes]]) -> bytes:
    """One JPEG of every ``(name, thumbnail)``, in rows of :data:`SHEET_COLUMNS`, each named."""
    thumbs = [decode_image(data) for _, data in entries]
    sheet = compose(thumbs, [name for name, _ in entries], columns=min(SHEET_COLUMNS, len(entries)),
                    cell=(THUMB_SIDE, THUMB_SIDE))
    return encode_image(sheet.image, format="JPEG", quality=88)


def taken(name: str) -> UserError:
    return UserError("library.taken", name=name)


def full(limit: int) -> UserError:
    return UserError("library.full", count=limit)


class StyleLibrary:
    """Saved styles per guild; ``open`` before use (it loads every name into memory), ``close`` at the end."""

    def __init__(self, path: str) -> None:
        self._db = SqliteThread(path, SCHEMA, name="style-library")
        self._names: dict[int, list[str]] = {}

    async def open(self) -> None:
        await self._db.open()
        for guild_id, name in await self._db.run(_all_names):
            self._names.setdefault(guild_id, []).append(name)

    async def close(self) -> None:
        await self._db.close()

    def names(self, guild_id: int | None) -> list[str]:
        """The guild's style names, sorted, from memory (fast enough for autocomplete)."""
        return list(self._names.get(guild_id, [])) if guild_id is not None else []

    async def save(self, guild_id: int, name: str, image: bytes, thumb: bytes, user_id: int, *,
                   limit: int) -> None:
        """Store a new style; UserError if the name is taken or the library is full."""
        outcome = await self._db.run(_insert, guild_id, name, image, thumb, user_id, limit)
        if outcome == "taken":
            raise taken(name)
        if outcome == "full":
            raise full(limit)
        self._remember(guild_id, add=name)
        log.info("guild %s saved style %r (%d bytes)", guild_id, name, len(image))

    async def images(self, guild_id: int | None, names: Sequence[str]) -> list[bytes]:
        """The paintings behind ``names``, in order; UserError for a name this guild has not saved."""
        if not names:
            return []
        if guild_id is None:
            raise UserError("library.server_only")
        found = dict(await self._db.run(_images, guild_id, list(names)))
        for name in names:
            if name not in found:
                raise UserError("library.unknown", name=truncate_name(name))
        return [found[name] for name in names]

    async def thumbnails(self, guild_id: int) -> list[tuple[str, bytes]]:
        return await self._db.run(_thumbnails, guild_id)

    async def delete(self, guild_id: int, name: str) -> None:
        if not await self._db.run(_delete, guild_id, name):
            raise UserError("library.unknown_delete", name=truncate_name(name))
        self._remember(guild_id, drop=name)
        log.info("guild %s deleted style %r", guild_id, name)

    async def rename(self, guild_id: int, old: str, new: str) -> None:
        outcome = await self._db.run(_rename, guild_id, old, new)
        if outcome == "missing":
            raise UserError("library.unknown_rename", name=truncate_name(old))
        if outcome == "taken":
            raise UserError("library.taken_rename", name=new)
        self._remember(guild_id, drop=old, add=new)

    def _remember(self, guild_id: int, *, add: str | None = None, drop: str | None = None) -> None:
        names = [n for n in self._names.get(guild_id, []) if n != drop]
        self._names[guild_id] = sorted([*names, add] if add else names)


def _all_names(db: sqlite3.Connection) -> list[tuple[int, str]]:
    return db.execute("SELECT guild_id, name FROM guild_styles ORDER BY guild_id, name").fetchall()


def _insert(db: sqlite3.Connection, guild_id: int, name: str, image: bytes, thumb: bytes, user_id: int,
            limit: int) -> str:
    with db:  # count and insert in one transaction: the limit holds
        if db.execute("SELECT 1 FROM guild_styles WHERE guild_id = ? AND name = ?", (guild_id, name)).fetchone():
            return "taken"
        (count,) = db.execute("SELECT COUNT(*) FROM guild_styles WHERE guild_id = ?", (guild_id,)).fetchone()
        if count >= limit:
            return "full"
        db.execute("INSERT INTO guild_styles (guild_id, name, image, thumb, added_by, added_at) "
                   "VALUES (?, ?, ?, ?, ?, ?)", (guild_id, name, image, thumb, user_id, time.time()))
    return "ok"


def _images(db: sqlite3.Connection, guild_id: int, names: list[str]) -> list[tuple[str, bytes]]:
    marks = ",".join("?" * len(names))
    return db.execute(f"SELECT name, image FROM guild_styles WHERE guild_id = ? AND name IN ({marks})",
                      (guild_id, *names)).fetchall()


def _thumbnails(db: sqlite3.Connection, guild_id: int) -> list[tuple[str, bytes]]:
    return db.execute("SELECT name, thumb FROM guild_styles WHERE guild_id = ? ORDER BY name",
                      (guild_id,)).fetchall()


def _delete(db: sqlite3.Connection, guild_id: int, name: str) -> bool:
    with db:
        return db.execute("DELETE FROM guild_styles WHERE guild_id = ? AND name = ?", (guild_id, name)).rowcount == 1


def _rename(db: sqlite3.Connection, guild_id: int, old: str, new: str) -> str:
    with db:
        if db.execute("SELECT 1 FROM guild_styles WHERE guild_id = ? AND name = ?", (guild_id, new)).fetchone():
            return "taken"
        moved = db.execute("UPDATE guild_styles SET name = ? WHERE guild_id = ? AND name = ?",
                           (new, guild_id, old)).rowcount
    return "ok" if moved else "missing"

"""Per-guild settings that server admins change with ``!styleconfig``, kept in SQLite.

One JSON row per guild, so adding a setting needs no migration. Queries run on the
store's own SQLite thread (:class:`engine.ops.sqlite.SqliteThread`); reads are served
from a small in-memory copy afterwards. The local queue keeps its jobs in the same file.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.core import records
from bot.core.errors import keyed
from bot.core.spoilers import parse_mode
from bot.words import i18n
from engine.errors import ParamError
from engine.nst.params import parse_bool, parse_value, preset_params
from engine.ops.sqlite import SqliteThread

log = logging.getLogger(__name__)

GALLERY_POSTS = ("every", "starred")

SCHEMA = """
CREATE TABLE IF NOT EXISTS guild_settings (guild_id INTEGER PRIMARY KEY, data TEXT NOT NULL);
-- the language each user's Discord client last showed (for direct messages)
CREATE TABLE IF NOT EXISTS user_languages (user_id INTEGER PRIMARY KEY, language TEXT NOT NULL);
""" + records.SCHEMA


@dataclass(frozen=True)
class GuildConfig:
    """What one guild's admins chose; ``None`` means "the bot's default"."""

    max_size: int | None = None  # largest output side allowed here
    max_steps: int | None = None  # most optimizer steps per level allowed here
    user_limit: int | None = None  # jobs one member may have waiting in this guild
    preset: str | None = None  # default preset of jobs here
    size: int | None = None  # default output size of jobs here
    channels: tuple[int, ...] = ()  # channels where the bot takes jobs (empty: all)
    gallery_channel: int | None = None  # where results are also posted
    gallery_posts: str = "every"  # which results the gallery gets: every one, or those starred enough
    stars: int = 3  # the ⭐ a result needs to reach the gallery (its author's own and bots' not counted)
    allow_dms: bool = True  # the bot may DM members (e.g. when it cannot post in a channel)
    max_frames: int | None = None  # most frames of an animated input here (at most the bot's MAX_FRAMES)
    max_duration: float | None = None  # longest animated input here, seconds (at most MAX_DURATION_S)
    style_role: int | None = None  # members with this role may change the style library (besides Manage Server)
    library_limit: int | None = None  # most saved styles here
    language: str | None = None  # what the bot speaks in this server's channels; None: its preferred locale
    spoiler: str = "off"  # results posted as spoilers: off, on, or nsfw-channels (all but age-restricted ones)
    channel_limit: int | None = None  # jobs one channel may have waiting at once (a busy channel stays fair)
    cooldown: float | None = None  # seconds one member waits after a job before asking for the next
    challenge_pings: bool = False  # the winners' sheet of a style challenge pings its winners

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, text: str) -> GuildConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        data = {k: v for k, v in json.loads(text).items() if k in known}
        data["channels"] = tuple(data.get("channels") or ())
        return cls(**data)


def _engine_int(option: str) -> Callable[[str], int]:
    """A parser that checks the value against the engine's own bounds for ``option``."""

    def parse(text: str) -> int:
        return parse_value(option, text)

    return parse


def _preset(text: str) -> str:
    return preset_params(text).preset


def _positive_int(text: str) -> int:
    if not text.strip().isdigit() or int(text) < 1:
        raise keyed(ParamError, "setting.not_positive", value=text)
    return int(text)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value < float("inf"):
        raise keyed(ParamError, "setting.not_seconds", value=text)
    return value


_UNITS = {"": 1.0, "s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(h|min|m|sec|s|)", re.IGNORECASE)


def _duration(text: str) -> float:
    """A duration such as ``30``, ``30s``, ``2m``, ``1h`` or ``1m30s``, in seconds (more than 0)."""
    cleaned = text.strip().lower().replace(" ", "")
    parts = _PART.findall(cleaned)
    if not cleaned or "".join(n + u for n, u in parts) != cleaned or sum(1 for _, u in parts if not u) > 1:
        raise keyed(ParamError, "setting.not_duration", value=text)
    seconds = sum(float(n) * _UNITS[u] for n, u in parts)
    if not 0 < seconds < float("inf"):
        raise keyed(ParamError, "setting.not_duration", value=text)
    return seconds


def _bool(text: str) -> bool:
    try:
        return parse_bool(text)
    except ValueError:
        raise keyed(ParamError, "setting.not_bool", value=text) from None


def _language(text: str) -> str | None:
    """A language of the catalogue (``ko``), or ``auto`` (None: the server's preferred locale)."""
    code = text.strip().lower()
    if code == "auto":
        return None
    if code not in i18n.languages():
        raise keyed(ParamError, "setting.not_language", choices=", ".join((*i18n.languages(), "auto")), value=text)
    return code


def _gallery_posts(text: str) -> str:
    """Which results the gallery channel gets: ``every`` one at delivery, or those ``starred`` enough."""
    word = text.strip().lower()
    if word not in GALLERY_POSTS:
        raise keyed(ParamError, "setting.not_gallery_posts", value=text)
    return word


def _role(text: str) -> int:
    """A role mention (``<@&123>``) or id."""
    match = re.fullmatch(r"\s*(?:<@&(\d+)>|(\d+))\s*", text)
    if not match:
        raise keyed(ParamError, "setting.not_role", value=text)
    return int(match[1] or match[2])


# What `!styleconfig set KEY VALUE` accepts: key -> (parser of the text, help).
SETTABLE: dict[str, tuple[Callable[[str], Any], str]] = {
    "max_size": (_engine_int("size"), "largest output side (pixels) allowed here"),
    "max_steps": (_engine_int("steps"), "most optimizer steps per level allowed here"),
    "user_limit": (_positive_int, "jobs one member may have waiting at once in this server"),
    "preset": (_preset, "default preset for jobs here"),
    "size": (_engine_int("size"), "default output size for jobs here"),
    "allow_dms": (_bool, "whether I may DM members when I cannot answer in a channel"),
    "max_frames": (_positive_int, "most frames of an animated photo (GIF, clip) here"),
    "max_duration": (_seconds, "longest animated photo (GIF, clip) here, in seconds"),
    "style_role": (_role, "a role whose members may save, delete and rename this server's styles"),
    "library_limit": (_positive_int, "most saved styles in this server's library"),
    "language": (_language, "the language of my messages here: en, ko, ... or auto (the server's language)"),
    "spoiler": (parse_mode, "post results as spoilers: off, on, or nsfw-channels (all but age-restricted ones)"),
    "channel_limit": (_positive_int, "jobs one channel may have waiting at once"),
    "cooldown": (_duration, "how long one member waits between jobs here: 30s, 2m, 1h"),
    "challenge_pings": (_bool, "whether a style challenge's winners' sheet pings its winners"),
    "gallery_posts": (_gallery_posts, "which results the gallery channel gets: every, or starred (enough stars)"),
    "stars": (_positive_int, "how many ⭐ (not the author's own) bring a result to the gallery"),
}


def parse_setting(key: str, text: str) -> tuple[str, Any]:
    """Validate ``set KEY VALUE``; ``default``/``none`` clears a setting. ParamError says what is wrong."""
    key = key.strip().lower().replace("-", "_")
    if key not in SETTABLE:
        raise keyed(ParamError, "setting.unknown", key=key, keys=", ".join(SETTABLE))
    if text.strip().lower() in ("default", "none", "reset"):
        return key, GuildConfig.__dataclass_fields__[key].default
    parser, _ = SETTABLE[key]
    return key, parser(text)


class GuildStore:
    """Load and save :class:`GuildConfig` rows; ``open`` before use, ``close`` at the end."""

    def __init__(self, path: str) -> None:
        self._db = SqliteThread(path, SCHEMA, name="guild-store")
        self._cache: dict[int, GuildConfig] = {}
        self._languages: dict[int, str] = {}

    async def open(self) -> None:
        await self._db.open()
        await self._db.run(records.migrate)
        self._languages = dict(await self._db.run(_user_languages))

    def user_language(self, user_id: int) -> str | None:
        """The language this user's Discord client last showed (from memory), if they were ever seen."""
        return self._languages.get(user_id)

    async def remember_language(self, user_id: int, language: str) -> None:
        """Keep the user's language for direct messages (written only when it changes)."""
        if self._languages.get(user_id) != language:
            self._languages[user_id] = language
            await self._db.run(_save_language, user_id, language)

    async def close(self) -> None:
        await self._db.close()

    async def get(self, guild_id: int | None) -> GuildConfig:
        if guild_id is None:
            return GuildConfig()
        if guild_id not in self._cache:
            self._cache[guild_id] = await self._db.run(_load, guild_id)
        return self._cache[guild_id]

    async def update(self, guild_id: int, **changes: Any) -> GuildConfig:
        config = dataclasses.replace(await self.get(guild_id), **changes)
        await self._db.run(_save, guild_id, config)
        self._cache[guild_id] = config
        log.info("guild %s settings changed: %s", guild_id, sorted(changes))
        return config


    # -- finished jobs, results and gallery reposts (bot.core.records) ------------------------------

    async def record_job(self, record: records.JobRecord) -> None:
        await self._db.run(records.add_job, record)

    async def stats(self, guild_id: int, today_from: float) -> records.GuildStats:
        return await self._db.run(records.guild_stats, guild_id, today_from)

    async def record_repost(self, result_id: int, channel_id: int, message_id: int) -> None:
        await self._db.run(records.add_repost, result_id, channel_id, message_id)

    async def record_result(self, record: records.ResultRecord) -> None:
        await self._db.run(records.add_result, record)

    async def result_of(self, message_id: int) -> records.ResultRecord | None:
        """What the bot knows of the result posted as ``message_id`` (None: not posted by this bot's store)."""
        return await self._db.run(records.result_of, message_id)

    async def original_of(self, message_id: int) -> records.ResultRecord | None:
        """The result posted as ``message_id``, or the one a gallery message reposts."""
        if (record := await self.result_of(message_id)) is not None:
            return record
        result_id = await self._db.run(records.reposted_result, message_id)
        return await self.result_of(result_id) if result_id is not None else None

    async def forget_result(self, result_id: int) -> tuple[int, int] | None:
        """A result was deleted: its repost ``(channel, message)`` if it had one, taken once; its stars go."""
        return await self._db.run(records.forget_result, result_id)

    async def forget_repost(self, message_id: int) -> int | None:
        """A gallery message was deleted: the result it reposted (None: it was none)."""
        return await self._db.run(records.forget_repost, message_id)

    # -- the starboard (bot.cogs.starboard) ----------------------------------------------------------

    async def add_star(self, result_id: int, user_id: int) -> int:
        return await self._db.run(records.add_star, result_id, user_id)

    async def remove_star(self, result_id: int, user_id: int) -> int:
        return await self._db.run(records.remove_star, result_id, user_id)

    async def clear_stars(self, result_id: int) -> None:
        """Every reaction (or every ⭐) of the message was cleared by a moderator."""
        await self._db.run(records.clear_stars, result_id)

    async def claim_repost(self, result_id: int, needed: int = 0) -> int | None:
        """Whether this caller reposts the result (its stars), see :func:`bot.core.records.claim_repost`."""
        return await self._db.run(records.claim_repost, result_id, needed)

    async def release_claim(self, result_id: int) -> None:
        await self._db.run(records.release_claim, result_id)


def _user_languages(db: sqlite3.Connection) -> list[tuple[int, str]]:
    return db.execute("SELECT user_id, language FROM user_languages").fetchall()


def _save_language(db: sqlite3.Connection, user_id: int, language: str) -> None:
    with db:
        db.execute("INSERT INTO user_languages (user_id, language) VALUES (?, ?) "
                   "ON CONFLICT(user_id) DO UPDATE SET language = excluded.language", (user_id, language))


def _load(db: sqlite3.Connection, guild_id: int) -> GuildConfig:
    row = db.execute("SELECT data FROM guild_settings WHERE guild_id = ?", (guild_id,)).fetchone()
    return GuildConfig.from_json(row[0]) if row else GuildConfig()


def _save(db: sqlite3.Connection, guild_id: int, config: GuildConfig) -> None:
    with db:
        db.execute("INSERT INTO guild_settings (guild_id, data) VALUES (?, ?) "
                   "ON CONFLICT(guild_id) DO UPDATE SET data = excluded.data", (guild_id, config.to_json()))

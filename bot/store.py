"""Per-guild settings that server admins change with ``!styleconfig``, kept in SQLite.

One JSON row per guild, so adding a setting needs no migration. sqlite3 is
blocking, so every query runs on one dedicated thread (one connection, used by
one thread only); reads are served from a small in-memory copy afterwards.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, TypeVar

from engine.errors import ParamError
from engine.nst.params import parse_options

log = logging.getLogger(__name__)
T = TypeVar("T")

_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


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
    allow_dms: bool = True  # the bot may DM members (e.g. when it cannot post in a channel)

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
        return getattr(parse_options({option: text}), option)

    return parse


def _preset(text: str) -> str:
    return parse_options({"preset": text}).preset


def _positive_int(text: str) -> int:
    if not text.strip().isdigit() or int(text) < 1:
        raise ParamError(f"expected a whole number of at least 1, not `{text}`")
    return int(text)


def _bool(text: str) -> bool:
    if text.strip().lower() not in _TRUE | _FALSE:
        raise ParamError(f"expected yes or no, not `{text}`")
    return text.strip().lower() in _TRUE


# What `!styleconfig set KEY VALUE` accepts: key -> (parser of the text, help).
SETTABLE: dict[str, tuple[Callable[[str], Any], str]] = {
    "max_size": (_engine_int("size"), "largest output side (pixels) allowed here"),
    "max_steps": (_engine_int("steps"), "most optimizer steps per level allowed here"),
    "user_limit": (_positive_int, "jobs one member may have waiting at once in this server"),
    "preset": (_preset, "default preset for jobs here"),
    "size": (_engine_int("size"), "default output size for jobs here"),
    "allow_dms": (_bool, "whether I may DM members when I cannot answer in a channel"),
}


def parse_setting(key: str, text: str) -> tuple[str, Any]:
    """Validate ``set KEY VALUE``; ``default``/``none`` clears a setting. ParamError says what is wrong."""
    key = key.strip().lower().replace("-", "_")
    if key not in SETTABLE:
        raise ParamError(f"unknown setting `{key}`; settable: {', '.join(SETTABLE)}")
    if text.strip().lower() in ("default", "none", "reset"):
        return key, GuildConfig.__dataclass_fields__[key].default
    parser, _ = SETTABLE[key]
    return key, parser(text)


class GuildStore:
    """Load and save :class:`GuildConfig` rows; ``open`` before use, ``close`` at the end."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._executor: ThreadPoolExecutor | None = None
        self._db: sqlite3.Connection | None = None
        self._cache: dict[int, GuildConfig] = {}

    async def open(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="guild-store")
        await self._run(self._connect)

    async def close(self) -> None:
        if self._executor is None:
            return
        await self._run(self._disconnect)
        self._executor.shutdown(wait=True)
        self._executor = None

    async def get(self, guild_id: int | None) -> GuildConfig:
        if guild_id is None:
            return GuildConfig()
        if guild_id not in self._cache:
            self._cache[guild_id] = await self._run(self._load, guild_id)
        return self._cache[guild_id]

    async def update(self, guild_id: int, **changes: Any) -> GuildConfig:
        config = dataclasses.replace(await self.get(guild_id), **changes)
        await self._run(self._save, guild_id, config)
        self._cache[guild_id] = config
        log.info("guild %s settings changed: %s", guild_id, sorted(changes))
        return config

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        if self._executor is None:
            raise RuntimeError("GuildStore.open() has not been called")
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    # -- on the store's thread -----------------------------------------------------------

    def _connect(self) -> None:
        self._db = sqlite3.connect(self.path)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS guild_settings (guild_id INTEGER PRIMARY KEY, data TEXT NOT NULL)")
        self._db.commit()

    def _disconnect(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def _load(self, guild_id: int) -> GuildConfig:
        assert self._db is not None
        row = self._db.execute("SELECT data FROM guild_settings WHERE guild_id = ?", (guild_id,)).fetchone()
        return GuildConfig.from_json(row[0]) if row else GuildConfig()

    def _save(self, guild_id: int, config: GuildConfig) -> None:
        assert self._db is not None
        self._db.execute(
            "INSERT INTO guild_settings (guild_id, data) VALUES (?, ?) "
            "ON CONFLICT(guild_id) DO UPDATE SET data = excluded.data",
            (guild_id, config.to_json()),
        )
        self._db.commit()

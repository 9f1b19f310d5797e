"""One SQLite connection on its own thread, for asyncio code (the bot's settings, the local queue's jobs).

sqlite3 blocks, and a connection must stay on the thread that made it, so every query of a
:class:`SqliteThread` runs on one dedicated thread. Several of them may open the same file
(the bot keeps its settings and its queued jobs in one database): WAL mode lets one write
while the others read, and a busy timeout makes a writer wait its turn instead of failing.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


class SqliteThread:
    """``await db.run(fn, *args)`` calls ``fn(connection, *args)`` on the connection's own thread."""

    def __init__(self, path: str, schema: str, name: str = "sqlite") -> None:
        self.path, self.schema, self.name = path, schema, name
        self._executor: ThreadPoolExecutor | None = None
        self._db: sqlite3.Connection | None = None

    @property
    def is_open(self) -> bool:
        return self._executor is not None

    async def open(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=self.name)
        await self.run(lambda _: None)

    async def close(self) -> None:
        if self._executor is None:
            return
        await self.run(lambda db: db.close())
        self._executor.shutdown(wait=True)
        self._executor, self._db = None, None

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        if self._executor is None:
            raise RuntimeError(f"{self.name}: open() has not been called")
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._call, fn, args)

    def _call(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        if self._db is None:
            self._db = sqlite3.connect(self.path, timeout=10.0)
            if self.path != ":memory:":
                self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(self.schema)
            self._db.commit()
        return fn(self._db, *args)

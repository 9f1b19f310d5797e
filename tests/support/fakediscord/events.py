"""What the fake saw the bot do: answered requests, and events that tests wait for."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass
class RequestRecord:
    """One HTTP request the fake answered; ``path`` is relative to ``/api/v10`` for API calls."""

    method: str
    path: str
    status: int
    time: float  # FakeDiscord.clock()
    query: dict[str, str]


@dataclass
class Event:
    """Something the bot did, for :meth:`FakeDiscord.wait_for`; ``data`` is a snapshot taken then.

    ``kind``: ``message_create``/``message_update``/``message_delete`` (data: the message),
    ``interaction_callback`` (data: token, type, data), ``reaction``, ``commands_sync``.
    """

    kind: str
    channel_id: int | None
    data: dict[str, Any]


class EventRecorder:
    """Every :class:`Event` so far, and the tests waiting for one."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self._waiters: list[tuple[Callable[[Event], bool], asyncio.Future[Event]]] = []

    def record(self, kind: str, channel_id: int | None, data: dict[str, Any]) -> None:
        """Log an event (with a snapshot of ``data``) and wake the waiters it satisfies."""
        event = Event(kind, channel_id, dict(data))
        self.events.append(event)
        for predicate, future in list(self._waiters):
            if future.done():
                continue
            try:
                if predicate(event):
                    future.set_result(event)
            except Exception as exc:  # noqa: BLE001 - a broken predicate fails the test, not the server
                future.set_exception(exc)

    async def wait_for(
        self, predicate: Callable[[Event], bool], timeout: float = 5.0, *, include_past: bool = True,
    ) -> Event:
        """The first :class:`Event` that satisfies ``predicate``; earlier events count unless told not to.

        Raises ``AssertionError`` listing the recent events after ``timeout`` seconds.
        """
        if include_past:
            for event in self.events:
                if predicate(event):
                    return event
        waiter = (predicate, asyncio.get_running_loop().create_future())
        self._waiters.append(waiter)
        try:
            return await asyncio.wait_for(waiter[1], timeout)
        except TimeoutError:
            recent = "\n".join(f"  {e.kind} {e.channel_id} {str(e.data)[:160]}" for e in self.events[-8:])
            raise AssertionError(f"no matching event within {timeout}s; recent events:\n{recent}") from None
        finally:
            self._waiters.remove(waiter)

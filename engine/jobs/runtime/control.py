"""A running job as its engine thread and its queue share it: cancel, time limit, latest progress."""

from __future__ import annotations

import threading
import time
from typing import Any

from engine.nst.types import Progress
from engine.texts import Message, as_message, msg


class Control:
    """A running job as its engine thread and its queue share it: cancel, time limit, latest progress.

    ``cancel`` may be called from any thread; the engine sees it at its next step. A cancel with
    ``interrupted=True`` means "stop, but the job is not over" (a shutdown that will resume it).
    """

    def __init__(self, time_limit_s: float | None = None):
        self.time_limit_s = time_limit_s or None
        self.started = time.monotonic()
        self.reason: Message = msg("job.cancelled")
        self.timed_out = self.interrupted = False
        self.latest: Progress | None = None  # the newest report of the engine
        self.preview: bytes | None = None
        self._stop = threading.Event()

    def cancel(self, reason: Message | str | None = None, *, interrupted: bool = False,
               timed_out: bool = False) -> None:
        if not self._stop.is_set():
            self.reason, self.interrupted, self.timed_out = as_message(reason), interrupted, timed_out
            self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def overdue_by(self) -> float:
        """Seconds past the time limit (negative before it; -inf without one)."""
        if self.time_limit_s is None:
            return float("-inf")
        return time.monotonic() - self.started - self.time_limit_s

    def should_cancel(self) -> bool:
        """The engine's cancel hook: true once cancelled or past the time limit."""
        if self.overdue_by() > 0:
            self.cancel(msg("job.timeout", limit_s=self.time_limit_s), timed_out=True)
        return self._stop.is_set()

    def on_progress(self, progress: Progress) -> None:  # the engine thread
        if progress.preview is not None:
            self.preview = progress.preview
        self.latest = progress


def progress_fields(progress: Progress) -> dict[str, Any]:
    """The plain data of an engine Progress that a queue publishes (an animation's also says which frame)."""
    return {"step": progress.step, "total": progress.total, "losses": progress.losses,
            "frame": progress.frame, "frames": progress.frames}

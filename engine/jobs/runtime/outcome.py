"""How a job ended, and the metrics reason of an exception it raised."""

from __future__ import annotations

from dataclasses import dataclass

from engine.errors import InputError, JobCancelled, ParamError
from engine.jobs.contract import JobResult, JobState


@dataclass(frozen=True)
class Outcome:
    """How a job ended: its final state, the user-facing reason and metrics reason if it failed, or its result."""

    state: JobState
    error: str | None = None
    reason: str | None = None  # one of metrics.REASONS when not DONE
    result: JobResult | None = None
    seconds: float = 0.0

    @classmethod
    def failed(cls, reason: str, error: str) -> Outcome:
        state = JobState.CANCELLED if reason == "cancelled" else JobState.FAILED
        return cls(state, error=error, reason=reason)


def failure_reason(exc: BaseException) -> str:
    """The metrics reason of an exception a job raised."""
    if isinstance(exc, ParamError):
        return "params"
    if isinstance(exc, InputError):
        return "input"
    if isinstance(exc, JobCancelled):
        return "cancelled"
    return "oom" if is_out_of_memory(exc) else "internal"


def is_out_of_memory(exc: BaseException) -> bool:
    """torch's OutOfMemoryError, or a RuntimeError saying so (older torch, other backends)."""
    return type(exc).__name__ == "OutOfMemoryError" or "out of memory" in str(exc).lower()

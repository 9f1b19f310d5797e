"""How a job ended: its :class:`Outcome`, and the one mapping from what stopped it to a sentence and a reason."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from engine.errors import EngineError, InputError, JobCancelled, JobDiverged, JobFailed, ParamError
from engine.jobs.contract import JobResult, JobState
from engine.jobs.runtime.texts import Message, msg
from engine.texts import note

if TYPE_CHECKING:
    from engine.jobs.runtime.control import Control
    from engine.ops.logs import JobLogAdapter


@dataclass(frozen=True)
class Outcome:
    """How a job ended: its final state, the user-facing reason and metrics reason if it failed, or its result."""

    state: JobState
    error: Message | None = None  # what the user reads, as a message (key and arguments)
    reason: str | None = None  # one of metrics.REASONS when not DONE
    result: JobResult | None = None
    seconds: float = 0.0

    @classmethod
    def failed(cls, reason: str, error: Message) -> Outcome:
        state = JobState.CANCELLED if reason == "cancelled" else JobState.FAILED
        return cls(state, error=error, reason=reason)


def stopped(control: Control) -> Outcome:
    """The outcome of a job its control stopped: cancelled, or past its time limit (the control's words)."""
    return Outcome.failed("timeout" if control.timed_out else "cancelled", control.reason)


def failure(exc: BaseException, control: Control, jlog: JobLogAdapter) -> Outcome:
    """The outcome of a job that raised ``exc``: a stop, bad input, a divergence, or a bug (logged)."""
    if isinstance(exc, JobCancelled):
        return stopped(control)
    if isinstance(exc, (InputError, JobFailed)):
        return Outcome.failed(failure_reason(exc), exc.message or note(str(exc)))
    # EngineError here is the operator's problem (e.g. missing weights): its message is enough
    jlog.error("internal error: %s", exc, exc_info=None if isinstance(exc, EngineError) else exc)
    return Outcome.failed("internal", msg("job.internal"))


def failure_reason(exc: BaseException) -> str:
    """The metrics reason of an exception a job raised (a cancel is the control's to tell: :func:`stopped`)."""
    if isinstance(exc, ParamError):
        return "params"
    if isinstance(exc, InputError):
        return "input"
    if isinstance(exc, JobDiverged):
        return "diverged"
    return "oom" if is_out_of_memory(exc) else "internal"


def is_out_of_memory(exc: BaseException) -> bool:
    """torch's OutOfMemoryError, or a RuntimeError saying so (older torch, other backends)."""
    return type(exc).__name__ == "OutOfMemoryError" or "out of memory" in str(exc).lower()

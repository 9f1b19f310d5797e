"""Typed errors of the engine.

Every error whose message may be shown to an end user as is derives from
:class:`InputError`; front ends (CLI, bot) map these to a message and never to
a traceback. Anything else is a bug or an environment problem and is logged.

An error made from a message (:func:`engine.texts.msg`) carries it as :attr:`EngineError.message`
(key and arguments, for front ends that speak other languages) beside its English ``str()``.
"""

from __future__ import annotations

from typing import Any

from engine.texts import Message, english, msg


class EngineError(Exception):
    """Base class for every error the engine raises on purpose.

    ``EngineError(msg("input.empty"))`` keeps the message (``.message``) and reads as its English;
    ``EngineError("text")`` is plain text (``.message`` is None: front ends show the text as is).
    """

    def __init__(self, text: Message | str | None = None, *rest: Any) -> None:
        self.message: Message | None = None
        if isinstance(text, dict):
            self.message, text = text, english(text)
        super().__init__(*(() if text is None else (text,)), *rest)

    @property
    def key(self) -> str | None:
        return self.message["key"] if self.message else None


class InputError(EngineError):
    """The user's input (image or parameter) cannot be used; the message says why."""


class ParamError(InputError):
    """A style-transfer parameter is unknown or out of range."""


class BackboneUnavailable(EngineError):
    """The requested VGG19 weights are not installed; the message says how to get them."""


class JobCancelled(EngineError):
    """The job was cancelled by its owner, an admin, a shutdown or a time limit."""


class JobFailed(EngineError):
    """The job ran but could not finish; ``str(exc)`` is a user-facing reason."""


class JobDiverged(JobFailed):
    """The optimisation diverged: the cost became infinite (weights too large for the image)."""

    TEXT = english(msg("job.diverged"))

    def __init__(self, text: Message | str | None = None) -> None:
        super().__init__(msg("job.diverged") if text is None else text)


class QueueFull(EngineError):
    """The queue holds as many jobs as it may; try again later."""


class UserLimitReached(EngineError):
    """This user already has as many jobs queued as allowed."""

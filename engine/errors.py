"""Typed errors of the engine.

Every error whose message may be shown to an end user as is derives from
:class:`InputError`; front ends (CLI, bot) map these to a message and never to
a traceback. Anything else is a bug or an environment problem and is logged.
"""


class EngineError(Exception):
    """Base class for every error the engine raises on purpose."""


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

    TEXT = "the optimisation diverged (the cost became infinite); try smaller weights"

    def __init__(self, message: str = TEXT) -> None:
        super().__init__(message)


class QueueFull(EngineError):
    """The queue holds as many jobs as it may; try again later."""


class UserLimitReached(EngineError):
    """This user already has as many jobs queued as allowed."""

"""The one place where an exception becomes the sentence a user reads, and where failed Discord calls are counted.

Typed errors (the engine's, the bot's own :class:`UserError`, discord.py's check
failures) map to a clear message; anything else is a bug: it is logged with the job
id and the user reads "something went wrong". Every path that answers a user about
a failure goes through :func:`explain`. A Discord API call that may fail without
stopping the job (an edit, a DM, a gallery post) runs inside :class:`discord_call`.
"""

from __future__ import annotations

import logging
import re
from types import TracebackType
from typing import Self

import discord
from discord import app_commands
from discord.ext import commands
from prometheus_client import Counter

from engine.errors import InputError, JobCancelled, JobFailed, QueueFull, UserLimitReached
from engine.ops import metrics

log = logging.getLogger(__name__)

DISCORD_ERRORS = Counter("stylebot_discord_api_errors", "Failed Discord API calls, by HTTP status and Discord code",
                         ["status", "code"], registry=metrics.REGISTRY)
#: The shape of a Discord bot token; never logged (see engine.ops.logs.register_pattern).
DISCORD_TOKEN = re.compile(r"[MN][A-Za-z0-9_-]{23,25}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,38}")
MAX_MESSAGE = 2000
# discord.py's wrappers around the exception a command raised
_WRAPPERS = (commands.CommandInvokeError, commands.HybridCommandError, app_commands.CommandInvokeError)
SOMETHING_WRONG = ("Something went wrong on my side; the admins can find it in the logs. "
                   "Please try again later.")


class UserError(Exception):
    """A request the bot refuses for a reason the user can act on (the message says which)."""


def count_discord_error(exc: discord.HTTPException) -> None:
    """Count one failed Discord API call by HTTP status and Discord error code (0 when none)."""
    DISCORD_ERRORS.labels(status=str(exc.status or 0), code=str(exc.code or 0)).inc()


class discord_call:  # lower case: it reads like a function, `with discord_call(...)`
    """Run Discord API calls whose failure must not stop anything: count and log it, then go on.

    ::

        with discord_call(log, "cannot edit status message %s", message.id) as call:
            await message.edit(content=text)
        if call.failed: ...
    """

    def __init__(self, logger: logging.Logger | logging.LoggerAdapter, what: str, *args: object,
                 level: int = logging.INFO) -> None:
        self.logger, self.what, self.args, self.level = logger, what, args, level
        self.failed: discord.HTTPException | None = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> bool:
        if not isinstance(exc, discord.HTTPException):
            return False
        count_discord_error(exc)
        self.logger.log(self.level, self.what + ": %s", *self.args, exc)
        self.failed = exc
        return True


def truncate(text: str, limit: int = MAX_MESSAGE) -> str:
    """Cut ``text`` to Discord's message limit, marking the cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


_PERMISSION_NAMES = {"manage_guild": "Manage Server"}  # what Discord's UI calls them


def permission_names(missing: list[str]) -> str:
    """``["manage_guild", "attach_files"]`` -> "Manage Server, Attach Files"."""
    return ", ".join(_PERMISSION_NAMES.get(p, p.replace("_", " ").title()) for p in missing)


def explain(exc: BaseException, *, job_id: str | None = None) -> str:
    """A user-facing message for ``exc``; unexpected errors are logged here (with ``job_id``)."""
    while isinstance(exc, _WRAPPERS):
        exc = exc.original
    if isinstance(exc, (UserError, InputError)):
        return truncate(f"⚠️ {exc}")
    if isinstance(exc, UserLimitReached):
        return truncate(f"✋ {exc}")
    if isinstance(exc, QueueFull):
        return truncate(f"🚦 I'm busy right now: {exc}")
    if isinstance(exc, JobCancelled):
        return truncate(f"🛑 Cancelled: {exc}")
    if isinstance(exc, JobFailed):
        return truncate(f"❌ That didn't work: {exc}")
    if isinstance(exc, (commands.MissingPermissions, app_commands.MissingPermissions)):
        return f"⛔ You need the {permission_names(exc.missing_permissions)} permission to do that."
    if isinstance(exc, (commands.BotMissingPermissions, app_commands.BotMissingPermissions)):
        return f"⛔ I need the {permission_names(exc.missing_permissions)} permission here."
    if isinstance(exc, (commands.NoPrivateMessage, app_commands.NoPrivateMessage)):
        return "⛔ That only works in a server."
    if isinstance(exc, (commands.UserInputError, commands.CheckFailure, app_commands.CheckFailure)):
        return truncate(f"⚠️ {exc}")
    if isinstance(exc, discord.HTTPException):
        count_discord_error(exc)
    if isinstance(exc, discord.Forbidden):
        return "⛔ I'm missing a permission in this channel (Send Messages, Attach Files, Embed Links?)."
    log.error("unexpected error (job %s)", job_id or "-", exc_info=exc)
    return SOMETHING_WRONG

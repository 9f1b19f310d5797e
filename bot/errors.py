"""The one place where an exception becomes the sentence a user reads.

Typed errors (the engine's, the bot's own :class:`UserError`, discord.py's check
failures) map to a clear message; anything else is a bug: it is logged with the job
id and the user reads "something went wrong". Every path that answers a user about
a failure goes through :func:`explain`.
"""

from __future__ import annotations

import logging

import discord
from discord import app_commands
from discord.ext import commands

from engine.ops import metrics
from engine.errors import InputError, JobCancelled, JobFailed, QueueFull, UserLimitReached

log = logging.getLogger(__name__)

MAX_MESSAGE = 2000
# discord.py's wrappers around the exception a command raised
_WRAPPERS = (commands.CommandInvokeError, commands.HybridCommandError, app_commands.CommandInvokeError)
SOMETHING_WRONG = ("Something went wrong on my side; the admins can find it in the logs. "
                   "Please try again later.")


class UserError(Exception):
    """A request the bot refuses for a reason the user can act on (the message says which)."""


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
        metrics.discord_error(exc.status, exc.code)
    if isinstance(exc, discord.Forbidden):
        return "⛔ I'm missing a permission in this channel (Send Messages, Attach Files, Embed Links?)."
    log.error("unexpected error (job %s)", job_id or "-", exc_info=exc)
    return SOMETHING_WRONG

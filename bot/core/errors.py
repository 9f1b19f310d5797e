"""The one place where an exception becomes the sentence a user reads, and where failed Discord calls are counted.

Typed errors (the engine's, the bot's own :class:`UserError`, discord.py's check
failures) map to a clear message in the user's language (errors carry a catalogue key and
its arguments: ``exc.message``); anything else is a bug: it is logged with the job id and the
user reads "something went wrong". Every path that answers a user about a failure goes
through :func:`explain`. A Discord API call that may fail without
stopping the job (an edit, a DM, a gallery post) runs inside :class:`discord_call`.
"""

from __future__ import annotations

import logging
import re
from types import TracebackType
from typing import Any, Self, TypeVar

import discord
from discord import app_commands
from discord.ext import commands
from prometheus_client import Counter

from bot.words import i18n
from bot.words.translator import option_name
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
E = TypeVar("E", bound=Exception)
# the messages whose {name} is an option of the engine (a StyleParams field)
NAMES_AN_OPTION = frozenset({"param.not_finite", "param.out_of_range", "param.not_bool", "param.not_int",
                             "param.not_number", "param.not_list", "options.operator_only", "options.over_limit"})


class UserError(Exception):
    """A request the bot refuses for a reason the user can act on: a catalogue key and its arguments.

    ``str()`` is the English sentence (for logs and tests); :func:`explain` says it in the user's language.
    """

    def __init__(self, key: str, /, **args: Any) -> None:
        self.message = {"key": key, "args": args}
        super().__init__(i18n.text(i18n.DEFAULT, key, **args))


def keyed(cls: type[E], key: str, /, **args: Any) -> E:
    """An engine error type (``ParamError``) raised by the bot: the bot's catalogue key, English ``str()``."""
    exc = cls(i18n.text(i18n.DEFAULT, key, **args))
    exc.message = {"key": key, "args": args}  # type: ignore[attr-defined]
    return exc


def said(lang: str, exc: BaseException) -> str:
    """What an error with a message (``exc.message``) says in ``lang``; its ``str()`` if it has none. An
    option the message names by its engine name (``style_weight``) is named as the reader knows it (베타)."""
    message = getattr(exc, "message", None)
    if not isinstance(message, dict):
        return str(exc)
    args = dict(message.get("args") or {})
    if message.get("key") in NAMES_AN_OPTION and isinstance(args.get("name"), str):
        args["name"] = option_name(lang, args["name"])
    return i18n.text(lang, str(message["key"]), **args)


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


# The permissions the bot names in its refusals, as Discord's UI calls them (others: title-cased).
PERMISSIONS = {"manage_guild": "permission.manage_guild", "manage_messages": "permission.manage_messages",
               "send_messages": "permission.send_messages", "attach_files": "permission.attach_files",
               "embed_links": "permission.embed_links", "read_message_history": "permission.read_message_history",
               "view_channel": "permission.view_channel"}


def permission_names(missing: list[str], lang: str = i18n.DEFAULT) -> str:
    """``["manage_guild", "attach_files"]`` -> "Manage Server, Attach Files" (as Discord's UI names them)."""
    return ", ".join(i18n.text(lang, PERMISSIONS[name]) if name in PERMISSIONS else name.replace("_", " ").title()
                     for name in missing)


# (error types, catalogue key of the frame around the error's own sentence)
_FRAMES: tuple[tuple[tuple[type[BaseException], ...], str], ...] = (
    ((UserError, InputError), "error.refused"),
    ((UserLimitReached,), "error.user_limit"),
    ((QueueFull,), "error.busy"),
    ((JobCancelled,), "error.cancelled"),
    ((JobFailed,), "error.failed"),
)


def explain(exc: BaseException, lang: str = i18n.DEFAULT, *, job_id: str | None = None) -> str:
    """A user-facing message for ``exc`` in ``lang``; unexpected errors are logged here (with ``job_id``)."""
    while isinstance(exc, _WRAPPERS):
        exc = exc.original
    for types, frame in _FRAMES:
        if isinstance(exc, types):
            return truncate(i18n.text(lang, frame, reason=said(lang, exc)))
    if isinstance(exc, (commands.MissingPermissions, app_commands.MissingPermissions)):
        return i18n.text(lang, "error.user_permission", permissions=permission_names(exc.missing_permissions, lang),
                         count=len(exc.missing_permissions))
    if isinstance(exc, (commands.BotMissingPermissions, app_commands.BotMissingPermissions)):
        return i18n.text(lang, "error.bot_permission", permissions=permission_names(exc.missing_permissions, lang),
                         count=len(exc.missing_permissions))
    if isinstance(exc, (commands.NoPrivateMessage, app_commands.NoPrivateMessage)):
        return i18n.text(lang, "error.server_only")
    if isinstance(exc, (commands.UserInputError, commands.CheckFailure, app_commands.CheckFailure,
                        app_commands.TransformerError)):
        return truncate(i18n.text(lang, "error.refused", reason=_input_error(lang, exc)))
    if isinstance(exc, discord.HTTPException):
        count_discord_error(exc)
    if isinstance(exc, discord.Forbidden):
        return i18n.text(lang, "error.forbidden")
    log.error("unexpected error (job %s)", job_id or "-", exc_info=exc)
    return i18n.text(lang, "error.unexpected")


def _input_error(lang: str, exc: BaseException) -> str:
    """discord.py's own refusals of a badly typed command, in the catalogue's words where we know the case;
    a case we do not know keeps discord.py's English detail in English and a plain sentence elsewhere."""
    if isinstance(exc, commands.MissingRequiredArgument):
        return i18n.text(lang, "error.missing_argument", name=exc.param.name)
    if isinstance(exc, commands.TooManyArguments):
        return i18n.text(lang, "error.too_many_arguments")
    if isinstance(exc, commands.ChannelNotFound):
        return i18n.text(lang, "error.channel_not_found", value=str(exc.argument))
    if isinstance(exc, commands.RoleNotFound):
        return i18n.text(lang, "error.role_not_found", value=exc.argument)
    if isinstance(exc, (commands.MemberNotFound, commands.UserNotFound)):
        return i18n.text(lang, "error.member_not_found", value=exc.argument)
    if isinstance(exc, commands.BadBoolArgument):
        return i18n.text(lang, "error.not_yes_no", value=exc.argument)
    if isinstance(exc, commands.BadLiteralArgument):
        return i18n.text(lang, "error.not_one_of", value=exc.argument,
                         choices=i18n.text(lang, "list.separator").join(f"`{x}`" for x in exc.literals))
    if isinstance(exc, commands.ArgumentParsingError):  # an unclosed or misplaced quotation mark
        return i18n.text(lang, "error.quotes")
    if isinstance(exc, app_commands.TransformerError):
        return i18n.text(lang, "error.bad_option_value", value=str(exc.value))
    if isinstance(exc, commands.BadArgument) and not getattr(exc, "message", None):
        return str(exc) if lang == i18n.DEFAULT else i18n.text(lang, "error.unreadable_value")
    return said(lang, exc)

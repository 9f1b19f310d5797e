"""What the cogs, buttons and helpers need from the bot: a small :class:`Host` protocol, not ``StyleBot`` itself.

:class:`bot.client.StyleBot` is the one implementation (a ``commands.Bot`` that owns these); the
modules below it depend on this protocol, so no import runs back up to the client.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import discord

    from bot.core.challenges import ChallengeBook
    from bot.core.library import StyleLibrary
    from bot.core.settings import BotSettings
    from bot.core.store import GuildStore
    from bot.requests.origin import Gather, Origin
    from engine.jobs import JobHandle, JobQueue
    from engine.tiles import Box

Say = Callable[[str], str]  # a sentence in the language given


class Requests(Protocol):
    """The one path from a request to a queued job (:class:`bot.requests.intake.Intake`)."""

    async def request(self, origin: Origin, gather: Gather) -> None: ...
    async def try_styles(self, origin: Origin, gather: Gather) -> None: ...
    async def refusal(self, origin: Origin) -> str | None: ...
    async def restyle(self, interaction: discord.Interaction, factor: float) -> None: ...
    async def vary(self, interaction: discord.Interaction) -> None: ...
    async def upscale(self, interaction: discord.Interaction, cell: int | None = None,
                      box: Box | None = None) -> None: ...
    async def paint_saved(self, interaction: discord.Interaction, name: str) -> None: ...
    async def paint_again(self, interaction: discord.Interaction, result: discord.Message, name: str) -> None: ...


class Cancel(enum.Enum):
    """What cancelling a job did (:meth:`Followers.cancel`): cancelled it; nothing, as it had already
    ended; or nothing, as the queue does not know the job at all (lost: say, a local queue that
    restarted without its SQLite journal)."""

    CANCELLED = "cancelled"
    FINISHED = "finished"
    UNKNOWN = "unknown"


class Followers(Protocol):
    """The jobs this process follows to their one answer (:class:`bot.answers.tracker.JobTracker`)."""

    async def start(self, handle: JobHandle) -> None: ...
    def active(self, user_id: int, guild_id: int | None) -> int: ...
    def jobs_of(self, user_id: int) -> list[JobHandle]: ...
    def in_channel(self, channel_id: int) -> list[JobHandle]: ...
    async def cancel(self, job_id: str, by: discord.abc.User) -> Cancel: ...
    async def notify_directly(self, user_id: int, guild_id: int | None, say: Say) -> None: ...


class Host(Protocol):
    """The bot as the rest of ``bot/`` sees it: its resources, and the few client calls they make."""

    settings: BotSettings
    queue: JobQueue
    store: GuildStore
    library: StyleLibrary
    challenges: ChallengeBook
    links: Any  # bot.requests.links.LinkFetcher
    tracker: Followers
    intake: Requests
    accepting: bool  # taking new jobs (false before start-up and during shutdown)
    user: discord.ClientUser | None
    application_id: int | None
    http: Any
    tree: Any  # discord.app_commands.CommandTree
    _connection: Any

    def dispatch(self, event: str, /, *args: Any, **kwargs: Any) -> None: ...
    def get_guild(self, guild_id: int, /) -> discord.Guild | None: ...
    def get_channel(self, channel_id: int, /) -> Any: ...
    def get_partial_messageable(self, channel_id: int, /, **kwargs: Any) -> discord.PartialMessageable: ...
    def get_user(self, user_id: int, /) -> discord.User | None: ...
    def get_command(self, name: str, /) -> Any: ...
    async def fetch_channel(self, channel_id: int, /) -> Any: ...
    async def fetch_user(self, user_id: int, /) -> discord.User: ...
    def wait_until_ready(self) -> Awaitable[None]: ...

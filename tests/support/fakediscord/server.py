"""``FakeDiscord``: the world, plus the HTTP server and gateway that serve it to discord.py.

It ties the concerns together: :class:`~.world.World` (the state it inherits), :class:`~.rest.Rest`
and :class:`~.interactions.Interactions` (the API routes), :class:`~.cdn.Cdn` (attachments),
:class:`~.gateway.Gateway` (the websocket), :class:`~.messages.Mail` (message plumbing they share),
:class:`~.reactions.Reactions` (members' reactions), :class:`~.faults.Faults` (injected failures) and
:class:`~.events.EventRecorder` (what tests wait for).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
import traceback
from collections.abc import Callable, Sequence
from typing import Any, Self

import yarl
from aiohttp import web

from tests.support.fakediscord.cdn import Cdn
from tests.support.fakediscord.events import Event, EventRecorder, RequestRecord
from tests.support.fakediscord.faults import Faults
from tests.support.fakediscord.gateway import Gateway
from tests.support.fakediscord.interactions import Interactions
from tests.support.fakediscord.messages import Mail
from tests.support.fakediscord.reactions import Reactions
from tests.support.fakediscord.rest import Rest
from tests.support.fakediscord.wire import API_PREFIX, ApiError
from tests.support.fakediscord.world import MIB, World


class FakeDiscord(World):
    """An in-process Discord API v10 and gateway that real discord.py clients log in to.

    Build the world (guilds, channels, users, roles, overwrites) before the bot connects. Rules are
    checked at request time, so later changes are enforced at once, but reach discord.py's cache
    only if a test sends the event itself, e.g. ``await fake.dispatch("CHANNEL_UPDATE", ...)``.
    ``token``, ``interaction_deadline``, ``token_lifetime`` and ``clock`` may be changed at any time.
    """

    def __init__(
        self, *, bot_id: int | None = None, bot_name: str = "stylebot", token: str = "fake-token",
        interaction_deadline: float = 3.0, token_lifetime: float = 15 * 60,
        clock: Callable[[], float] = time.monotonic, heartbeat_interval_ms: int = 41250,
    ) -> None:
        super().__init__(bot_id=bot_id, bot_name=bot_name)
        self.token, self.clock, self.heartbeat_interval_ms = token, clock, heartbeat_interval_ms
        self.interaction_deadline, self.token_lifetime = interaction_deadline, token_lifetime
        # One object per concern; those that need the others or the rules above get this one.
        self.cdn = Cdn(self)
        self.mail = Mail(self)
        self.reactions = Reactions(self)
        self.recorder = EventRecorder()
        self.faults = Faults()
        self.gateway = Gateway(self)
        self.interactions = Interactions(self)
        self.rest = Rest(self)
        self.requests: list[RequestRecord] = []
        self.unhandled: list[RequestRecord] = []  # requests for routes this fake does not know
        self.errors: list[str] = []  # tracebacks of bugs in the fake itself (answered as 400)
        self._runner: web.AppRunner | None = None
        self._restore: Callable[[], None] | None = None
        self.port = 0

    # ------------------------------------------------------------------ lifecycle
    @property
    def base_url(self) -> str:
        """The REST base ``http://127.0.0.1:PORT/api/v10``, what ``discord.http.Route.BASE`` must be."""
        return f"http://127.0.0.1:{self.port}{API_PREFIX}"

    api_url = base_url

    @property
    def gateway_url(self) -> str:
        """The websocket address that ``GET /gateway/bot`` and READY hand out."""
        return f"ws://127.0.0.1:{self.port}/gateway"

    async def start(self) -> None:
        """Listen on a free port of 127.0.0.1."""
        app = web.Application(middlewares=[self._middleware], client_max_size=512 * MIB)
        self.gateway.add_routes(app.router)
        self.cdn.add_routes(app.router)
        for method, path, handler in [*self.rest.routes(), *self.interactions.routes()]:
            app.router.add_route(method, API_PREFIX + path, handler)
        app.router.add_route("*", "/{tail:.*}", self._unknown)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.cdn.origin = f"http://127.0.0.1:{self.port}"

    async def close(self) -> None:
        """Drop gateway sockets and stop. Close the bot first, or it keeps trying to reconnect."""
        await self.gateway.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        self._restore = self.point_discordpy_here()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._restore is not None:
            self._restore()
            self._restore = None
        await self.close()

    def point_discordpy_here(self) -> Callable[[], None]:
        """Aim discord.py's REST base and default gateway here; returns a callable that undoes it."""
        import discord.asset
        import discord.gateway
        import discord.http

        old = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY, discord.asset.Asset.BASE
        discord.http.Route.BASE = self.base_url
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(self.gateway_url)
        discord.asset.Asset.BASE = self.cdn.origin  # avatars and other assets come from this CDN

        def restore() -> None:
            discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY, discord.asset.Asset.BASE = old

        return restore

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Callable) -> web.StreamResponse:
        """Injected failures first, then bot-token auth, then the route; logs every request."""
        rel = request.path.removeprefix(API_PREFIX)
        try:
            response = self.faults.take(request.method, rel)
            if response is None:
                open_route = rel.startswith(("/interactions/", "/webhooks/")) or rel == request.path
                if not open_route and request.headers.get("Authorization") != f"Bot {self.token}":
                    raise ApiError(401, 0, "401: Unauthorized")
                response = await handler(request)
        except ApiError as exc:
            response = exc.response()
        except Exception:  # noqa: BLE001 - a bug in a handler is recorded for the test, not raised into aiohttp
            self.errors.append(traceback.format_exc())
            response = ApiError(400, 0, "bug in FakeDiscord, see FakeDiscord.errors").response()
        record = RequestRecord(request.method, rel, response.status, self.clock(), dict(request.query))
        self.requests.append(record)
        return response

    async def _unknown(self, request: web.Request) -> web.Response:
        rel = request.path.removeprefix(API_PREFIX)
        self.unhandled.append(RequestRecord(request.method, rel, 404, self.clock(), dict(request.query)))
        raise ApiError(404, 0, f"FakeDiscord has no route {request.method} {rel}")

    # ------------------------------------------------------------------ reading the state
    @property
    def downloads(self) -> list[int]:
        """Ids of attachments fetched from their url/proxy_url, in order."""
        return self.cdn.downloads

    @property
    def events(self) -> list[Event]:
        """Every :class:`Event` so far, oldest first."""
        return self.recorder.events

    @property
    def identifies(self) -> int:
        """How many gateway sessions clients opened (IDENTIFY)."""
        return self.gateway.identifies

    @property
    def resumes(self) -> int:
        """How many times a client resumed a session (RESUME)."""
        return self.gateway.resumes

    def attachment_bytes(self, attachment: dict[str, Any] | int | str) -> bytes:
        """The bytes behind an attachment dict (as in a message) or attachment id."""
        return self.cdn.bytes_of(attachment)

    def interaction_responses(self, token: str) -> list[dict[str, Any]]:
        """What the bot did with an interaction, accepted calls only, in order.

        Each is ``{"kind": "callback"|"followup"|"edit"|"delete", "type": callback type or None,
        "data": request body, "message": message snapshot or None}``.
        """
        return self.interactions.by_token[token].responses

    def expire_interaction(self, token: str) -> None:
        """Age an interaction past its token lifetime (and so its deadline) now, as if 15 min passed."""
        self.interactions.by_token[token].dispatched_at = self.clock() - self.token_lifetime - 1

    def hits(self, method: str, path_regex: str) -> list[RequestRecord]:
        """Logged requests with this method (``"*"``: any) whose API-relative path matches ``path_regex``."""
        pattern = re.compile(path_regex)
        return [r for r in self.requests if method.upper() in ("*", r.method) and pattern.search(r.path)]

    # ------------------------------------------------------------------ failure injection
    def fail_next(
        self, method: str, path_regex: str, status: int = 429, *, retry_after: float = 0.3,
        times: int = 1, code: int | None = None, message: str | None = None,
    ) -> None:
        """Fail the next ``times`` requests that match ``method`` (or ``"*"``) and ``path_regex``.

        ``path_regex`` is searched in the path relative to ``/api/v10``, e.g. ``r"/channels/\\d+/messages$"``.
        A 429 carries ``retry_after``, a ``Via`` header and X-RateLimit headers, as Discord's do (without
        Via, discord.py takes it for a Cloudflare ban). Other statuses carry Discord's usual code
        (403: 50013 Missing Permissions) unless ``code``/``message`` say otherwise.
        """
        self.faults.fail_next(method, path_regex, status, retry_after=retry_after, times=times,
                              code=code, message=message)

    # ------------------------------------------------------------------ waiting
    async def wait_for(
        self, predicate: Callable[[Event], bool], timeout: float = 5.0, *, include_past: bool = True,
    ) -> Event:
        """The first :class:`Event` that satisfies ``predicate``; earlier events count unless told not to.

        Raises ``AssertionError`` listing the recent events after ``timeout`` seconds.
        """
        return await self.recorder.wait_for(predicate, timeout, include_past=include_past)

    async def wait_for_message(
        self, channel_id: int, predicate: Callable[[dict[str, Any]], bool] | None = None,
        timeout: float = 5.0, *, edits: bool = True,
    ) -> dict[str, Any]:
        """A message the bot posted (or, with ``edits``, edited) in a channel that satisfies ``predicate``."""
        kinds = ("message_create", "message_update") if edits else ("message_create",)
        event = await self.wait_for(
            lambda e: e.kind in kinds and e.channel_id == channel_id
            and e.data["author"]["id"] == str(self.bot_id) and (predicate is None or predicate(e.data)),
            timeout)
        return event.data

    async def wait_until_connected(self, timeout: float = 5.0) -> None:
        """Until a gateway session is identified or resumed (again, after :meth:`disconnect_gateway`)."""
        await asyncio.wait_for(self.gateway.connected.wait(), timeout)

    # ------------------------------------------------------------------ driving the bot
    async def send_message(
        self, channel_id: int, author_id: int, content: str = "", *,
        attachments: Sequence[tuple[str, bytes, str]] = (), declared_size: int | None = None,
        reference_message_id: int | str | None = None,
    ) -> dict[str, Any]:
        """A user posts a message; it is stored and sent as MESSAGE_CREATE. Returns the message dict.

        ``attachments`` are ``(filename, bytes, content_type)``; ``declared_size`` replaces their
        advertised ``size`` (the bytes stay), to test that the bot checks it before downloading.
        """
        return await self.mail.post_as_user(channel_id, author_id, content, attachments, declared_size,
                                            reference_message_id)

    async def send_slash(
        self, channel_id: int, user_id: int, name: str, options: dict[str, Any] | None = None,
        attachments: dict[str, tuple[str, bytes, str]] | None = None, *, declared_size: int | None = None,
    ) -> dict[str, Any]:
        """A user runs ``/name`` (``"group sub"`` for a subcommand). Returns the INTERACTION_CREATE payload.

        Option types come from the synced command (``bot.tree.sync()``) when there is one, else
        from the values: str 3, int 4, bool 5, float 10; a user option (type 6) takes a user id.
        ``attachments`` map option names to ``(filename, bytes, content_type)``: type-11 options
        resolved in ``data.resolved.attachments``. The payload's ``token`` keys the other helpers.
        """
        return await self.interactions.send_slash(channel_id, user_id, name, options, attachments,
                                                  declared_size)

    async def send_autocomplete(
        self, channel_id: int, user_id: int, name: str, options: dict[str, Any], focused: str,
    ) -> dict[str, Any]:
        """A user types into option ``focused`` of ``/name`` (``"group sub"`` for a subcommand).

        Sends APPLICATION_COMMAND_AUTOCOMPLETE (type 4) with the options typed so far, ``focused``
        flagged; the bot must answer within the deadline with callback type 8 (``{"choices": [...]}``,
        at most 25), readable with :meth:`interaction_responses`. Returns the payload.
        """
        return await self.interactions.send_autocomplete(channel_id, user_id, name, options, focused)

    async def send_context_menu(
        self, channel_id: int, user_id: int, name: str, *, message_id: int | str | None = None,
        member_id: int | None = None,
    ) -> dict[str, Any]:
        """A user right-clicks a message (``message_id``) or a member (``member_id``) and picks ``name`` under Apps.

        Sends APPLICATION_COMMAND (type 2) for the synced MESSAGE (3) or USER (2) command, with
        ``target_id`` and the target in ``data.resolved`` (the message; or the user and, in a guild,
        the member with their server avatar). Returns the payload.
        """
        if (message_id is None) == (member_id is None):
            raise ValueError("give exactly one of message_id and member_id")
        target, kind = (message_id, 3) if message_id is not None else (member_id, 2)
        return await self.interactions.send_context_menu(channel_id, user_id, name, target, kind)  # type: ignore[arg-type]

    async def submit_modal(
        self, channel_id: int, user_id: int, custom_id: str, values: dict[str, str], *,
        message_id: int | str | None = None,
    ) -> dict[str, Any]:
        """A user fills in and submits a modal the bot opened: ``values`` by text input custom_id.

        ``message_id``: the message whose component opened it (Discord includes it). Returns the payload.
        """
        return await self.interactions.submit_modal(channel_id, user_id, custom_id, values,
                                                    int(message_id) if message_id is not None else None)

    async def click_button(
        self, channel_id: int, user_id: int, message_id: int | str, custom_id: str, *,
        values: list[str] | None = None,
    ) -> dict[str, Any]:
        """A user clicks a button (or, given ``values``, picks from a select menu) on a stored message.

        Returns the INTERACTION_CREATE payload (type 3, with the message).
        """
        return await self.interactions.click(channel_id, user_id, message_id, custom_id, values)

    async def add_reaction(self, channel_id: int, message_id: int | str, user_id: int, emoji: str) -> bool:
        """A member reacts to a stored message with a unicode ``emoji`` ("⭐"): the message's ``reactions`` change
        and MESSAGE_REACTION_ADD goes out. False (and no event) when they had reacted so already; an
        :class:`ApiError` when Discord would refuse (see :mod:`.reactions`)."""
        return await self.reactions.add(channel_id, message_id, user_id, emoji)

    async def remove_reaction(self, channel_id: int, message_id: int | str, user_id: int, emoji: str) -> bool:
        """A member takes their reaction back: MESSAGE_REACTION_REMOVE; False (no event) if they had none."""
        return await self.reactions.remove(channel_id, message_id, user_id, emoji)

    async def delete_message(self, channel_id: int, message_id: int | str, user_id: int) -> None:
        """A member deletes a message in Discord (their own, or any with Manage Messages): it is gone and
        MESSAGE_DELETE goes out, as for the bot's own deletions (recorded as ``message_delete`` too)."""
        await self.mail.delete_as_user(channel_id, message_id, user_id)

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        """Send a DISPATCH (op 0) to every session; kept for replay if its socket is down."""
        await self.gateway.dispatch(event, data)

    async def disconnect_gateway(self, *, resumable: bool = True, code: int = 4000) -> None:
        """Drop every gateway socket. discord.py then RESUMEs (missed events are replayed), or,
        when not ``resumable``, is told its session is invalid and IDENTIFYs again after the 5 s
        wait in ``Client.before_identify_hook``."""
        await self.gateway.disconnect(resumable=resumable, code=code)


@contextlib.asynccontextmanager
async def running(fake: FakeDiscord, bot: Any, timeout: float = 10.0) -> Any:
    """Run a discord.py client against ``fake`` until it is ready; close it on exit.

    A login failure is raised here rather than left in a background task.
    """
    task = asyncio.create_task(bot.start(fake.token))
    ready = asyncio.create_task(bot.wait_until_ready())
    try:
        done, _ = await asyncio.wait({task, ready}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        if task in done:
            task.result()
        assert ready in done, "bot never became ready"
        yield bot
    finally:
        ready.cancel()
        await bot.close()
        await asyncio.wait_for(task, timeout)

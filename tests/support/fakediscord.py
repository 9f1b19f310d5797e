"""A loopback Discord (REST + gateway) for end-to-end tests that run the bot's real discord.py code.

Discord enforces rules that discord.py never checks client-side: the 3 s interaction deadline
(10062), one acknowledgement per interaction (40060), the 15 min token lifetime (50027), upload
limits (413/40005), channel permissions (50013), rate limits (429) and the MESSAGE_CONTENT intent.
This server enforces them, so a bot test fails here the way the bot would fail in production.

    async with FakeDiscord() as fake:  # starts, and points discord.py here until exit
        guild = fake.add_guild("studio")
        channel = fake.add_channel(guild, "general")
        alice = fake.add_member(guild, fake.add_user("alice"))
        bot = MyBot(..., guild_ready_timeout=0.05)  # on_ready comes this long after the last guild
        task = asyncio.create_task(bot.start(fake.token))
        ...  # wait for on_ready, then:
        await fake.send_message(channel, alice, "!ping")
        reply = await fake.wait_for_message(channel)

It listens on 127.0.0.1 only. ``tests/support/test_fakediscord.py`` shows every feature in use.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import itertools
import json
import math
import mimetypes
import re
import secrets
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import yarl
from aiohttp import WSMsgType, web

API_PREFIX = "/api/v10"
MIB = 1024 * 1024
PREMIUM_UPLOAD_LIMITS = {0: 10 * MIB, 1: 10 * MIB, 2: 50 * MIB, 3: 100 * MIB}  # discord/guild.py:454-460

# Permission bits, as in discord.Permissions; enough for a bot that posts images.
ADMINISTRATOR = 1 << 3
ADD_REACTIONS = 1 << 6
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
MANAGE_MESSAGES = 1 << 13
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
READ_MESSAGE_HISTORY = 1 << 16
USE_APPLICATION_COMMANDS = 1 << 31
ALL_PERMISSIONS = (1 << 51) - 1
DEFAULT_PERMISSIONS = (VIEW_CHANNEL | SEND_MESSAGES | EMBED_LINKS | ATTACH_FILES | READ_MESSAGE_HISTORY
                       | ADD_REACTIONS | USE_APPLICATION_COMMANDS)
MESSAGE_CONTENT_INTENT = 1 << 15
EPHEMERAL, LOADING = 1 << 6, 1 << 7  # message flags

# The (code, message) Discord pairs with each status, for injected failures.
_DEFAULT_ERRORS = {400: (50035, "Invalid Form Body"), 401: (0, "401: Unauthorized"),
                   403: (50013, "Missing Permissions"), 404: (0, "404: Not Found"),
                   413: (40005, "Request entity too large"), 429: (0, "You are being rate limited."),
                   500: (0, "500: Internal Server Error")}
_MENTION = re.compile(r"<@!?(\d+)>")


class ApiError(Exception):
    """An error answer in Discord's shape: HTTP status plus JSON ``{"message", "code"}``."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status, self.code, self.message = status, code, message

    def response(self) -> web.Response:
        return _json({"message": self.message, "code": self.code}, status=self.status)


@dataclass
class RequestRecord:
    """One HTTP request the fake answered; ``path`` is relative to ``/api/v10`` for API calls."""

    method: str
    path: str
    status: int
    time: float  # FakeDiscord.clock()
    query: dict[str, str]


@dataclass
class Event:
    """Something the bot did, for :meth:`FakeDiscord.wait_for`; ``data`` is a snapshot taken then.

    ``kind``: ``message_create``/``message_update``/``message_delete`` (data: the message),
    ``interaction_callback`` (data: token, type, data), ``reaction``, ``commands_sync``.
    """

    kind: str
    channel_id: int | None
    data: dict[str, Any]


@dataclass
class _Injection:
    method: str
    pattern: re.Pattern[str]
    status: int
    retry_after: float
    remaining: int
    code: int
    message: str


@dataclass
class _Interaction:
    id: int
    token: str
    type: int
    channel_id: int
    user_id: int
    dispatched_at: float  # FakeDiscord.clock() at dispatch; both deadlines count from here
    message_id: int | None = None  # the clicked message, for components
    ack_type: int | None = None
    original_id: int | None = None  # what @original means once acknowledged
    loading: bool = False  # a "thinking" defer that the first followup will fill in
    responses: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _Session:
    id: str
    intents: int
    ws: web.WebSocketResponse | None = None
    seq: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)  # frames, replayed on RESUME
    valid: bool = True
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    # discord.py compares Content-Type with "application/json" verbatim (http.py:110-119), and
    # aiohttp's json_response/text= append "; charset=utf-8", so send bytes with the header by hand.
    headers = {**(headers or {}), "Content-Type": "application/json"}
    return web.Response(body=json.dumps(data).encode(), status=status, headers=headers)


def _iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000000+00:00", time.gmtime())


def _image_size(blob: bytes) -> dict[str, int]:
    """Width and height, which Discord reports for images (when Pillow can read the header)."""
    try:
        from PIL import Image

        with Image.open(io.BytesIO(blob)) as image:
            return {"width": image.width, "height": image.height}
    except Exception:
        return {}


class FakeDiscord:
    """An in-process Discord API v10 and gateway that real discord.py clients log in to.

    Build the world (guilds, channels, users, roles, overwrites) before the bot connects. Rules are
    checked at request time, so later changes are enforced at once, but reach discord.py's cache
    only if a test sends the event itself, e.g. ``await fake.dispatch("CHANNEL_UPDATE", ...)``.
    """

    def __init__(
        self, *, bot_id: int | None = None, bot_name: str = "stylebot", token: str = "fake-token",
        interaction_deadline: float = 3.0, token_lifetime: float = 15 * 60,
        clock: Callable[[], float] = time.monotonic, heartbeat_interval_ms: int = 41250,
    ) -> None:
        self._ids = itertools.count(1)
        self.token, self.clock, self.heartbeat_interval_ms = token, clock, heartbeat_interval_ms
        self.interaction_deadline, self.token_lifetime = interaction_deadline, token_lifetime
        self.users: dict[int, dict[str, Any]] = {}
        self.bot_id = self.application_id = self.add_user(bot_name, user_id=bot_id, bot=True)
        self.owner_id = self.add_user("owner")  # the application's owner (commands.is_owner)
        self.guilds: dict[int, dict[str, Any]] = {}
        self.channels: dict[int, dict[str, Any]] = {}
        self.commands: dict[int | None, list[dict[str, Any]]] = {}  # guild id, None for global
        self._messages: dict[int, dict[int, dict[str, Any]]] = {}
        self._blobs: dict[int, bytes] = {}
        self.downloads: list[int] = []  # ids of attachments fetched from url/proxy_url
        self._interactions: dict[str, _Interaction] = {}
        self.requests: list[RequestRecord] = []
        self.unhandled: list[RequestRecord] = []  # requests for routes this fake does not know
        self.errors: list[str] = []  # tracebacks of bugs in the fake itself (answered as 400)
        self.events: list[Event] = []
        self._waiters: list[tuple[Callable[[Event], bool], asyncio.Future[Event]]] = []
        self._injections: list[_Injection] = []
        self._sessions: dict[str, _Session] = {}
        self.identifies = self.resumes = 0
        self._connected = asyncio.Event()
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
        return f"ws://127.0.0.1:{self.port}/gateway"

    async def start(self) -> None:
        """Listen on a free port of 127.0.0.1."""
        app = web.Application(middlewares=[self._middleware], client_max_size=512 * MIB)
        app.router.add_get("/gateway", self._gateway)
        app.router.add_get("/attachments/{channel}/{att}/{name}", self._download)
        app.router.add_get("/proxy/attachments/{channel}/{att}/{name}", self._download)
        for method, path, handler in [
            ("GET", "/users/@me", self._me), ("GET", "/oauth2/applications/@me", self._app_info),
            ("GET", "/gateway", self._gateway_info), ("GET", "/gateway/bot", self._gateway_info),
            ("POST", "/users/@me/channels", self._create_dm), ("GET", "/users/{user}", self._get_user),
            ("GET", "/channels/{channel}", self._get_channel),
            ("GET", "/channels/{channel}/messages", self._history),
            ("POST", "/channels/{channel}/messages", self._post_message),
            ("POST", "/channels/{channel}/typing", self._typing),
            ("GET", "/channels/{channel}/messages/{message}", self._get_message),
            ("PATCH", "/channels/{channel}/messages/{message}", self._edit_message),
            ("DELETE", "/channels/{channel}/messages/{message}", self._delete_message),
            ("*", "/channels/{channel}/messages/{message}/reactions/{tail:.*}", self._reaction),
            ("GET", "/guilds/{guild}", self._get_guild),
            ("GET", "/guilds/{guild}/members/{user}", self._get_member),
            ("GET", "/applications/{app}/commands", self._get_commands),
            ("PUT", "/applications/{app}/commands", self._put_commands),
            ("POST", "/applications/{app}/commands", self._post_command),
            ("GET", "/applications/{app}/guilds/{guild}/commands", self._get_commands),
            ("PUT", "/applications/{app}/guilds/{guild}/commands", self._put_commands),
            ("POST", "/applications/{app}/guilds/{guild}/commands", self._post_command),
            ("POST", "/interactions/{id}/{token}/callback", self._callback),
            ("POST", "/webhooks/{app}/{token}", self._followup),
            ("*", "/webhooks/{app}/{token}/messages/{message}", self._webhook_message),
        ]:
            app.router.add_route(method, API_PREFIX + path, handler)
        app.router.add_route("*", "/{tail:.*}", self._unknown)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def close(self) -> None:
        """Drop gateway sockets and stop. Close the bot first, or it keeps trying to reconnect."""
        for session in self._sessions.values():
            if session.ws is not None and not session.ws.closed:
                await session.ws.close(code=1001)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeDiscord:
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
        import discord.gateway
        import discord.http

        old = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
        discord.http.Route.BASE = self.base_url
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(self.gateway_url)

        def restore() -> None:
            discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = old

        return restore

    # ------------------------------------------------------------------ world building
    def snowflake(self) -> int:
        """A fresh id whose timestamp is now, so discord.py's ``created_at`` looks right."""
        return ((int(time.time() * 1000) - 1420070400000) << 22) | (next(self._ids) & 0x3FFFFF)

    def add_user(self, name: str, *, user_id: int | None = None, bot: bool = False) -> int:
        uid = user_id or self.snowflake()
        self.users[uid] = {"id": str(uid), "username": name, "global_name": name, "discriminator": "0",
                           "avatar": None, "bot": bot, "public_flags": 0}
        return uid

    def add_guild(
        self, name: str = "test guild", *, guild_id: int | None = None, premium_tier: int = 0,
        upload_limit: int | None = None, owner_id: int | None = None,
    ) -> int:
        """A guild with @everyone and the bot as member; ``upload_limit`` overrides the tier's limit."""
        gid = guild_id or self.snowflake()
        everyone = {"id": str(gid), "name": "@everyone", "permissions": str(DEFAULT_PERMISSIONS),
                    "position": 0}
        self.guilds[gid] = {"id": gid, "name": name, "premium_tier": premium_tier, "joined_at": _iso(),
                            "owner_id": owner_id or self.owner_id, "roles": {gid: everyone}, "members": {},
                            "upload_limit": upload_limit or PREMIUM_UPLOAD_LIMITS[premium_tier]}
        self.add_member(gid, self.bot_id)
        return gid

    def add_role(self, guild_id: int, name: str, permissions: int = 0) -> int:
        rid, roles = self.snowflake(), self.guilds[guild_id]["roles"]
        roles[rid] = {"id": str(rid), "name": name, "permissions": str(permissions), "position": len(roles)}
        return rid

    def add_member(self, guild_id: int, user_id: int, roles: Sequence[int] = ()) -> int:
        """Make a user (from :meth:`add_user`) a member; returns the user id, for chaining."""
        self.guilds[guild_id]["members"][user_id] = {
            "user": self.users[user_id], "roles": [str(r) for r in roles], "joined_at": _iso(),
            "deaf": False, "mute": False, "flags": 0, "nick": None}
        return user_id

    def add_channel(self, guild_id: int, name: str = "general", *, channel_id: int | None = None) -> int:
        cid = channel_id or self.snowflake()
        self.channels[cid] = {"id": str(cid), "type": 0, "guild_id": str(guild_id), "name": name,
                              "position": len(self.channels), "permission_overwrites": [], "nsfw": False,
                              "parent_id": None, "last_message_id": None}
        self._messages[cid] = {}
        return cid

    def dm_channel(self, user_id: int) -> int:
        """The DM channel between the bot and a user, created on first use."""
        for cid, channel in self.channels.items():
            if channel["type"] == 1 and channel["recipients"][0]["id"] == str(user_id):
                return cid
        cid = self.snowflake()
        self.channels[cid] = {"id": str(cid), "type": 1, "recipients": [self.users[user_id]],
                              "last_message_id": None}
        self._messages[cid] = {}
        return cid

    def set_overwrite(self, channel_id: int, target_id: int, *, allow: int = 0, deny: int = 0) -> None:
        """A channel permission overwrite for a role (if ``target_id`` is one) or a member."""
        channel = self.channels[channel_id]
        kind = 0 if target_id in self.guilds[int(channel["guild_id"])]["roles"] else 1
        kept = [o for o in channel["permission_overwrites"] if o["id"] != str(target_id)]
        new = {"id": str(target_id), "type": kind, "allow": str(allow), "deny": str(deny)}
        channel["permission_overwrites"] = [*kept, new]

    def restrict_bot(self, channel_id: int, deny: int) -> None:
        """Deny the bot some permissions (e.g. ``ATTACH_FILES | EMBED_LINKS``) in one channel."""
        self.set_overwrite(channel_id, self.bot_id, deny=deny)

    def permissions(self, channel_id: int, user_id: int) -> int:
        """A user's permissions in a channel, resolved like Discord: roles, then overwrites."""
        channel = self.channels[channel_id]
        if channel["type"] == 1:
            return DEFAULT_PERMISSIONS
        guild = self.guilds[int(channel["guild_id"])]
        member = guild["members"].get(user_id)
        role_ids = [int(r) for r in member["roles"]] if member else []
        perms = 0
        for rid in [guild["id"], *role_ids]:
            perms |= int(guild["roles"][rid]["permissions"])
        if user_id == guild["owner_id"] or perms & ADMINISTRATOR:
            return ALL_PERMISSIONS
        overwrites = {int(o["id"]): (int(o["allow"]), int(o["deny"]))
                      for o in channel["permission_overwrites"]}
        role_allow = role_deny = 0
        for rid in role_ids:
            role_allow |= overwrites.get(rid, (0, 0))[0]
            role_deny |= overwrites.get(rid, (0, 0))[1]
        for allow, deny in (overwrites.get(guild["id"], (0, 0)), (role_allow, role_deny),
                            overwrites.get(user_id, (0, 0))):
            perms = (perms & ~deny) | allow
        return perms

    def upload_limit(self, channel_id: int) -> int:
        guild_id = self.channels[channel_id].get("guild_id")
        return self.guilds[int(guild_id)]["upload_limit"] if guild_id else PREMIUM_UPLOAD_LIMITS[0]

    # ------------------------------------------------------------------ reading the state
    def channel_payload(self, channel_id: int) -> dict[str, Any]:
        return dict(self.channels[channel_id])

    def guild_payload(self, guild_id: int) -> dict[str, Any]:
        """The GUILD_CREATE shape: roles, channels, every member (bot included), not large."""
        g = self.guilds[guild_id]
        return {"id": str(guild_id), "name": g["name"], "owner_id": str(g["owner_id"]), "icon": None,
                "premium_tier": g["premium_tier"], "features": [], "roles": list(g["roles"].values()),
                "channels": [c for c in self.channels.values() if c.get("guild_id") == str(guild_id)],
                "members": list(g["members"].values()), "member_count": len(g["members"]), "large": False,
                "unavailable": False, "joined_at": g["joined_at"], "emojis": [], "stickers": [],
                "threads": [], "presences": [], "voice_states": [], "preferred_locale": "en-US"}

    def _member_payload(self, channel_id: int, user_id: int) -> dict[str, Any]:
        guild = self.guilds[int(self.channels[channel_id]["guild_id"])]
        return {**guild["members"][user_id], "permissions": str(self.permissions(channel_id, user_id))}

    def messages(self, channel_id: int) -> list[dict[str, Any]]:
        """A channel's messages as they are now, oldest first (edits applied, deletions gone)."""
        return list(self._messages[channel_id].values())

    def message(self, channel_id: int, message_id: int | str) -> dict[str, Any]:
        return self._messages[channel_id][int(message_id)]

    def attachment_bytes(self, attachment: dict[str, Any] | int | str) -> bytes:
        """The bytes behind an attachment dict (as in a message) or attachment id."""
        return self._blobs[int(attachment["id"] if isinstance(attachment, dict) else attachment)]

    def interaction_responses(self, token: str) -> list[dict[str, Any]]:
        """What the bot did with an interaction, accepted calls only, in order.

        Each is ``{"kind": "callback"|"followup"|"edit"|"delete", "type": callback type or None,
        "data": request body, "message": message snapshot or None}``.
        """
        return self._interactions[token].responses

    def expire_interaction(self, token: str) -> None:
        """Age an interaction past its token lifetime (and so its deadline) now, as if 15 min passed."""
        self._interactions[token].dispatched_at = self.clock() - self.token_lifetime - 1

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
        default_code, default_message = _DEFAULT_ERRORS.get(status, (0, str(status)))
        self._injections.append(_Injection(
            method.upper(), re.compile(path_regex), status, retry_after, times,
            default_code if code is None else code, message or default_message))

    def _injected(self, method: str, path: str) -> web.Response | None:
        matching = (i for i in self._injections if i.method in (method, "*") and i.pattern.search(path))
        inj = next(matching, None)
        if inj is None:
            return None
        inj.remaining -= 1
        if inj.remaining <= 0:
            self._injections.remove(inj)
        if inj.status != 429:
            return ApiError(inj.status, inj.code, inj.message).response()
        headers = {"Via": "1.1 google", "Retry-After": str(math.ceil(inj.retry_after)),
                   "X-RateLimit-Limit": "5", "X-RateLimit-Remaining": "0", "X-RateLimit-Scope": "user",
                   "X-RateLimit-Reset": f"{time.time() + inj.retry_after:.3f}",
                   "X-RateLimit-Reset-After": f"{inj.retry_after:.3f}", "X-RateLimit-Bucket": "fakebucket"}
        body = {"message": inj.message, "retry_after": inj.retry_after, "global": False}
        return _json(body, status=429, headers=headers)

    # ------------------------------------------------------------------ waiting
    def _record(self, kind: str, channel_id: int | None, data: dict[str, Any]) -> None:
        event = Event(kind, channel_id, dict(data))
        self.events.append(event)
        for predicate, future in list(self._waiters):
            if future.done():
                continue
            try:
                if predicate(event):
                    future.set_result(event)
            except Exception as exc:  # a broken predicate fails the test, not the server
                future.set_exception(exc)

    async def wait_for(
        self, predicate: Callable[[Event], bool], timeout: float = 5.0, *, include_past: bool = True,
    ) -> Event:
        """The first :class:`Event` that satisfies ``predicate``; earlier events count unless told not to.

        Raises ``AssertionError`` listing the recent events after ``timeout`` seconds.
        """
        if include_past:
            for event in self.events:
                if predicate(event):
                    return event
        waiter = (predicate, asyncio.get_running_loop().create_future())
        self._waiters.append(waiter)
        try:
            return await asyncio.wait_for(waiter[1], timeout)
        except TimeoutError:
            recent = "\n".join(f"  {e.kind} {e.channel_id} {str(e.data)[:160]}" for e in self.events[-8:])
            raise AssertionError(f"no matching event within {timeout}s; recent events:\n{recent}") from None
        finally:
            self._waiters.remove(waiter)

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
        await asyncio.wait_for(self._connected.wait(), timeout)

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
        atts = [self._store_attachment(channel_id, n, b, ct, declared_size) for n, b, ct in attachments]
        msg = self._new_message(channel_id, self.users[author_id], content, atts)
        if reference_message_id is not None:
            self._attach_reference(msg, channel_id, reference_message_id)
        self._messages[channel_id][int(msg["id"])] = msg
        event = dict(msg)
        if "guild_id" in msg and author_id in self.guilds[int(msg["guild_id"])]["members"]:
            member = self._member_payload(channel_id, author_id)
            event["member"] = {k: v for k, v in member.items() if k != "user"}
        await self.dispatch("MESSAGE_CREATE", event)
        return msg

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
        guild_id = self.channels[channel_id].get("guild_id")
        root, *subs = name.split()
        command = self._find_command(root, guild_id)
        declared = {o["name"]: o.get("type") for o in self._leaf_options(command, subs)}
        opts: list[dict[str, Any]] = []
        resolved: dict[str, dict[str, Any]] = {}
        for key, value in (options or {}).items():
            kind = declared.get(key) or (5 if isinstance(value, bool) else 4 if isinstance(value, int)
                                         else 10 if isinstance(value, float) else 3)
            if kind == 6:
                value = str(value)
                resolved.setdefault("users", {})[value] = self.users[int(value)]
                if guild_id:
                    resolved.setdefault("members", {})[value] = self._member_payload(channel_id, int(value))
            opts.append({"name": key, "type": kind, "value": value})
        for key, (filename, blob, ctype) in (attachments or {}).items():
            att = self._store_attachment(channel_id, filename, blob, ctype, declared_size, ephemeral=True)
            resolved.setdefault("attachments", {})[att["id"]] = att
            opts.append({"name": key, "type": 11, "value": att["id"]})
        for sub in reversed(subs):
            opts = [{"name": sub, "type": 1, "options": opts}]
        data = {"id": command["id"] if command else str(self.snowflake()), "name": root, "type": 1,
                "options": opts, "resolved": resolved}
        if command and command.get("guild_id"):
            data["guild_id"] = command["guild_id"]
        return await self._dispatch_interaction(2, channel_id, user_id, data)

    async def click_button(
        self, channel_id: int, user_id: int, message_id: int | str, custom_id: str, *,
        values: list[str] | None = None,
    ) -> dict[str, Any]:
        """A user clicks a button (or, given ``values``, picks from a select menu) on a stored message.

        Returns the INTERACTION_CREATE payload (type 3, with the message).
        """
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": 2 if values is None else 3}
        if values is not None:
            data["values"] = values
        return await self._dispatch_interaction(3, channel_id, user_id, data, int(message_id))

    async def _dispatch_interaction(
        self, kind: int, channel_id: int, user_id: int, data: dict[str, Any], message_id: int | None = None,
    ) -> dict[str, Any]:
        guild_id = self.channels[channel_id].get("guild_id")
        token = "".join(c for c in secrets.token_urlsafe(48) if c.isalnum())[:48]
        inter = _Interaction(self.snowflake(), token, kind, channel_id, user_id, self.clock(), message_id)
        payload: dict[str, Any] = {
            "id": str(inter.id), "application_id": str(self.application_id), "type": kind, "token": token,
            "version": 1, "data": data, "channel_id": str(channel_id),
            "channel": self.channel_payload(channel_id),
            "app_permissions": str(self.permissions(channel_id, self.bot_id)), "locale": "en-US",
            "attachment_size_limit": self.upload_limit(channel_id), "entitlements": [],
            "authorizing_integration_owners": {"0": guild_id} if guild_id else {"1": str(user_id)},
            "context": 0 if guild_id else 1}
        if guild_id:
            member = self._member_payload(channel_id, user_id)
            payload.update(guild_id=guild_id, guild_locale="en-US", member=member)
        else:
            payload["user"] = self.users[user_id]
        if message_id is not None:
            payload["message"] = self.message(channel_id, message_id)
        self._interactions[token] = inter
        await self.dispatch("INTERACTION_CREATE", payload)
        return payload

    # ------------------------------------------------------------------ messages
    def _store_attachment(
        self, channel_id: int, filename: str, blob: bytes, content_type: str | None,
        declared_size: int | None = None, *, ephemeral: bool = False,
    ) -> dict[str, Any]:
        att_id = self.snowflake()
        self._blobs[att_id] = blob
        url = f"http://127.0.0.1:{self.port}/attachments/{channel_id}/{att_id}/{quote(filename)}"
        if content_type in (None, "application/octet-stream"):  # discord.py uploads everything as such
            content_type = mimetypes.guess_type(filename)[0] or content_type
        size = len(blob) if declared_size is None else declared_size
        att = {"id": str(att_id), "filename": filename, "size": size, "content_type": content_type,
               "url": url, "proxy_url": url.replace("/attachments/", "/proxy/attachments/", 1),
               "ephemeral": ephemeral}
        return {**att, **(_image_size(blob) if (content_type or "").startswith("image/") else {})}

    def _new_message(
        self, channel_id: int, author: dict[str, Any], content: str = "", attachments: Sequence[dict] = (),
        *, flags: int = 0, msg_type: int = 0, interaction: _Interaction | None = None,
    ) -> dict[str, Any]:
        mentions = [self.users[int(u)] for u in _MENTION.findall(content) if int(u) in self.users]
        msg = {"id": str(self.snowflake()), "channel_id": str(channel_id), "author": author,
               "content": content, "timestamp": _iso(), "edited_timestamp": None, "tts": False,
               "mention_everyone": False, "mentions": mentions, "mention_roles": [], "embeds": [],
               "attachments": list(attachments), "components": [], "pinned": False, "type": msg_type,
               "flags": flags}
        if self.channels[channel_id].get("guild_id"):
            msg["guild_id"] = self.channels[channel_id]["guild_id"]
        if interaction is not None:  # interaction responses come from the application's webhook
            msg.update(webhook_id=str(self.application_id), application_id=str(self.application_id),
                       interaction_metadata={"id": str(interaction.id), "type": interaction.type,
                                             "user": self.users[interaction.user_id]})
        self.channels[channel_id]["last_message_id"] = msg["id"]
        return msg

    def _attach_reference(self, msg: dict[str, Any], channel_id: int, message_id: int | str) -> None:
        ref = self._messages[channel_id].get(int(message_id))
        msg["type"] = 19
        msg["message_reference"] = {"type": 0, "message_id": str(message_id), "channel_id": str(channel_id),
                                    "guild_id": msg.get("guild_id")}
        msg["referenced_message"] = ref and {k: v for k, v in ref.items() if k != "referenced_message"}

    async def _read_body(self, request: web.Request, limit: int) -> tuple[dict[str, Any], list[tuple]]:
        """JSON, or multipart ``payload_json`` + ``files[n]``; 413/40005 when the files exceed ``limit``."""
        if not request.content_type.startswith("multipart/"):
            return (await request.json() if request.can_read_body else {}), []
        form = await request.post()
        payload = json.loads(form.get("payload_json") or "{}")
        files = [(v.filename, v.file.read(), v.content_type)
                 for k, v in form.items() if k.startswith("files[")]
        if sum(len(blob) for _, blob, _ in files) > limit:
            raise ApiError(413, 40005, "Request entity too large")
        return payload, files

    def _apply(self, channel_id: int, msg: dict[str, Any], body: dict[str, Any], files: list[tuple]) -> None:
        """Apply a create/edit body to a message: content, embeds, components, flags, attachments."""
        for key in ("content", "embeds", "components", "flags"):
            if body.get(key) is not None:
                msg[key] = body[key]
        new = [self._store_attachment(channel_id, *f) for f in files]
        if body.get("attachments") is not None:  # keeps the listed old attachments (by id)
            old = {a["id"]: a for a in msg["attachments"]}
            msg["attachments"] = [old[str(a["id"])] for a in body["attachments"] if str(a["id"]) in old] + new
        else:
            msg["attachments"] = msg["attachments"] + new

    async def _save(self, channel_id: int, msg: dict[str, Any], kind: str) -> dict[str, Any]:
        """Store a message the bot created or edited, record it, and echo it on the gateway."""
        self._messages[channel_id][int(msg["id"])] = msg
        self._record(kind, channel_id, msg)
        if not msg["flags"] & EPHEMERAL:
            await self.dispatch(kind.upper(), msg)
        return msg

    async def _delete(self, channel_id: int, msg: dict[str, Any]) -> None:
        del self._messages[channel_id][int(msg["id"])]
        self._record("message_delete", channel_id, msg)
        ids = {k: msg[k] for k in ("id", "channel_id", "guild_id") if k in msg}
        await self.dispatch("MESSAGE_DELETE", ids)

    # ------------------------------------------------------------------ REST
    @web.middleware
    async def _middleware(self, request: web.Request, handler: Callable) -> web.StreamResponse:
        """Injected failures first, then bot-token auth, then the route; logs every request."""
        rel = request.path.removeprefix(API_PREFIX)
        try:
            response = self._injected(request.method, rel)
            if response is None:
                open_route = rel.startswith(("/interactions/", "/webhooks/")) or rel == request.path
                if not open_route and request.headers.get("Authorization") != f"Bot {self.token}":
                    raise ApiError(401, 0, "401: Unauthorized")
                response = await handler(request)
        except ApiError as exc:
            response = exc.response()
        except Exception:
            self.errors.append(traceback.format_exc())
            response = ApiError(400, 0, "bug in FakeDiscord, see FakeDiscord.errors").response()
        record = RequestRecord(request.method, rel, response.status, self.clock(), dict(request.query))
        self.requests.append(record)
        return response

    async def _unknown(self, request: web.Request) -> web.Response:
        rel = request.path.removeprefix(API_PREFIX)
        self.unhandled.append(RequestRecord(request.method, rel, 404, self.clock(), dict(request.query)))
        raise ApiError(404, 0, f"FakeDiscord has no route {request.method} {rel}")

    async def _me(self, request: web.Request) -> web.Response:
        return _json({**self.users[self.bot_id], "verified": True, "mfa_enabled": False, "flags": 0})

    async def _app_info(self, request: web.Request) -> web.Response:
        return _json({"id": str(self.application_id), "name": self.users[self.bot_id]["username"],
                      "icon": None, "description": "", "bot_public": True, "bot_require_code_grant": False,
                      "flags": 0, "owner": self.users[self.owner_id], "team": None, "verify_key": "0" * 64,
                      "interactions_endpoint_url": None})

    async def _gateway_info(self, request: web.Request) -> web.Response:
        limit = {"total": 1000, "remaining": 1000, "reset_after": 0, "max_concurrency": 1}
        return _json({"url": self.gateway_url, "shards": 1, "session_start_limit": limit})

    async def _get_user(self, request: web.Request) -> web.Response:
        if (user := self.users.get(int(request.match_info["user"]))) is None:
            raise ApiError(404, 10013, "Unknown User")
        return _json(user)

    async def _create_dm(self, request: web.Request) -> web.Response:
        return _json(self.channel_payload(self.dm_channel(int((await request.json())["recipient_id"]))))

    def _channel(self, request: web.Request) -> int:
        cid = int(request.match_info["channel"])
        if cid not in self.channels:
            raise ApiError(404, 10003, "Unknown Channel")
        if not self.permissions(cid, self.bot_id) & VIEW_CHANNEL:
            raise ApiError(403, 50001, "Missing Access")
        return cid

    def _stored(self, channel_id: int, message_id: str | int | None) -> dict[str, Any]:
        try:
            return self._messages[channel_id][int(message_id)]  # type: ignore[arg-type]
        except (KeyError, ValueError, TypeError):
            raise ApiError(404, 10008, "Unknown Message") from None

    async def _get_channel(self, request: web.Request) -> web.Response:
        return _json(self.channel_payload(self._channel(request)))

    async def _history(self, request: web.Request) -> web.Response:
        cid, q = self._channel(request), request.query
        before, after = int(q.get("before", 1 << 63)), int(q.get("after", 0))
        found = [m for mid, m in self._messages[cid].items() if after < mid < before]
        return _json(found[::-1][: int(q.get("limit", 50))])

    async def _typing(self, request: web.Request) -> web.Response:
        self._channel(request)
        return web.Response(status=204)

    async def _get_message(self, request: web.Request) -> web.Response:
        return _json(self._stored(self._channel(request), request.match_info["message"]))

    async def _post_message(self, request: web.Request) -> web.Response:
        cid = self._channel(request)
        perms = self.permissions(cid, self.bot_id)
        if not perms & SEND_MESSAGES:
            raise ApiError(403, 50013, "Missing Permissions")
        body, files = await self._read_body(request, self.upload_limit(cid))
        replying = bool(body.get("message_reference"))
        if files and not perms & ATTACH_FILES or replying and not perms & READ_MESSAGE_HISTORY:
            raise ApiError(403, 50013, "Missing Permissions")
        if not (body.get("content") or body.get("embeds") or files or body.get("components")):
            raise ApiError(400, 50006, "Cannot send an empty message")
        if len(body.get("content") or "") > 2000:
            raise ApiError(400, 50035, "Invalid Form Body (content: Must be 2000 or fewer in length.)")
        if not perms & EMBED_LINKS:
            body["embeds"] = []  # Discord drops embeds silently; the message still goes out
        msg = self._new_message(cid, self.users[self.bot_id])
        self._apply(cid, msg, body, files)
        if body.get("message_reference"):
            self._attach_reference(msg, cid, body["message_reference"]["message_id"])
        return _json(await self._save(cid, msg, "message_create"))

    async def _edit_message(self, request: web.Request) -> web.Response:
        cid = self._channel(request)
        msg = self._stored(cid, request.match_info["message"])
        if msg["author"]["id"] != str(self.bot_id):
            raise ApiError(403, 50005, "Cannot edit a message authored by another user")
        body, files = await self._read_body(request, self.upload_limit(cid))
        self._apply(cid, msg, body, files)
        msg["edited_timestamp"] = _iso()
        return _json(await self._save(cid, msg, "message_update"))

    async def _delete_message(self, request: web.Request) -> web.Response:
        cid = self._channel(request)
        msg = self._stored(cid, request.match_info["message"])
        mine = msg["author"]["id"] == str(self.bot_id)
        if not mine and not self.permissions(cid, self.bot_id) & MANAGE_MESSAGES:
            raise ApiError(403, 50013, "Missing Permissions")
        await self._delete(cid, msg)
        return web.Response(status=204)

    async def _reaction(self, request: web.Request) -> web.Response:
        cid = self._channel(request)
        self._record("reaction", cid, {"method": request.method, "message_id": request.match_info["message"],
                                       "path": request.match_info["tail"]})
        return web.Response(status=204)

    async def _get_guild(self, request: web.Request) -> web.Response:
        if (gid := int(request.match_info["guild"])) not in self.guilds:
            raise ApiError(404, 10004, "Unknown Guild")
        return _json({k: v for k, v in self.guild_payload(gid).items() if k not in ("channels", "members")})

    async def _get_member(self, request: web.Request) -> web.Response:
        guild = self.guilds.get(int(request.match_info["guild"]), {"members": {}})
        if (member := guild["members"].get(int(request.match_info["user"]))) is None:
            raise ApiError(404, 10007, "Unknown Member")
        return _json(member)

    async def _download(self, request: web.Request) -> web.StreamResponse:
        if (att_id := int(request.match_info["att"])) not in self._blobs:
            raise ApiError(404, 0, "404: Not Found")
        self.downloads.append(att_id)
        ctype = mimetypes.guess_type(request.match_info["name"])[0] or "application/octet-stream"
        return web.Response(body=self._blobs[att_id], content_type=ctype)

    # ------------------------------------------------------------------ application commands
    def _find_command(self, name: str, guild_id: str | None) -> dict[str, Any] | None:
        for scope in ([int(guild_id)] if guild_id else []) + [None]:
            if cmd := next((c for c in self.commands.get(scope, []) if c["name"] == name), None):
                return cmd
        return None

    @staticmethod
    def _leaf_options(command: dict[str, Any] | None, subs: list[str]) -> list[dict[str, Any]]:
        options = (command or {}).get("options", [])
        for sub in subs:
            options = next((o.get("options", []) for o in options if o["name"] == sub), [])
        return options

    def _scope(self, request: web.Request) -> int | None:
        return int(request.match_info["guild"]) if "guild" in request.match_info else None

    async def _get_commands(self, request: web.Request) -> web.Response:
        return _json(self.commands.get(self._scope(request), []))

    def _command(self, scope: int | None, body: dict[str, Any]) -> dict[str, Any]:
        """A command as Discord echoes it: with ids (kept for a name that existed before)."""
        old = next((c["id"] for c in self.commands.get(scope, []) if c["name"] == body["name"]), None)
        return {"type": 1, "description": "", "options": [], "default_member_permissions": None, **body,
                "id": old or str(self.snowflake()), "application_id": str(self.application_id),
                "version": str(self.snowflake()), **({"guild_id": str(scope)} if scope else {})}

    async def _put_commands(self, request: web.Request) -> web.Response:
        """Bulk overwrite, what ``tree.sync()`` sends."""
        scope = self._scope(request)
        self.commands[scope] = [self._command(scope, body) for body in await request.json()]
        self._record("commands_sync", None, {"guild_id": scope, "commands": self.commands[scope]})
        return _json(self.commands[scope])

    async def _post_command(self, request: web.Request) -> web.Response:
        scope, body = self._scope(request), await request.json()
        command = self._command(scope, body)
        others = [c for c in self.commands.get(scope, []) if c["name"] != body["name"]]
        self.commands[scope] = [*others, command]
        return _json(command, status=201)

    # ------------------------------------------------------------------ interactions
    async def _callback(self, request: web.Request) -> web.Response:
        """The initial response: 40060 if already acknowledged, 10062 once past the deadline."""
        inter = self._interactions.get(request.match_info["token"])
        if inter is None or str(inter.id) != request.match_info["id"]:
            raise ApiError(404, 10062, "Unknown interaction")
        if inter.ack_type is not None:
            raise ApiError(400, 40060, "Interaction has already been acknowledged.")
        if self.clock() - inter.dispatched_at > self.interaction_deadline:
            raise ApiError(404, 10062, "Unknown interaction")
        body, files = await self._read_body(request, self.upload_limit(inter.channel_id))
        kind, data = body["type"], body.get("data") or {}
        inter.ack_type, cid, message = kind, inter.channel_id, None
        if kind in (4, 5):  # a message, or a deferred "thinking" one
            origin = 20 if inter.type == 2 else 0
            message = self._new_message(cid, self.users[self.bot_id], msg_type=origin, interaction=inter)
            self._apply(cid, message, data, files)
            if kind == 5:
                message["flags"] |= LOADING
                inter.loading = True
            inter.original_id = int(message["id"])
            await self._save(cid, message, "message_create")
        elif kind in (6, 7):  # (deferred) update of the clicked message
            inter.original_id = inter.message_id
            if kind == 7:
                message = self._stored(cid, inter.message_id)
                self._apply(cid, message, data, files)
                message["edited_timestamp"] = _iso()
                await self._save(cid, message, "message_update")
        snapshot = message and dict(message)
        inter.responses.append({"kind": "callback", "type": kind, "data": data, "message": snapshot})
        self._record("interaction_callback", cid, {"token": inter.token, "type": kind, "data": data})
        if request.query.get("with_response") not in ("true", "1"):
            return web.Response(status=204)
        flags = (message or data).get("flags") or 0
        info = {"id": str(inter.id), "type": inter.type, "response_message_loading": kind == 5,
                "response_message_ephemeral": bool(flags & EPHEMERAL)}
        resource: dict[str, Any] = {"type": kind}
        if message is not None:
            info["response_message_id"], resource["message"] = message["id"], message
        return _json({"interaction": info, "resource": resource})

    def _webhook_interaction(self, request: web.Request) -> _Interaction:
        """The interaction behind a followup URL: 50027 once its token is past its lifetime."""
        inter = self._interactions.get(request.match_info["token"])
        if inter is None or request.match_info["app"] != str(self.application_id):
            raise ApiError(404, 10015, "Unknown Webhook")
        if self.clock() - inter.dispatched_at > self.token_lifetime:
            raise ApiError(401, 50027, "Invalid Webhook Token")
        if inter.ack_type is None:  # there is no webhook before the initial response
            raise ApiError(404, 10015, "Unknown Webhook")
        return inter

    async def _followup(self, request: web.Request) -> web.Response:
        inter = self._webhook_interaction(request)
        cid = inter.channel_id
        body, files = await self._read_body(request, self.upload_limit(cid))
        if inter.loading:  # the first followup after a thinking defer fills in the loading message
            inter.loading = False
            message = self._stored(cid, inter.original_id)
            ephemeral = message["flags"] & EPHEMERAL  # decided by the defer, not the followup
            self._apply(cid, message, body, files)
            message["flags"] = (message["flags"] & ~(LOADING | EPHEMERAL)) | ephemeral
            await self._save(cid, message, "message_update")
        else:
            message = self._new_message(cid, self.users[self.bot_id], interaction=inter)
            self._apply(cid, message, body, files)
            await self._save(cid, message, "message_create")
        inter.responses.append({"kind": "followup", "type": None, "data": body, "message": dict(message)})
        return _json(message) if request.query.get("wait") in ("true", "1") else web.Response(status=204)

    async def _webhook_message(self, request: web.Request) -> web.Response:
        """GET/PATCH/DELETE ``@original`` or a followup message."""
        inter = self._webhook_interaction(request)
        ref, cid = request.match_info["message"], inter.channel_id
        message = self._stored(cid, inter.original_id if ref in ("@original", "%40original") else ref)
        if request.method == "GET":
            return _json(message)
        if request.method == "DELETE":
            await self._delete(cid, message)
            inter.responses.append({"kind": "delete", "type": None, "data": {}, "message": dict(message)})
            return web.Response(status=204)
        body, files = await self._read_body(request, self.upload_limit(cid))
        if int(message["id"]) == inter.original_id:
            inter.loading = False
            message["flags"] &= ~LOADING
        self._apply(cid, message, body, files)
        message["edited_timestamp"] = _iso()
        await self._save(cid, message, "message_update")
        inter.responses.append({"kind": "edit", "type": None, "data": body, "message": dict(message)})
        return _json(message)

    # ------------------------------------------------------------------ gateway
    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        """Send a DISPATCH (op 0) to every session; kept for replay if its socket is down."""
        for session in list(self._sessions.values()):
            if session.valid:
                await self._dispatch_to(session, event, self._visible(session, event, data))

    async def _dispatch_to(self, session: _Session, event: str, data: dict[str, Any]) -> None:
        session.seq += 1
        frame = {"op": 0, "t": event, "s": session.seq, "d": data}
        session.history.append(frame)
        await self._send(session, frame)

    def _visible(self, session: _Session, event: str, msg: dict[str, Any]) -> dict[str, Any]:
        """Without the MESSAGE_CONTENT intent, guild messages arrive empty (unless by or to the bot)."""
        if (event not in ("MESSAGE_CREATE", "MESSAGE_UPDATE") or session.intents & MESSAGE_CONTENT_INTENT
                or "guild_id" not in msg or msg["author"]["id"] == str(self.bot_id)
                or any(u["id"] == str(self.bot_id) for u in msg.get("mentions", []))):
            return msg
        return {**msg, "content": "", "embeds": [], "attachments": [], "components": []}

    async def _send(self, session: _Session, frame: dict[str, Any]) -> None:
        if session.ws is None or session.ws.closed:
            return
        async with session.lock:  # aiohttp websockets do not allow concurrent sends
            with contextlib.suppress(ConnectionError):
                await session.ws.send_str(json.dumps(frame))

    async def disconnect_gateway(self, *, resumable: bool = True, code: int = 4000) -> None:
        """Drop every gateway socket. discord.py then RESUMEs (missed events are replayed), or,
        when not ``resumable``, is told its session is invalid and IDENTIFYs again after the 5 s
        wait in ``Client.before_identify_hook``."""
        self._connected.clear()
        for session in self._sessions.values():
            session.valid = session.valid and resumable
            if session.ws is not None and not session.ws.closed:
                await session.ws.close(code=code)

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)  # compression is ignored: TEXT frames are never decompressed
        await ws.send_str(json.dumps({"op": 10, "d": {"heartbeat_interval": self.heartbeat_interval_ms}}))
        session: _Session | None = None
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            frame = json.loads(msg.data)
            op, d = frame.get("op"), frame.get("d")
            if op == 1:
                await ws.send_str(json.dumps({"op": 11}))
            elif op == 2:
                session = await self._identify(ws, d)
            elif op == 6:
                session = await self._resume(ws, d)
            elif op == 8 and session is not None:
                await self._member_chunk(session, d)
        if session is not None and session.ws is ws:
            session.ws = None
        return ws

    async def _identify(self, ws: web.WebSocketResponse, d: dict[str, Any]) -> _Session | None:
        """READY (guilds as unavailable stubs), then a GUILD_CREATE per guild."""
        if d.get("token") != self.token:
            await ws.close(code=4004, message=b"Authentication failed.")
            return None
        session = _Session(secrets.token_hex(16), int(d.get("intents", 0)), ws)
        self._sessions[session.id] = session
        self.identifies += 1
        await self._dispatch_to(session, "READY", {
            "v": 10, "user": {**self.users[self.bot_id], "verified": True, "mfa_enabled": False, "flags": 0},
            "guilds": [{"id": str(g), "unavailable": True} for g in self.guilds], "session_id": session.id,
            "resume_gateway_url": self.gateway_url, "private_channels": [], "relationships": [],
            "application": {"id": str(self.application_id), "flags": 0}, "shard": d.get("shard", [0, 1])})
        for gid in self.guilds:
            await self._dispatch_to(session, "GUILD_CREATE", self.guild_payload(gid))
        self._connected.set()
        return session

    async def _resume(self, ws: web.WebSocketResponse, d: dict[str, Any]) -> _Session | None:
        session = self._sessions.get(d.get("session_id", ""))
        if session is None or not session.valid or d.get("token") != self.token:
            await ws.send_str(json.dumps({"op": 9, "d": False}))
            return None
        session.ws = ws
        self.resumes += 1
        for frame in session.history:
            if frame["s"] > (d.get("seq") or 0):
                await self._send(session, frame)
        await self._dispatch_to(session, "RESUMED", {})
        self._connected.set()
        return session

    async def _member_chunk(self, session: _Session, d: dict[str, Any]) -> None:
        guild = self.guilds[int(d["guild_id"])]
        wanted, query = {int(u) for u in d.get("user_ids") or []}, (d.get("query") or "").lower()
        members = [m for uid, m in guild["members"].items()
                   if (not wanted or uid in wanted) and m["user"]["username"].lower().startswith(query)]
        await self._dispatch_to(session, "GUILD_MEMBERS_CHUNK", {
            "guild_id": str(guild["id"]), "members": members[: d.get("limit") or None], "chunk_index": 0,
            "chunk_count": 1, "nonce": d.get("nonce"), "not_found": []})


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

"""The REST routes a bot uses: users, channels, messages, guilds, members, application commands.

Each route checks what Discord checks (the bot's channel permissions, message rules) and answers
in Discord's shapes; interaction callbacks and webhooks live in :mod:`.interactions`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from tests.support.fakediscord.wire import ApiError, Handler, json_response, read_body
from tests.support.fakediscord.world import (
    ATTACH_FILES,
    EMBED_LINKS,
    MANAGE_MESSAGES,
    PIN_MESSAGES,
    READ_MESSAGE_HISTORY,
    SEND_MESSAGES,
    VIEW_CHANNEL,
    iso_now,
)

if TYPE_CHECKING:
    from tests.support.fakediscord.server import FakeDiscord

class Rest:
    """The REST handlers of ``fake``, by route."""

    def __init__(self, fake: FakeDiscord) -> None:
        self.fake = fake

    def routes(self) -> list[tuple[str, str, Handler]]:
        """``(method, path relative to /api/v10, handler)`` for every route here."""
        return [
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
            ("PUT", "/channels/{channel}/messages/pins/{message}", self._pin),
            ("DELETE", "/channels/{channel}/messages/pins/{message}", self._pin),
            ("GET", "/guilds/{guild}", self._get_guild),
            ("GET", "/guilds/{guild}/members/{user}", self._get_member),
            ("GET", "/applications/{app}/commands", self._get_commands),
            ("PUT", "/applications/{app}/commands", self._put_commands),
            ("POST", "/applications/{app}/commands", self._post_command),
            ("GET", "/applications/{app}/guilds/{guild}/commands", self._get_commands),
            ("PUT", "/applications/{app}/guilds/{guild}/commands", self._put_commands),
            ("POST", "/applications/{app}/guilds/{guild}/commands", self._post_command),
        ]

    # ------------------------------------------------------------------ users, application, gateway
    async def _me(self, request: web.Request) -> web.Response:
        fake = self.fake
        return json_response({**fake.users[fake.bot_id], "verified": True, "mfa_enabled": False, "flags": 0})

    async def _app_info(self, request: web.Request) -> web.Response:
        fake = self.fake
        return json_response({
            "id": str(fake.application_id), "name": fake.users[fake.bot_id]["username"],
            "icon": None, "description": "", "bot_public": True, "bot_require_code_grant": False,
            "flags": 0, "owner": fake.users[fake.owner_id], "team": None, "verify_key": "0" * 64,
            "interactions_endpoint_url": None})

    async def _gateway_info(self, request: web.Request) -> web.Response:
        limit = {"total": 1000, "remaining": 1000, "reset_after": 0, "max_concurrency": 1}
        return json_response({"url": self.fake.gateway_url, "shards": 1, "session_start_limit": limit})

    async def _get_user(self, request: web.Request) -> web.Response:
        if (user := self.fake.users.get(int(request.match_info["user"]))) is None:
            raise ApiError(404, 10013, "Unknown User")
        return json_response(user)

    async def _create_dm(self, request: web.Request) -> web.Response:
        recipient = int((await request.json())["recipient_id"])
        return json_response(self.fake.channel_payload(self.fake.dm_channel(recipient)))

    # ------------------------------------------------------------------ channels and messages
    def _channel(self, request: web.Request) -> int:
        """The channel in the path: 404/10003 if unknown, 403/50001 if the bot cannot see it."""
        cid = int(request.match_info["channel"])
        if cid not in self.fake.channels:
            raise ApiError(404, 10003, "Unknown Channel")
        if not self.fake.permissions(cid, self.fake.bot_id) & VIEW_CHANNEL:
            raise ApiError(403, 50001, "Missing Access")
        return cid

    async def _get_channel(self, request: web.Request) -> web.Response:
        return json_response(self.fake.channel_payload(self._channel(request)))

    async def _history(self, request: web.Request) -> web.Response:
        cid, q = self._channel(request), request.query
        before, after = int(q.get("before", 1 << 63)), int(q.get("after", 0))
        found = [m for m in self.fake.messages(cid) if after < int(m["id"]) < before]
        return json_response(found[::-1][: int(q.get("limit", 50))])

    async def _typing(self, request: web.Request) -> web.Response:
        self._channel(request)
        return web.Response(status=204)

    async def _get_message(self, request: web.Request) -> web.Response:
        return json_response(self.fake.mail.stored(self._channel(request), request.match_info["message"]))

    async def _post_message(self, request: web.Request) -> web.Response:
        """A bot message: SEND_MESSAGES, plus ATTACH_FILES for files, READ_MESSAGE_HISTORY to reply."""
        fake, cid = self.fake, self._channel(request)
        perms = fake.permissions(cid, fake.bot_id)
        if not perms & SEND_MESSAGES:
            raise ApiError(403, 50013, "Missing Permissions")
        body, files = await read_body(request, fake.upload_limit(cid))
        replying = bool(body.get("message_reference"))
        if files and not perms & ATTACH_FILES or replying and not perms & READ_MESSAGE_HISTORY:
            raise ApiError(403, 50013, "Missing Permissions")
        if not (body.get("content") or body.get("embeds") or files or body.get("components")):
            raise ApiError(400, 50006, "Cannot send an empty message")
        if len(body.get("content") or "") > 2000:
            raise ApiError(400, 50035, "Invalid Form Body (content: Must be 2000 or fewer in length.)")
        if not perms & EMBED_LINKS:
            body["embeds"] = []  # Discord drops embeds silently; the message still goes out
        msg = fake.new_message(cid, fake.users[fake.bot_id])
        fake.mail.apply(cid, msg, body, files)
        if body.get("message_reference"):
            fake.attach_reference(msg, cid, body["message_reference"]["message_id"])
        return json_response(await fake.mail.save(cid, msg, "message_create"))

    async def _edit_message(self, request: web.Request) -> web.Response:
        fake, cid = self.fake, self._channel(request)
        msg = fake.mail.stored(cid, request.match_info["message"])
        if msg["author"]["id"] != str(fake.bot_id):
            raise ApiError(403, 50005, "Cannot edit a message authored by another user")
        body, files = await read_body(request, fake.upload_limit(cid))
        fake.mail.apply(cid, msg, body, files)
        msg["edited_timestamp"] = iso_now()
        return json_response(await fake.mail.save(cid, msg, "message_update"))

    async def _delete_message(self, request: web.Request) -> web.Response:
        fake, cid = self.fake, self._channel(request)
        msg = fake.mail.stored(cid, request.match_info["message"])
        mine = msg["author"]["id"] == str(fake.bot_id)
        if not mine and not fake.permissions(cid, fake.bot_id) & MANAGE_MESSAGES:
            raise ApiError(403, 50013, "Missing Permissions")
        await fake.mail.delete(cid, msg)
        return web.Response(status=204)

    async def _reaction(self, request: web.Request) -> web.Response:
        cid = self._channel(request)
        self.fake.recorder.record("reaction", cid, {"method": request.method,
                                                    "message_id": request.match_info["message"],
                                                    "path": request.match_info["tail"]})
        return web.Response(status=204)

    async def _pin(self, request: web.Request) -> web.Response:
        """Pin (PUT) or unpin (DELETE) a message: Pin Messages or Manage Messages."""
        fake, cid = self.fake, self._channel(request)
        if not fake.permissions(cid, fake.bot_id) & (PIN_MESSAGES | MANAGE_MESSAGES):
            raise ApiError(403, 50013, "Missing Permissions")
        msg = fake.mail.stored(cid, request.match_info["message"])
        msg["pinned"] = request.method == "PUT"
        fake.recorder.record("pin" if msg["pinned"] else "unpin", cid, {"message_id": msg["id"]})
        return web.Response(status=204)

    # ------------------------------------------------------------------ guilds and members
    async def _get_guild(self, request: web.Request) -> web.Response:
        if (gid := int(request.match_info["guild"])) not in self.fake.guilds:
            raise ApiError(404, 10004, "Unknown Guild")
        payload = self.fake.guild_payload(gid)
        return json_response({k: v for k, v in payload.items() if k not in ("channels", "members")})

    async def _get_member(self, request: web.Request) -> web.Response:
        guild = self.fake.guilds.get(int(request.match_info["guild"]), {"members": {}})
        if (member := guild["members"].get(int(request.match_info["user"]))) is None:
            raise ApiError(404, 10007, "Unknown Member")
        return json_response(member)

    # ------------------------------------------------------------------ application commands
    def _scope(self, request: web.Request) -> int | None:
        return int(request.match_info["guild"]) if "guild" in request.match_info else None

    def _command(self, scope: int | None, body: dict[str, Any]) -> dict[str, Any]:
        """A command as Discord echoes it: with ids (kept for a name that existed before)."""
        fake = self.fake
        old = next((c["id"] for c in fake.commands.get(scope, []) if c["name"] == body["name"]), None)
        return {"type": 1, "description": "", "options": [], "default_member_permissions": None, **body,
                "id": old or str(fake.snowflake()), "application_id": str(fake.application_id),
                "version": str(fake.snowflake()), **({"guild_id": str(scope)} if scope else {})}

    async def _get_commands(self, request: web.Request) -> web.Response:
        return json_response(self.fake.commands.get(self._scope(request), []))

    async def _put_commands(self, request: web.Request) -> web.Response:
        """Bulk overwrite, what ``tree.sync()`` sends."""
        fake, scope = self.fake, self._scope(request)
        fake.commands[scope] = [self._command(scope, body) for body in await request.json()]
        fake.recorder.record("commands_sync", None, {"guild_id": scope, "commands": fake.commands[scope]})
        return json_response(fake.commands[scope])

    async def _post_command(self, request: web.Request) -> web.Response:
        fake, scope, body = self.fake, self._scope(request), await request.json()
        command = self._command(scope, body)
        others = [c for c in fake.commands.get(scope, []) if c["name"] != body["name"]]
        fake.commands[scope] = [*others, command]
        return json_response(command, status=201)

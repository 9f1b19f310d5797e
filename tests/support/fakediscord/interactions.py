"""Interactions: slash commands, autocomplete, component clicks, their callback, followups and webhooks.

Discord's rules for them are enforced here: one initial response (40060), within the deadline
(3 s, 10062), and webhook calls only while the token lives (15 min, 50027). An autocomplete
interaction (type 4) takes only an autocomplete result (callback type 8: at most 25 choices,
names of 1 to 100 characters), and no other interaction takes one.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

from tests.support.fakediscord.wire import ApiError, Handler, json_response, read_body
from tests.support.fakediscord.world import EPHEMERAL, LOADING, iso_now

if TYPE_CHECKING:
    from tests.support.fakediscord.server import FakeDiscord


@dataclass
class Interaction:
    """One interaction sent to the bot, and what it has done with it so far."""

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


def _leaf_options(command: dict[str, Any] | None, subs: list[str]) -> list[dict[str, Any]]:
    """The options declared for a (sub)command, ``[]`` when it is not synced."""
    options = (command or {}).get("options", [])
    for sub in subs:
        options = next((o.get("options", []) for o in options if o["name"] == sub), [])
    return options


def _check_callback_type(interaction_type: int, kind: int, data: dict[str, Any]) -> None:
    """Autocomplete (type 4) is answered with choices (callback 8) only, and choices answer nothing else."""
    if (interaction_type == 4) != (kind == 8):
        raise ApiError(400, 50035, f"Invalid Form Body (type: callback type {kind} is not valid for "
                                   f"interaction type {interaction_type})")
    if kind == 8:
        choices = data.get("choices")
        if not isinstance(choices, list) or len(choices) > 25:
            raise ApiError(400, 50035, "Invalid Form Body (data.choices: Must be 25 or fewer in length.)")
        if any(not 1 <= len(str(c.get("name", ""))) <= 100 or "value" not in c for c in choices):
            raise ApiError(400, 50035, "Invalid Form Body (data.choices: each needs a name of 1-100 "
                                       "characters and a value)")


class Interactions:
    """The interactions ``fake`` has dispatched, by token, and the routes the bot answers them on."""

    def __init__(self, fake: FakeDiscord) -> None:
        self.fake = fake
        self.by_token: dict[str, Interaction] = {}

    def routes(self) -> list[tuple[str, str, Handler]]:
        """``(method, path relative to /api/v10, handler)``; these need no bot token, as on Discord."""
        return [("POST", "/interactions/{id}/{token}/callback", self._callback),
                ("POST", "/webhooks/{app}/{token}", self._followup),
                ("*", "/webhooks/{app}/{token}/messages/{message}", self._webhook_message)]

    # ------------------------------------------------------------------ dispatching
    async def send_slash(
        self, channel_id: int, user_id: int, name: str, options: dict[str, Any] | None,
        attachments: dict[str, tuple[str, bytes, str]] | None, declared_size: int | None,
    ) -> dict[str, Any]:
        """A user runs ``/name``; see :meth:`FakeDiscord.send_slash`."""
        data = self._command_data(channel_id, name, options, attachments, declared_size)
        return await self.dispatch(2, channel_id, user_id, data)

    async def send_autocomplete(
        self, channel_id: int, user_id: int, name: str, options: dict[str, Any], focused: str,
    ) -> dict[str, Any]:
        """A user types into option ``focused`` of ``/name``; see :meth:`FakeDiscord.send_autocomplete`."""
        data = self._command_data(channel_id, name, options, None, None)
        leaf = data["options"]
        while leaf and leaf[0].get("type") in (1, 2):  # down to the subcommand's own options
            leaf = leaf[0]["options"]
        for option in leaf:
            if option["name"] == focused:
                option["focused"] = True
        return await self.dispatch(4, channel_id, user_id, data)

    def _command_data(
        self, channel_id: int, name: str, options: dict[str, Any] | None,
        attachments: dict[str, tuple[str, bytes, str]] | None, declared_size: int | None,
    ) -> dict[str, Any]:
        """The ``data`` of a command interaction: options typed as the synced command declares them."""
        fake = self.fake
        guild_id = fake.channels[channel_id].get("guild_id")
        root, *subs = name.split()
        command = fake.find_command(root, guild_id)
        declared = {o["name"]: o.get("type") for o in _leaf_options(command, subs)}
        opts: list[dict[str, Any]] = []
        resolved: dict[str, dict[str, Any]] = {}
        for key, value in (options or {}).items():
            kind = declared.get(key) or (5 if isinstance(value, bool) else 4 if isinstance(value, int)
                                         else 10 if isinstance(value, float) else 3)
            if kind == 6:
                value = str(value)
                resolved.setdefault("users", {})[value] = fake.users[int(value)]
                if guild_id:
                    resolved.setdefault("members", {})[value] = fake.member_payload(channel_id, int(value))
            opts.append({"name": key, "type": kind, "value": value})
        for key, (filename, blob, ctype) in (attachments or {}).items():
            att = fake.cdn.store(channel_id, filename, blob, ctype, declared_size, ephemeral=True)
            resolved.setdefault("attachments", {})[att["id"]] = att
            opts.append({"name": key, "type": 11, "value": att["id"]})
        for sub in reversed(subs):
            opts = [{"name": sub, "type": 1, "options": opts}]
        data = {"id": command["id"] if command else str(fake.snowflake()), "name": root, "type": 1,
                "options": opts, "resolved": resolved}
        if command and command.get("guild_id"):
            data["guild_id"] = command["guild_id"]
        return data

    async def send_context_menu(
        self, channel_id: int, user_id: int, name: str, target_id: int | str, kind: int,
    ) -> dict[str, Any]:
        """A user picks ``name`` from the Apps menu of a message (``kind`` 3) or a member (2); see FakeDiscord."""
        fake = self.fake
        guild_id = fake.channels[channel_id].get("guild_id")
        command = fake.find_command(name, guild_id, kind)
        target = str(target_id)
        if kind == 3:
            resolved: dict[str, Any] = {"messages": {target: fake.message(channel_id, target_id)}}
        else:
            resolved = {"users": {target: fake.users[int(target_id)]}}
            if guild_id and int(target_id) in fake.guilds[int(guild_id)]["members"]:
                member = fake.member_payload(channel_id, int(target_id))
                resolved["members"] = {target: {k: v for k, v in member.items() if k != "user"}}
        data = {"id": command["id"] if command else str(fake.snowflake()), "name": name, "type": kind,
                "target_id": target, "resolved": resolved}
        return await self.dispatch(2, channel_id, user_id, data)

    async def submit_modal(
        self, channel_id: int, user_id: int, custom_id: str, values: dict[str, str], message_id: int | None,
    ) -> dict[str, Any]:
        """A user submits a modal: each text input (by custom_id) with its value, inside a Label (type 18)."""
        components = [{"type": 18, "id": i + 1, "component": {"type": 4, "id": i + 100, "custom_id": key,
                                                               "value": value}}
                      for i, (key, value) in enumerate(values.items())]
        return await self.dispatch(5, channel_id, user_id, {"custom_id": custom_id, "components": components},
                                   message_id)

    async def click(
        self, channel_id: int, user_id: int, message_id: int | str, custom_id: str, values: list[str] | None,
    ) -> dict[str, Any]:
        """A user clicks a component; see :meth:`FakeDiscord.click_button`."""
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": 2 if values is None else 3}
        if values is not None:
            data["values"] = values
        return await self.dispatch(3, channel_id, user_id, data, int(message_id))

    async def dispatch(
        self, kind: int, channel_id: int, user_id: int, data: dict[str, Any], message_id: int | None = None,
    ) -> dict[str, Any]:
        """Send INTERACTION_CREATE of this type (2 command, 3 component, 4 autocomplete, 5 modal submit).

        Returns the payload. In a server the bot is not in, or a DM, the app is authorised by the
        user's own install (``authorizing_integration_owners`` ``{"1": user}``), as Discord sends it.
        """
        fake = self.fake
        guild_id = fake.channels[channel_id].get("guild_id")
        token = "".join(c for c in secrets.token_urlsafe(48) if c.isalnum())[:48]
        inter = Interaction(fake.snowflake(), token, kind, channel_id, user_id, fake.clock(), message_id)
        payload: dict[str, Any] = {
            "id": str(inter.id), "application_id": str(fake.application_id), "type": kind, "token": token,
            "version": 1, "data": data, "channel_id": str(channel_id),
            "channel": fake.channel_payload(channel_id),
            "app_permissions": str(fake.permissions(channel_id, fake.bot_id)),
            "locale": fake.user_locales.get(user_id, "en-US"),
            "attachment_size_limit": fake.upload_limit(channel_id), "entitlements": [],
            "authorizing_integration_owners": ({"0": guild_id} if guild_id and fake.bot_id in
                                               fake.guilds[int(guild_id)]["members"] else {"1": str(user_id)}),
            "context": 0 if guild_id else 1}
        if guild_id:
            member = fake.member_payload(channel_id, user_id)
            payload.update(guild_id=guild_id, guild_locale=fake.guilds[int(guild_id)].get("preferred_locale", "en-US"),
                           member=member)
        else:
            payload["user"] = fake.users[user_id]
        if message_id is not None:
            payload["message"] = fake.message(channel_id, message_id)
        if kind == 5 and message_id is None:
            payload.pop("message", None)
        self.by_token[token] = inter
        await fake.dispatch("INTERACTION_CREATE", payload)
        return payload

    # ------------------------------------------------------------------ the initial response
    async def _callback(self, request: web.Request) -> web.Response:
        """The initial response: 40060 if already acknowledged, 10062 once past the deadline."""
        fake = self.fake
        inter = self.by_token.get(request.match_info["token"])
        if inter is None or str(inter.id) != request.match_info["id"]:
            raise ApiError(404, 10062, "Unknown interaction")
        if inter.ack_type is not None:
            raise ApiError(400, 40060, "Interaction has already been acknowledged.")
        if fake.clock() - inter.dispatched_at > fake.interaction_deadline:
            raise ApiError(404, 10062, "Unknown interaction")
        body, files = await read_body(request, fake.upload_limit(inter.channel_id))
        kind, data = body["type"], body.get("data") or {}
        _check_callback_type(inter.type, kind, data)
        inter.ack_type = kind
        message = await self._respond(inter, kind, data, files)
        snapshot = message and dict(message)
        inter.responses.append({"kind": "callback", "type": kind, "data": data, "message": snapshot})
        fake.recorder.record("interaction_callback", inter.channel_id,
                             {"token": inter.token, "type": kind, "data": data})
        if request.query.get("with_response") not in ("true", "1"):
            return web.Response(status=204)
        flags = (message or data).get("flags") or 0
        info = {"id": str(inter.id), "type": inter.type, "response_message_loading": kind == 5,
                "response_message_ephemeral": bool(flags & EPHEMERAL)}
        resource: dict[str, Any] = {"type": kind}
        if message is not None:
            info["response_message_id"], resource["message"] = message["id"], message
        return json_response({"interaction": info, "resource": resource})

    async def _respond(
        self, inter: Interaction, kind: int, data: dict[str, Any], files: list[tuple],
    ) -> dict[str, Any] | None:
        """Carry out callback ``kind``; returns the message it created or updated, if any."""
        fake, cid, message = self.fake, inter.channel_id, None
        if kind in (4, 5):  # a message, or a deferred "thinking" one
            origin = 20 if inter.type == 2 else 0
            message = fake.new_message(cid, fake.users[fake.bot_id], msg_type=origin, interaction=inter)
            fake.mail.apply(cid, message, data, files)
            if kind == 5:
                message["flags"] |= LOADING
                inter.loading = True
            inter.original_id = int(message["id"])
            await fake.mail.save(cid, message, "message_create")
        elif kind in (6, 7):  # (deferred) update of the clicked message
            inter.original_id = inter.message_id
            if kind == 7:
                message = fake.mail.stored(cid, inter.message_id)
                fake.mail.apply(cid, message, data, files)
                message["edited_timestamp"] = iso_now()
                await fake.mail.save(cid, message, "message_update")
        return message

    # ------------------------------------------------------------------ webhooks: followups and edits
    def _webhook_interaction(self, request: web.Request) -> Interaction:
        """The interaction behind a followup URL: 50027 once its token is past its lifetime."""
        fake = self.fake
        inter = self.by_token.get(request.match_info["token"])
        if inter is None or request.match_info["app"] != str(fake.application_id):
            raise ApiError(404, 10015, "Unknown Webhook")
        if fake.clock() - inter.dispatched_at > fake.token_lifetime:
            raise ApiError(401, 50027, "Invalid Webhook Token")
        if inter.ack_type is None:  # there is no webhook before the initial response
            raise ApiError(404, 10015, "Unknown Webhook")
        return inter

    async def _followup(self, request: web.Request) -> web.Response:
        """A followup message; the first after a thinking defer fills in the loading message."""
        fake, inter = self.fake, self._webhook_interaction(request)
        cid = inter.channel_id
        body, files = await read_body(request, fake.upload_limit(cid))
        if inter.loading:
            inter.loading = False
            message = fake.mail.stored(cid, inter.original_id)
            ephemeral = message["flags"] & EPHEMERAL  # decided by the defer, not the followup
            fake.mail.apply(cid, message, body, files)
            message["flags"] = (message["flags"] & ~(LOADING | EPHEMERAL)) | ephemeral
            await fake.mail.save(cid, message, "message_update")
        else:
            message = fake.new_message(cid, fake.users[fake.bot_id], interaction=inter)
            fake.mail.apply(cid, message, body, files)
            await fake.mail.save(cid, message, "message_create")
        inter.responses.append({"kind": "followup", "type": None, "data": body, "message": dict(message)})
        if request.query.get("wait") in ("true", "1"):
            return json_response(message)
        return web.Response(status=204)

    async def _webhook_message(self, request: web.Request) -> web.Response:
        """GET/PATCH/DELETE ``@original`` or a followup message."""
        fake, inter = self.fake, self._webhook_interaction(request)
        ref, cid = request.match_info["message"], inter.channel_id
        message = fake.mail.stored(cid, inter.original_id if ref in ("@original", "%40original") else ref)
        if request.method == "GET":
            return json_response(message)
        if request.method == "DELETE":
            await fake.mail.delete(cid, message)
            inter.responses.append({"kind": "delete", "type": None, "data": {}, "message": dict(message)})
            return web.Response(status=204)
        body, files = await read_body(request, fake.upload_limit(cid))
        if int(message["id"]) == inter.original_id:
            inter.loading = False
            message["flags"] &= ~LOADING
        fake.mail.apply(cid, message, body, files)
        message["edited_timestamp"] = iso_now()
        await fake.mail.save(cid, message, "message_update")
        inter.responses.append({"kind": "edit", "type": None, "data": body, "message": dict(message)})
        return json_response(message)

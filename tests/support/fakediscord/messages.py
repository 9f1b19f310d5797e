"""Messages changing hands: what the bot sends becomes stored state, tests post as users.

Both the REST routes and the interaction webhooks create, edit and delete messages; this is the one
place that applies a body to a message, stores it, records the event and echoes it on the gateway.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from tests.support.fakediscord.wire import ApiError
from tests.support.fakediscord.world import EPHEMERAL, MANAGE_MESSAGES, VIEW_CHANNEL

if TYPE_CHECKING:
    from tests.support.fakediscord.server import FakeDiscord


class Mail:
    """Message plumbing shared by the routes of ``fake``."""

    def __init__(self, fake: FakeDiscord) -> None:
        self.fake = fake

    def stored(self, channel_id: int, message_id: str | int | None) -> dict[str, Any]:
        """A stored message, or 404/10008 Unknown Message."""
        try:
            return self.fake.message(channel_id, message_id)  # type: ignore[arg-type]
        except (KeyError, ValueError, TypeError):
            raise ApiError(404, 10008, "Unknown Message") from None

    def apply(self, channel_id: int, msg: dict[str, Any], body: dict[str, Any], files: list[tuple]) -> None:
        """Apply a create/edit body to a message: content, embeds, components, flags, attachments."""
        for key in ("content", "embeds", "components", "flags"):
            if body.get(key) is not None:
                msg[key] = body[key]
        new = [self.fake.cdn.store(channel_id, *f) for f in files]
        if body.get("attachments") is not None:  # keeps the listed old attachments (by id)
            old = {a["id"]: a for a in msg["attachments"]}
            msg["attachments"] = [old[str(a["id"])] for a in body["attachments"] if str(a["id"]) in old] + new
        else:
            msg["attachments"] = msg["attachments"] + new

    async def save(self, channel_id: int, msg: dict[str, Any], kind: str) -> dict[str, Any]:
        """Store a message the bot created or edited, record it, and echo it on the gateway."""
        self.fake.store_message(channel_id, msg)
        self.fake.recorder.record(kind, channel_id, msg)
        if not msg["flags"] & EPHEMERAL:
            await self.fake.dispatch(kind.upper(), msg)
        return msg

    async def delete(self, channel_id: int, msg: dict[str, Any]) -> None:
        """Forget a message (and its reactions), record it, and send MESSAGE_DELETE."""
        self.fake.remove_message(channel_id, msg)
        self.fake.reactions.forget(msg["id"])
        self.fake.recorder.record("message_delete", channel_id, msg)
        ids = {k: msg[k] for k in ("id", "channel_id", "guild_id") if k in msg}
        await self.fake.dispatch("MESSAGE_DELETE", ids)

    async def delete_as_user(self, channel_id: int, message_id: int | str, user_id: int) -> None:
        """A member deletes a message: their own, or anyone's with Manage Messages; see :meth:`delete`."""
        msg = self.stored(channel_id, message_id)
        perms = self.fake.permissions(channel_id, user_id)
        if not perms & VIEW_CHANNEL:
            raise ApiError(403, 50001, "Missing Access")
        if msg["author"]["id"] != str(user_id) and not perms & MANAGE_MESSAGES:
            raise ApiError(403, 50013, "Missing Permissions")
        await self.delete(channel_id, msg)

    async def post_as_user(
        self, channel_id: int, author_id: int, content: str, attachments: Sequence[tuple[str, bytes, str]],
        declared_size: int | None, reference_message_id: int | str | None,
    ) -> dict[str, Any]:
        """A user's message, stored and sent as MESSAGE_CREATE; see :meth:`FakeDiscord.send_message`."""
        fake = self.fake
        atts = [fake.cdn.store(channel_id, n, b, ct, declared_size) for n, b, ct in attachments]
        msg = fake.new_message(channel_id, fake.users[author_id], content, atts)
        if reference_message_id is not None:
            fake.attach_reference(msg, channel_id, reference_message_id)
        fake.store_message(channel_id, msg)
        event = dict(msg)
        if "guild_id" in msg and author_id in fake.guilds[int(msg["guild_id"])]["members"]:
            member = fake.member_payload(channel_id, author_id)
            event["member"] = {k: v for k, v in member.items() if k != "user"}
        await fake.dispatch("MESSAGE_CREATE", event)
        return msg

"""Members' reactions, as Discord keeps and announces them.

A reaction changes the stored message's ``reactions`` array (one entry per emoji: its count, whether the
bot is among those who reacted, ``me``) and goes out on the gateway as MESSAGE_REACTION_ADD (with the
member, in a server, and the message's author) or MESSAGE_REACTION_REMOVE. Discord's rules hold: a
reaction already on the message needs Read Message History, a new emoji also Add Reactions; 20 emoji at
most per message (30010); the same reaction twice, or taking back one never given, changes nothing and
sends no event.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tests.support.fakediscord.wire import ApiError
from tests.support.fakediscord.world import ADD_REACTIONS, READ_MESSAGE_HISTORY, VIEW_CHANNEL

if TYPE_CHECKING:
    from tests.support.fakediscord.server import FakeDiscord

MAX_EMOJI = 20  # different emoji on one message


class Reactions:
    """Who reacted with what, by message; the messages' ``reactions`` arrays are built from it."""

    def __init__(self, fake: FakeDiscord) -> None:
        self.fake = fake
        self._who: dict[int, dict[str, list[int]]] = {}  # message id -> emoji -> user ids, in order

    async def add(self, channel_id: int, message_id: int | str, user_id: int, emoji: str) -> bool:
        """``user_id`` reacts; whether anything changed (a second time: nothing, no event)."""
        fake = self.fake
        msg = fake.mail.stored(channel_id, message_id)
        if "guild_id" in msg and user_id not in fake.guilds[int(msg["guild_id"])]["members"]:
            raise ApiError(403, 50001, "Missing Access")
        by_emoji = self._who.setdefault(int(msg["id"]), {})
        need = VIEW_CHANNEL | READ_MESSAGE_HISTORY | (0 if emoji in by_emoji else ADD_REACTIONS)
        if fake.permissions(channel_id, user_id) & need != need:
            raise ApiError(403, 50013, "Missing Permissions")
        if emoji not in by_emoji and len(by_emoji) >= MAX_EMOJI:
            raise ApiError(400, 30010, "Maximum number of reactions reached (20)")
        if user_id in by_emoji.get(emoji, []):
            return False
        by_emoji.setdefault(emoji, []).append(user_id)
        self._show(msg)
        event = self._event(msg, user_id, emoji)
        if "guild_id" in msg:
            event["member"] = fake.guilds[int(msg["guild_id"])]["members"][user_id]
        event.update(message_author_id=msg["author"]["id"], burst_colors=[])
        await fake.dispatch("MESSAGE_REACTION_ADD", event)
        return True

    async def remove(self, channel_id: int, message_id: int | str, user_id: int, emoji: str) -> bool:
        """``user_id`` takes a reaction back; whether they had given it."""
        msg = self.fake.mail.stored(channel_id, message_id)
        by_emoji = self._who.get(int(msg["id"]), {})
        if user_id not in by_emoji.get(emoji, []):
            return False
        by_emoji[emoji].remove(user_id)
        if not by_emoji[emoji]:
            del by_emoji[emoji]
        self._show(msg)
        await self.fake.dispatch("MESSAGE_REACTION_REMOVE", self._event(msg, user_id, emoji))
        return True

    def forget(self, message_id: int | str) -> None:
        """A deleted message's reactions go with it."""
        self._who.pop(int(message_id), None)

    def _show(self, msg: dict[str, Any]) -> None:
        """The message's ``reactions`` array as Discord serves it (absent when there is none)."""
        shown = [{"emoji": _emoji(emoji), "count": len(users), "count_details": {"burst": 0, "normal": len(users)},
                  "me": self.fake.bot_id in users, "me_burst": False, "burst_colors": []}
                 for emoji, users in self._who.get(int(msg["id"]), {}).items()]
        if shown:
            msg["reactions"] = shown
        else:
            msg.pop("reactions", None)

    @staticmethod
    def _event(msg: dict[str, Any], user_id: int, emoji: str) -> dict[str, Any]:
        event = {"user_id": str(user_id), "channel_id": msg["channel_id"], "message_id": msg["id"],
                 "emoji": _emoji(emoji), "burst": False, "type": 0}
        if "guild_id" in msg:
            event["guild_id"] = msg["guild_id"]
        return event


def _emoji(name: str) -> dict[str, Any]:
    """A unicode emoji as Discord writes one (a custom emoji would have an id)."""
    return {"id": None, "name": name}

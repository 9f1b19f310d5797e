"""The fake Discord's data model: users, guilds, roles, members, channels, overwrites, messages.

Plain dicts in Discord's JSON shapes, so a route can answer with them as they are. Nothing here
speaks HTTP or the gateway; the permission computation and upload limits are what the REST routes
enforce.
"""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.support.fakediscord.interactions import Interaction

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
PIN_MESSAGES = 1 << 51
ALL_PERMISSIONS = (1 << 52) - 1
DEFAULT_PERMISSIONS = (VIEW_CHANNEL | SEND_MESSAGES | EMBED_LINKS | ATTACH_FILES | READ_MESSAGE_HISTORY
                       | ADD_REACTIONS | USE_APPLICATION_COMMANDS)
MESSAGE_CONTENT_INTENT = 1 << 15
EPHEMERAL, LOADING = 1 << 6, 1 << 7  # message flags

_MENTION = re.compile(r"<@!?(\d+)>")


def iso_now() -> str:
    """Now as Discord writes timestamps (ISO 8601, UTC, microseconds)."""
    return time.strftime("%Y-%m-%dT%H:%M:%S.000000+00:00", time.gmtime())


class World:
    """Everything a Discord server knows, built by tests and read by the routes and the gateway.

    The bot user (who is also the application) and the application's owner exist from the start;
    guilds, channels and members are added with the ``add_*`` methods.
    """

    def __init__(self, *, bot_id: int | None = None, bot_name: str = "stylebot") -> None:
        self._ids = itertools.count(1)
        self.users: dict[int, dict[str, Any]] = {}
        self.bot_id = self.application_id = self.add_user(bot_name, user_id=bot_id, bot=True)
        self.owner_id = self.add_user("owner")  # the application's owner (commands.is_owner)
        self.guilds: dict[int, dict[str, Any]] = {}
        self.channels: dict[int, dict[str, Any]] = {}
        self.commands: dict[int | None, list[dict[str, Any]]] = {}  # guild id, None for global
        self.user_locales: dict[int, str] = {}  # a user's Discord client language (interactions' locale)
        self._messages: dict[int, dict[int, dict[str, Any]]] = {}
        self.avatars: dict[str, bytes] = {}  # avatar hash -> bytes (set_avatar)

    # ------------------------------------------------------------------ building
    def snowflake(self) -> int:
        """A fresh id whose timestamp is now, so discord.py's ``created_at`` looks right."""
        return ((int(time.time() * 1000) - 1420070400000) << 22) | (next(self._ids) & 0x3FFFFF)

    def add_user(self, name: str, *, user_id: int | None = None, bot: bool = False) -> int:
        """A user (not yet a member of any guild); returns its id."""
        uid = user_id or self.snowflake()
        self.users[uid] = {"id": str(uid), "username": name, "global_name": name, "discriminator": "0",
                           "avatar": None, "bot": bot, "public_flags": 0}
        return uid

    def add_guild(
        self, name: str = "test guild", *, guild_id: int | None = None, premium_tier: int = 0,
        upload_limit: int | None = None, owner_id: int | None = None, with_bot: bool = True,
    ) -> int:
        """A guild with @everyone and the bot as member; ``upload_limit`` overrides the tier's limit.

        ``with_bot=False``: a server that did not add the bot (a member may still use it, installed to
        their account): the gateway does not announce it and its channels answer the bot 403/50001.
        """
        gid = guild_id or self.snowflake()
        everyone = {"id": str(gid), "name": "@everyone", "permissions": str(DEFAULT_PERMISSIONS),
                    "position": 0}
        self.guilds[gid] = {"id": gid, "name": name, "premium_tier": premium_tier, "joined_at": iso_now(),
                            "owner_id": owner_id or self.owner_id, "roles": {gid: everyone}, "members": {},
                            "upload_limit": upload_limit or PREMIUM_UPLOAD_LIMITS[premium_tier]}
        if with_bot:
            self.add_member(gid, self.bot_id)
        return gid

    def bot_guilds(self) -> list[int]:
        """The guilds the bot is a member of (the ones the gateway announces)."""
        return [gid for gid, g in self.guilds.items() if self.bot_id in g["members"]]

    def set_avatar(self, user_id: int, blob: bytes, *, animated: bool = False, guild_id: int | None = None) -> str:
        """Give a user an avatar (or, with ``guild_id``, a server avatar as that guild's member); returns its hash.

        The CDN (:mod:`.cdn`) serves the bytes at the asset URLs discord.py builds; an animated
        avatar's hash starts with ``a_``, as Discord's do.
        """
        avatar = ("a_" if animated else "") + f"{self.snowflake():x}"
        self.avatars[avatar] = blob
        if guild_id is None:
            self.users[user_id]["avatar"] = avatar
        else:
            self.guilds[guild_id]["members"][user_id]["avatar"] = avatar
        return avatar

    def add_role(self, guild_id: int, name: str, permissions: int = 0) -> int:
        """A role with these permission bits, above the existing ones; returns its id."""
        rid, roles = self.snowflake(), self.guilds[guild_id]["roles"]
        roles[rid] = {"id": str(rid), "name": name, "permissions": str(permissions), "position": len(roles)}
        return rid

    def add_member(self, guild_id: int, user_id: int, roles: Sequence[int] = ()) -> int:
        """Make a user (from :meth:`add_user`) a member; returns the user id, for chaining."""
        self.guilds[guild_id]["members"][user_id] = {
            "user": self.users[user_id], "roles": [str(r) for r in roles], "joined_at": iso_now(),
            "deaf": False, "mute": False, "flags": 0, "nick": None}
        return user_id

    def add_channel(self, guild_id: int, name: str = "general", *, channel_id: int | None = None) -> int:
        """A text channel in a guild, without overwrites; returns its id."""
        cid = channel_id or self.snowflake()
        self.channels[cid] = {"id": str(cid), "type": 0, "guild_id": str(guild_id), "name": name,
                              "position": len(self.channels), "permission_overwrites": [], "nsfw": False,
                              "parent_id": None, "last_message_id": None}
        self._messages[cid] = {}
        return cid

    def remove_channel(self, channel_id: int) -> dict[str, Any]:
        """Delete a channel with its messages: its routes answer 404/10003 Unknown Channel from now on.

        Returns its last payload, e.g. for ``await fake.dispatch("CHANNEL_DELETE", ...)``.
        """
        del self._messages[channel_id]
        return self.channels.pop(channel_id)

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

    # ------------------------------------------------------------------ permissions and limits
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
        if user_id == self.bot_id and user_id not in guild["members"]:
            return 0  # a server that did not add the bot
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
        """The most bytes of files one message may carry in this channel (the guild's, or a DM's)."""
        guild_id = self.channels[channel_id].get("guild_id")
        return self.guilds[int(guild_id)]["upload_limit"] if guild_id else PREMIUM_UPLOAD_LIMITS[0]

    # ------------------------------------------------------------------ payloads
    def channel_payload(self, channel_id: int) -> dict[str, Any]:
        """A channel as the API returns it (a copy)."""
        return dict(self.channels[channel_id])

    def guild_payload(self, guild_id: int) -> dict[str, Any]:
        """The GUILD_CREATE shape: roles, channels, every member (bot included), not large."""
        g = self.guilds[guild_id]
        return {"id": str(guild_id), "name": g["name"], "owner_id": str(g["owner_id"]), "icon": None,
                "premium_tier": g["premium_tier"], "features": [], "roles": list(g["roles"].values()),
                "channels": [c for c in self.channels.values() if c.get("guild_id") == str(guild_id)],
                "members": list(g["members"].values()), "member_count": len(g["members"]), "large": False,
                "unavailable": False, "joined_at": g["joined_at"], "emojis": [], "stickers": [],
                "threads": [], "presences": [], "voice_states": [],
                "preferred_locale": g.get("preferred_locale", "en-US")}

    def member_payload(self, channel_id: int, user_id: int) -> dict[str, Any]:
        """A member of the channel's guild with their resolved permissions there, as interactions carry."""
        guild = self.guilds[int(self.channels[channel_id]["guild_id"])]
        return {**guild["members"][user_id], "permissions": str(self.permissions(channel_id, user_id))}

    def find_command(self, name: str, guild_id: str | None, kind: int = 1) -> dict[str, Any] | None:
        """The synced application command a user would run: the guild's first, else the global one.

        ``kind`` is the command's type: 1 slash, 2 user (right-click a member), 3 message.
        """
        for scope in ([int(guild_id)] if guild_id else []) + [None]:
            found = (c for c in self.commands.get(scope, []) if c["name"] == name and c.get("type", 1) == kind)
            if cmd := next(found, None):
                return cmd
        return None

    # ------------------------------------------------------------------ messages
    def messages(self, channel_id: int) -> list[dict[str, Any]]:
        """A channel's messages as they are now, oldest first (edits applied, deletions gone)."""
        return list(self._messages[channel_id].values())

    def message(self, channel_id: int, message_id: int | str) -> dict[str, Any]:
        """One stored message, as it is now."""
        return self._messages[channel_id][int(message_id)]

    def store_message(self, channel_id: int, msg: dict[str, Any]) -> None:
        """Keep a new message (in posting order) or replace an edited one."""
        self._messages[channel_id][int(msg["id"])] = msg

    def remove_message(self, channel_id: int, msg: dict[str, Any]) -> None:
        """Forget a deleted message."""
        del self._messages[channel_id][int(msg["id"])]

    def new_message(
        self, channel_id: int, author: dict[str, Any], content: str = "", attachments: Sequence[dict] = (),
        *, flags: int = 0, msg_type: int = 0, interaction: Interaction | None = None,
    ) -> dict[str, Any]:
        """A message dict with a fresh id (not stored yet); it becomes the channel's last message."""
        mentions = [self.users[int(u)] for u in _MENTION.findall(content) if int(u) in self.users]
        msg = {"id": str(self.snowflake()), "channel_id": str(channel_id), "author": author,
               "content": content, "timestamp": iso_now(), "edited_timestamp": None, "tts": False,
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

    def attach_reference(self, msg: dict[str, Any], channel_id: int, message_id: int | str) -> None:
        """Make ``msg`` a reply (type 19) to a message in the same channel."""
        ref = self._messages[channel_id].get(int(message_id))
        msg["type"] = 19
        msg["message_reference"] = {"type": 0, "message_id": str(message_id), "channel_id": str(channel_id),
                                    "guild_id": msg.get("guild_id")}
        msg["referenced_message"] = ref and {k: v for k, v in ref.items() if k != "referenced_message"}

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

One module per concern: ``world`` (the data model and permission rules), ``rest`` (the REST
routes), ``interactions`` (slash commands, buttons, callbacks, followups), ``cdn`` (attachments),
``gateway`` (the websocket), ``messages`` (message plumbing the routes share), ``reactions``
(members' reactions and their gateway events), ``faults``
(injected failures), ``events`` (what tests wait for), ``wire`` (Discord's JSON and error shapes)
and ``server`` (``FakeDiscord``, which ties them together, and ``running``).
"""

from tests.support.fakediscord.events import Event, RequestRecord
from tests.support.fakediscord.server import FakeDiscord, running
from tests.support.fakediscord.wire import API_PREFIX, ApiError
from tests.support.fakediscord.world import (
    ADD_REACTIONS,
    ADMINISTRATOR,
    ALL_PERMISSIONS,
    ATTACH_FILES,
    DEFAULT_PERMISSIONS,
    EMBED_LINKS,
    EPHEMERAL,
    LOADING,
    MANAGE_MESSAGES,
    MESSAGE_CONTENT_INTENT,
    MIB,
    PIN_MESSAGES,
    PREMIUM_UPLOAD_LIMITS,
    READ_MESSAGE_HISTORY,
    SEND_MESSAGES,
    USE_APPLICATION_COMMANDS,
    VIEW_CHANNEL,
    World,
)

__all__ = [
    "ADD_REACTIONS", "ADMINISTRATOR", "ALL_PERMISSIONS", "API_PREFIX", "ATTACH_FILES", "DEFAULT_PERMISSIONS",
    "EMBED_LINKS", "EPHEMERAL", "LOADING", "MANAGE_MESSAGES", "MESSAGE_CONTENT_INTENT", "MIB", "PIN_MESSAGES",
    "PREMIUM_UPLOAD_LIMITS", "READ_MESSAGE_HISTORY", "SEND_MESSAGES", "USE_APPLICATION_COMMANDS",
    "VIEW_CHANNEL", "ApiError", "Event", "FakeDiscord", "RequestRecord", "World", "running",
]

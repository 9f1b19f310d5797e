"""The fake Discord speaks real discord.py: a real ``commands.Bot`` logs in, chats and hits the rules."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from typing import Any

import discord
import pytest
from discord import app_commands
from discord.ext import commands

from tests.support.fakediscord import ADD_REACTIONS, ATTACH_FILES, MANAGE_MESSAGES, MIB, ApiError, FakeDiscord
from tests.support.fakediscord import running as run_bot

pytestmark = pytest.mark.timeout(30)
GUILD, CHANNEL, ALICE = 1001, 1002, 1003


class Menu(discord.ui.View):
    @discord.ui.button(label="Go", custom_id="menu:go")
    async def go(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await interaction.response.edit_message(content="clicked", view=None)


class ProbeBot(commands.Bot):
    """A tiny bot whose commands report what happened on ``outcomes``."""

    def __init__(self) -> None:
        intents = discord.Intents.default()
        intents.message_content = True
        # guild_ready_timeout: discord.py waits this long after the last GUILD_CREATE before on_ready.
        super().__init__(command_prefix="!", intents=intents, guild_ready_timeout=0.05)
        self.ready = asyncio.Event()
        self.outcomes: asyncio.Queue[tuple[str, object]] = asyncio.Queue()
        self.raw: asyncio.Queue[object] = asyncio.Queue()  # reactions and deletions, as discord.py parsed them
        self.release = asyncio.Event()
        self.slow_delay = 0.0
        self.fruits = ["apple", "banana", "mango"]

    async def setup_hook(self) -> None:
        @self.command(name="ping")
        async def ping(ctx: commands.Context) -> None:
            await ctx.reply("pong")

        @self.command(name="size")
        async def size(ctx: commands.Context, image: discord.Attachment) -> None:
            await ctx.send(f"size={image.size} read={len(await image.read())}")

        @self.command(name="menu")
        async def menu(ctx: commands.Context) -> None:
            await ctx.send("pick one", view=Menu())

        tree = self.tree

        @tree.command(name="stylize", description="Repaint an image")
        async def stylize(interaction: discord.Interaction, image: discord.Attachment, steps: int = 1):
            await interaction.response.defer(thinking=True)
            painted = discord.File(io.BytesIO((await image.read())[::-1]), "out.png")
            await interaction.followup.send(f"{steps} steps", file=painted)
            await self.outcomes.put(("stylize", interaction.filesize_limit))

        @tree.command(name="slow", description="Acknowledges late")
        async def slow(interaction: discord.Interaction) -> None:
            await asyncio.sleep(self.slow_delay)
            await self._report("slow", interaction.response.defer())

        @tree.command(name="ack", description="Acknowledges once")
        async def ack(interaction: discord.Interaction) -> None:
            await self._report("ack", interaction.response.defer())

        @tree.command(name="pick", description="Picks a fruit (autocompleted)")
        async def pick(interaction: discord.Interaction, fruit: str, count: int = 1) -> None:
            await interaction.response.send_message(f"{count} {fruit}")

        @pick.autocomplete("fruit")
        async def fruits(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
            found = [f for f in self.fruits if current in f]
            return [app_commands.Choice(name=f, value=f) for f in found]

        @tree.command(name="hold", description="Defers, then answers when released")
        async def hold(interaction: discord.Interaction) -> None:
            await interaction.response.defer()
            await self.release.wait()
            await self._report("hold", interaction.followup.send("done"))

    async def _report(self, name: str, call: object) -> None:
        try:
            await call  # type: ignore[misc]
        except discord.HTTPException as exc:
            await self.outcomes.put((name, exc))
        else:
            await self.outcomes.put((name, "ok"))

    async def on_ready(self) -> None:
        self.ready.set()

    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        await self.raw.put(payload)

    async def on_raw_reaction_remove(self, payload: discord.RawReactionActionEvent) -> None:
        await self.raw.put(payload)

    async def on_raw_message_delete(self, payload: discord.RawMessageDeleteEvent) -> None:
        await self.raw.put(payload)


def running(fake: FakeDiscord, bot: ProbeBot | None = None):
    """Start ``bot`` (a fresh ProbeBot by default) against ``fake`` until ready; close it on exit."""
    return run_bot(fake, bot or ProbeBot(), timeout=5)


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as fake:
        fake.add_guild("studio", guild_id=GUILD)
        fake.add_channel(GUILD, "general", channel_id=CHANNEL)
        fake.add_member(GUILD, fake.add_user("alice", user_id=ALICE))
        yield fake
        assert fake.unhandled == [], "bot hit routes the fake does not know"
        assert fake.errors == []


async def test_bot_logs_in_and_caches_the_guild(fake: FakeDiscord) -> None:
    limited = fake.add_channel(GUILD, "no-files")
    fake.restrict_bot(limited, ATTACH_FILES)
    async with running(fake) as bot:
        guild = bot.get_guild(GUILD)
        assert guild is not None and guild.name == "studio"
        assert bot.user.id == fake.bot_id
        assert guild.filesize_limit == 10 * MIB
        assert guild.get_channel(limited).permissions_for(guild.me).attach_files is False
        assert guild.get_channel(CHANNEL).permissions_for(guild.me).attach_files is True
        with pytest.raises(discord.Forbidden) as info:
            await guild.get_channel(limited).send(file=discord.File(io.BytesIO(b"x"), "x.png"))
        assert info.value.code == 50013


async def test_prefix_command_reply_lands_in_the_channel(fake: FakeDiscord) -> None:
    async with running(fake):
        sent = await fake.send_message(CHANNEL, ALICE, "!ping")
        reply = await fake.wait_for_message(CHANNEL, lambda m: m["content"] == "pong")
        assert reply["message_reference"]["message_id"] == sent["id"]
        assert [m["content"] for m in fake.messages(CHANNEL)] == ["!ping", "pong"]


async def test_attachment_advertises_declared_size_and_serves_real_bytes(fake: FakeDiscord) -> None:
    async with running(fake):
        sent = await fake.send_message(
            CHANNEL, ALICE, "!size", attachments=[("a.png", b"12345", "image/png")], declared_size=123)
        await fake.wait_for_message(CHANNEL, lambda m: m["content"] == "size=123 read=5")
        assert fake.downloads == [int(sent["attachments"][0]["id"])]


async def test_upload_over_the_guild_limit_is_rejected_with_40005(fake: FakeDiscord) -> None:
    async with running(fake) as bot:
        channel = bot.get_channel(CHANNEL)
        with pytest.raises(discord.HTTPException) as info:
            await channel.send(file=discord.File(io.BytesIO(bytes(10 * MIB + 1)), "big.png"))
        assert (info.value.status, info.value.code) == (413, 40005)
        assert fake.messages(CHANNEL) == []


async def test_a_deleted_channel_is_unknown_to_every_route(fake: FakeDiscord) -> None:
    async with running(fake) as bot:
        channel = bot.get_channel(CHANNEL)
        fake.remove_channel(CHANNEL)
        for call in (lambda: bot.fetch_channel(CHANNEL), lambda: channel.send("hello")):
            with pytest.raises(discord.NotFound) as info:
                await call()
            assert (info.value.status, info.value.code) == (404, 10003)
        assert CHANNEL not in fake.channels


async def test_rate_limited_send_is_retried_after_retry_after(fake: FakeDiscord) -> None:
    async with running(fake) as bot:
        fake.fail_next("POST", rf"^/channels/{CHANNEL}/messages$", status=429, retry_after=0.2)
        await bot.get_channel(CHANNEL).send("hello")
        hits = fake.hits("POST", rf"^/channels/{CHANNEL}/messages$")
        assert [h.status for h in hits] == [429, 200]
        assert hits[1].time - hits[0].time >= 0.19
        assert [m["content"] for m in fake.messages(CHANNEL)] == ["hello"]


async def test_slash_command_defers_and_follows_up_with_a_file(fake: FakeDiscord) -> None:
    async with running(fake) as bot:
        synced = await bot.tree.sync()
        assert {c.name for c in synced} == {"stylize", "slow", "ack", "hold", "pick"}
        payload = await fake.send_slash(
            CHANNEL, ALICE, "stylize", {"steps": 3}, {"image": ("in.png", b"abc", "image/png")})
        assert await asyncio.wait_for(bot.outcomes.get(), 5) == ("stylize", 10 * MIB)
        [callback, followup] = fake.interaction_responses(payload["token"])
        assert callback["type"] == 5 and followup["kind"] == "followup"
        message = fake.messages(CHANNEL)[-1]
        assert message["content"] == "3 steps" and message["flags"] == 0
        assert fake.attachment_bytes(message["attachments"][0]) == b"cba"
        assert message["id"] == callback["message"]["id"]  # the followup filled the "thinking" message


async def test_late_acknowledgement_gets_unknown_interaction(fake: FakeDiscord) -> None:
    async with running(fake) as bot:
        fake.interaction_deadline = 0.2  # Discord's 3 s, shortened to keep the test fast
        bot.slow_delay = 0.3
        await fake.send_slash(CHANNEL, ALICE, "slow")
        _name, error = await asyncio.wait_for(bot.outcomes.get(), 5)
        assert isinstance(error, discord.NotFound) and error.code == 10062
        assert [h.status for h in fake.hits("POST", "/callback$")] == [404]


async def test_second_acknowledgement_gets_already_acknowledged(fake: FakeDiscord) -> None:
    # Two instances of the bot on one token both receive the interaction and both defer.
    async with running(fake) as first, running(fake) as second:
        await fake.send_slash(CHANNEL, ALICE, "ack")
        results = [(await asyncio.wait_for(b.outcomes.get(), 5))[1] for b in (first, second)]
        errors = [r for r in results if r != "ok"]
        assert len(errors) == 1 and isinstance(errors[0], discord.HTTPException)
        assert (errors[0].status, errors[0].code) == (400, 40060)


async def test_followup_after_token_expiry_gets_invalid_webhook_token(fake: FakeDiscord) -> None:
    async with running(fake) as bot:
        payload = await fake.send_slash(CHANNEL, ALICE, "hold")
        token = payload["token"]
        await fake.wait_for(lambda e: e.kind == "interaction_callback" and e.data["token"] == token)
        fake.expire_interaction(token)  # as if the job ran for 15 minutes
        bot.release.set()
        _name, error = await asyncio.wait_for(bot.outcomes.get(), 5)
        assert isinstance(error, discord.HTTPException)
        assert (error.status, error.code) == (401, 50027)


async def test_gateway_reconnect_resumes_the_session(fake: FakeDiscord) -> None:
    async with running(fake):
        await fake.disconnect_gateway()
        await fake.wait_until_connected()
        assert (fake.identifies, fake.resumes) == (1, 1)
        await fake.send_message(CHANNEL, ALICE, "!ping")
        await fake.wait_for_message(CHANNEL, lambda m: m["content"] == "pong")


async def test_button_click_updates_the_message(fake: FakeDiscord) -> None:
    async with running(fake):
        await fake.send_message(CHANNEL, ALICE, "!menu")
        menu = await fake.wait_for_message(CHANNEL, lambda m: m["content"] == "pick one")
        custom_id = menu["components"][0]["components"][0]["custom_id"]
        payload = await fake.click_button(CHANNEL, ALICE, menu["id"], custom_id)
        await fake.wait_for_message(CHANNEL, lambda m: m["id"] == menu["id"] and m["content"] == "clicked")
        assert fake.message(CHANNEL, menu["id"])["components"] == []
        assert fake.interaction_responses(payload["token"])[0]["type"] == 7


async def test_autocomplete_is_answered_with_choices_and_the_limits_hold(fake: FakeDiscord) -> None:
    async with running(fake) as bot:
        await bot.tree.sync()
        typed = await fake.send_autocomplete(CHANNEL, ALICE, "pick", {"fruit": "an", "count": 2}, "fruit")
        await fake.wait_for(lambda e: e.kind == "interaction_callback" and e.data["token"] == typed["token"])
        [answer] = fake.interaction_responses(typed["token"])
        assert answer["type"] == 8 and [c["value"] for c in answer["data"]["choices"]] == ["banana", "mango"]
        assert typed["type"] == 4 and typed["data"]["options"][0] == {"name": "fruit", "type": 3, "value": "an",
                                                                       "focused": True}
        bot.fruits = [f"fruit{i}" for i in range(26)]  # Discord takes at most 25
        await fake.send_autocomplete(CHANNEL, ALICE, "pick", {"fruit": "fruit"}, "fruit")
        await asyncio.sleep(0.3)
        assert [h.status for h in fake.hits("POST", "/callback$")] == [200, 400]  # the second one refused


async def test_members_reactions_and_deletions_reach_the_bot_as_discord_sends_them(fake: FakeDiscord) -> None:
    bob = fake.add_member(GUILD, fake.add_user("bob"))
    mod = fake.add_member(GUILD, fake.add_user("mod"), roles=(fake.add_role(GUILD, "mods", MANAGE_MESSAGES),))
    async with running(fake) as bot:
        sent = await fake.send_message(CHANNEL, ALICE, "look")
        message_id = int(sent["id"])

        async def parsed() -> Any:
            return await asyncio.wait_for(bot.raw.get(), 5)

        assert await fake.add_reaction(CHANNEL, message_id, ALICE, "⭐")
        assert not await fake.add_reaction(CHANNEL, message_id, ALICE, "⭐")  # the same reaction again: no event
        assert await fake.add_reaction(CHANNEL, message_id, bob, "⭐")
        alice = await parsed()
        assert (alice.event_type, alice.user_id, alice.message_id, alice.channel_id, alice.guild_id) == (
            "REACTION_ADD", ALICE, message_id, CHANNEL, GUILD)
        assert str(alice.emoji) == "⭐" and alice.emoji.is_unicode_emoji() and alice.burst is False
        assert alice.member is not None and alice.member.id == ALICE and alice.message_author_id == ALICE
        assert (await parsed()).user_id == bob
        fetched = await bot.get_channel(CHANNEL).fetch_message(message_id)
        assert [(str(r.emoji), r.count, r.me) for r in fetched.reactions] == [("⭐", 2, False)]

        assert await fake.remove_reaction(CHANNEL, message_id, ALICE, "⭐")
        assert not await fake.remove_reaction(CHANNEL, message_id, ALICE, "⭐")  # none left to take back
        removed = await parsed()
        assert (removed.event_type, removed.user_id, removed.member) == ("REACTION_REMOVE", ALICE, None)
        assert fake.message(CHANNEL, message_id)["reactions"][0]["count"] == 1

        fake.set_overwrite(CHANNEL, ALICE, deny=ADD_REACTIONS)  # a new emoji needs Add Reactions, a given one not
        with pytest.raises(ApiError) as refused:
            await fake.add_reaction(CHANNEL, message_id, ALICE, "🎨")
        assert refused.value.code == 50013
        assert await fake.add_reaction(CHANNEL, message_id, ALICE, "⭐")
        assert (await parsed()).user_id == ALICE

        with pytest.raises(ApiError) as not_theirs:  # another member's message, without Manage Messages
            await fake.delete_message(CHANNEL, message_id, bob)
        assert not_theirs.value.code == 50013
        await fake.delete_message(CHANNEL, message_id, mod)
        deleted = await parsed()
        assert isinstance(deleted, discord.RawMessageDeleteEvent)
        assert (deleted.message_id, deleted.channel_id, deleted.guild_id) == (message_id, CHANNEL, GUILD)
        assert fake.messages(CHANNEL) == []
        await fake.wait_for(lambda e: e.kind == "message_delete" and e.data["id"] == sent["id"])

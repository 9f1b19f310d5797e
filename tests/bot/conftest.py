"""Fixtures for end-to-end bot tests: the real bot, real discord.py, a real LocalJobQueue and engine,
against :class:`tests.support.fakediscord.FakeDiscord` on 127.0.0.1.

Jobs use a tiny engine setting (:data:`TINY`, 32 px, a few steps) so each runs in well under a
second on a CPU; the first one in the session also loads torch and the VGG19 weights (seconds).
"""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from bot.client import StyleBot
from bot.core.settings import BotSettings
from bot.core.store import GuildStore
from engine.jobs import JobSpec
from engine.jobs.local import LocalJobQueue
from engine.jobs.settings import QueueSettings, RunnerSettings
from tests.support.fakediscord import MANAGE_MESSAGES, FakeDiscord, running
from tests.support.images import noise_png
from tests.support.queues import queue_settings, runner_settings

# Snowflake-sized ids: discord.py's converters only recognise mentions of 15-20 digits.
GUILD, CHANNEL, OTHER_CHANNEL, GALLERY = (900000000000002000 + i for i in range(1, 5))
ALICE, BOB, ADMIN = (900000000000002100 + i for i in range(1, 4))
MANAGE_GUILD = 1 << 5
TINY = "size=32 steps=2 coarse_steps=1"
RESULT_TIMEOUT = 60.0  # the first job of the session imports torch and loads the weights


CONTENT = ("photo.png", noise_png(1, 64, 48), "image/png")
STYLE = ("painting.png", noise_png(2, 48, 48), "image/png")


class RecordingQueue(LocalJobQueue):
    """The real local queue, remembering every spec the bot tried to submit.

    ``QueueSettings`` fields among ``kwargs`` (``per_user_limit=1``) go into its settings,
    ``RunnerSettings`` fields (``max_batch=4``) into its runner's, the rest to :class:`LocalJobQueue`.
    """

    def __init__(self, **kwargs: Any) -> None:
        limits = {name: kwargs.pop(name) for name in list(kwargs) if name in QueueSettings.model_fields}
        runner = {name: kwargs.pop(name) for name in list(kwargs) if name in RunnerSettings.model_fields}
        super().__init__(queue_settings(**limits), runner_settings(**runner), **kwargs)
        self.submitted: list[JobSpec] = []

    async def submit(self, spec: JobSpec):  # type: ignore[override]
        self.submitted.append(spec)
        return await super().submit(spec)


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as fake:
        fake.add_guild("studio", guild_id=GUILD)
        for cid, name in ((CHANNEL, "art"), (OTHER_CHANNEL, "chat"), (GALLERY, "gallery")):
            fake.add_channel(GUILD, name, channel_id=cid)
        admins = fake.add_role(GUILD, "admins", MANAGE_GUILD | MANAGE_MESSAGES)
        fake.add_member(GUILD, fake.add_user("alice", user_id=ALICE))
        fake.add_member(GUILD, fake.add_user("bob", user_id=BOB))
        fake.add_member(GUILD, fake.add_user("admin", user_id=ADMIN), roles=(admins,))
        yield fake
        assert fake.unhandled == [], "the bot hit routes the fake does not know"
        assert fake.errors == []


@pytest.fixture
def settings(tmp_path: Path, fake: FakeDiscord) -> BotSettings:
    return BotSettings(_env_file=None, discord_token=fake.token,
                       database_path=str(tmp_path / "guilds.sqlite3"), progress_interval_s=0.5)


@pytest.fixture
def make_bot(settings: BotSettings) -> Callable[..., StyleBot]:
    def make(queue: LocalJobQueue | None = None, **changes: Any) -> StyleBot:
        chosen = settings.model_copy(update=changes)
        queue = queue or RecordingQueue(workers=1, per_user_limit=10, max_queue=50,
                                        database_path=chosen.database_path)
        return StyleBot(chosen, queue, GuildStore(chosen.database_path), guild_ready_timeout=0.05)

    return make


@pytest.fixture
async def bot(fake: FakeDiscord, make_bot: Callable[..., StyleBot]) -> AsyncIterator[StyleBot]:
    async with running(fake, make_bot()) as bot:
        yield bot


def bot_messages(fake: FakeDiscord, channel: int) -> list[dict[str, Any]]:
    return [m for m in fake.messages(channel) if int(m["author"]["id"]) == fake.bot_id]


def is_result(message: dict[str, Any]) -> bool:
    return bool(message["attachments"]) and bool(message["embeds"])


async def wait_result(fake: FakeDiscord, channel: int = CHANNEL, timeout: float = RESULT_TIMEOUT,
                      predicate: Callable[[dict[str, Any]], bool] | None = None) -> dict[str, Any]:
    """The next (or an already posted) result message in ``channel``."""
    return await fake.wait_for_message(
        channel, lambda m: is_result(m) and (predicate is None or predicate(m)), timeout, edits=False)


async def wait_text(fake: FakeDiscord, channel: int, text: str, timeout: float = 10.0) -> dict[str, Any]:
    """A bot message in ``channel`` (posted or edited) whose content contains ``text``."""
    return await fake.wait_for_message(channel, lambda m: text in m["content"], timeout)


async def wait_status(fake: FakeDiscord, request: dict[str, Any], text: str,
                      timeout: float = 30.0) -> dict[str, Any]:
    """The bot's reply to ``request`` (posted or edited) once its content contains ``text``."""
    return await fake.wait_for_message(
        int(request["channel_id"]),
        lambda m: m.get("message_reference", {}).get("message_id") == request["id"] and text in m["content"],
        timeout)


async def wait_done(fake: FakeDiscord, request: dict[str, Any], timeout: float = RESULT_TIMEOUT) -> dict[str, Any]:
    """The result replying to ``request``, once its status message also says it is done."""
    result = await wait_result(fake, int(request["channel_id"]), timeout,
                               predicate=lambda m: m.get("message_reference", {}).get("message_id") == request["id"])
    await wait_status(fake, request, "✅ Done")
    return result


def status_of(fake: FakeDiscord, request: dict[str, Any]) -> dict[str, Any]:
    """The bot's status message of ``request`` (its reply without an embed)."""
    [status] = [m for m in bot_messages(fake, int(request["channel_id"]))
                if m.get("message_reference", {}).get("message_id") == request["id"] and not m["embeds"]]
    return status


def decode(blob: bytes) -> Image.Image:
    with Image.open(io.BytesIO(blob)) as im:
        im.load()
        return im.copy()


async def style_message(fake: FakeDiscord, user: int = ALICE, args: str = TINY, channel: int = CHANNEL,
                        attachments: tuple = (CONTENT, STYLE), **kwargs: Any) -> dict[str, Any]:
    return await fake.send_message(channel, user, f"!style {args}".strip(), attachments=list(attachments),
                                   **kwargs)


class PayloadSpy:
    """Records the JSON bodies the bot sends to Discord (what the fake does not store: allowed_mentions)."""

    def __init__(self, bot: StyleBot) -> None:
        self.bodies: list[tuple[str, dict[str, Any]]] = []
        original = bot.http.request

        async def request(route: Any, **kwargs: Any) -> Any:
            body = kwargs.get("json")
            for part in kwargs.get("form") or ():
                if part.get("name") == "payload_json":
                    body = json.loads(part["value"])
            if isinstance(body, dict):
                self.bodies.append((route.path, body))
            return await original(route, **kwargs)

        bot.http.request = request  # type: ignore[method-assign]

    def with_files(self) -> list[dict[str, Any]]:
        return [b for _, b in self.bodies if b.get("attachments")]

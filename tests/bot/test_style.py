"""The happy paths: `!style` with attachments, `!style` as a reply, and `/style` with its deferral."""

from __future__ import annotations

import pytest

from bot.client import StyleBot
from tests.bot.conftest import (
    ALICE,
    CHANNEL,
    CONTENT,
    GUILD,
    STYLE,
    TINY,
    PayloadSpy,
    RecordingQueue,
    decode,
    running,
    style_message,
    wait_result,
)
from tests.support.engines import Tap, Tiny
from tests.support.fakediscord import FakeDiscord

pytestmark = pytest.mark.timeout(120)


async def test_style_command_replies_with_an_image_and_the_params_embed(fake: FakeDiscord, make_bot) -> None:
    bot: StyleBot = make_bot()
    spy = PayloadSpy(bot)
    async with running(fake, bot):
        request = await style_message(fake, args=f"{TINY} beta=250 seed=3")
        result = await wait_result(fake)

        assert result["message_reference"]["message_id"] == request["id"]
        image = decode(fake.attachment_bytes(result["attachments"][0]))
        assert 32 <= max(image.size) <= 64 and image.mode == "RGB"  # the engine keeps sides ≥ 32 px
        embed = result["embeds"][0]
        fields = {f["name"]: f["value"] for f in embed["fields"]}
        assert fields["β style weight"] == "250" and fields["α content weight"] == "5"
        assert "style_weight=250.0" in embed["footer"]["text"] and "seed=3" in embed["footer"]["text"]
        assert result["content"] == f"<@{ALICE}>"
        [body] = spy.with_files()
        assert body["allowed_mentions"] == {"parse": [], "users": [ALICE], "replied_user": True}
        spec = bot.queue.submitted[0]
        assert spec.options["style_weight"] == "250" and spec.user_id == ALICE
        assert spec.meta["reply_to_id"] == int(request["id"]) and spec.content == CONTENT[1]


async def test_status_message_shows_progress_then_done(fake: FakeDiscord, bot: StyleBot) -> None:
    request = await style_message(fake)
    status = await fake.wait_for_message(
        CHANNEL,
        lambda m: m.get("message_reference", {}).get("message_id") == request["id"] and not m["attachments"])
    await wait_result(fake)
    final = await fake.wait_for_message(CHANNEL, lambda m: m["id"] == status["id"] and "Done" in m["content"])
    assert final["components"] == []  # the Cancel button is gone
    shown = [e.data["content"] for e in fake.events if e.data.get("id") == status["id"]]
    assert shown[0] == "⏳ Queuing…" and any("Queued" in s or "Painting" in s for s in shown)


async def test_style_as_a_reply_to_a_message_with_the_images(fake: FakeDiscord, bot: StyleBot) -> None:
    images = await fake.send_message(CHANNEL, ALICE, "look at these", attachments=[CONTENT, STYLE])
    request = await fake.send_message(CHANNEL, ALICE, f"!style {TINY}",
                                      reference_message_id=int(images["id"]))
    result = await wait_result(fake)
    assert result["message_reference"]["message_id"] == request["id"]
    assert bot.queue.submitted[0].styles == (STYLE[1],)


async def test_slash_style_defers_within_the_deadline_and_delivers(fake: FakeDiscord, make_bot) -> None:
    fake.interaction_deadline = 1.0  # stricter than Discord's 3 s
    async with running(fake, make_bot(RecordingQueue(stylizer=Tiny()))) as bot:
        await fake.wait_for(lambda e: e.kind == "commands_sync")
        payload = await fake.send_slash(CHANNEL, ALICE, "style", {"size": 32, "steps": 2, "beta": 300.0},
                                        {"content": CONTENT, "style": STYLE})
        result = await wait_result(fake)
        callback = fake.interaction_responses(payload["token"])[0]
        assert callback["kind"] == "callback" and callback["type"] == 5
        # the fake answers 10062 to a callback later than its deadline; this one was accepted
        [ack] = [h for h in fake.requests if h.path.startswith(f"/interactions/{payload['id']}/")]
        assert ack.status in (200, 204)
        # the status message (the deferred response) carries the inputs; the result replies to it
        status = fake.message(CHANNEL, result["message_reference"]["message_id"])
        assert status["interaction_metadata"]["user"]["id"] == str(ALICE)
        assert [a["filename"] for a in status["attachments"]] == ["content.png", "style.png"]
        assert "style_weight=300.0" in result["embeds"][0]["footer"]["text"]
        assert bot.queue.submitted[0].options["style_weight"] == 300.0


async def test_blended_styles_are_all_submitted(fake: FakeDiscord, bot: StyleBot) -> None:
    third = ("third.png", CONTENT[1], "image/png")
    await style_message(fake, attachments=(CONTENT, STYLE, third))
    await wait_result(fake)
    assert len(bot.queue.submitted[0].styles) == 2


async def test_upload_limit_reencodes_to_fit(fake: FakeDiscord, make_bot) -> None:
    limit = 6000
    fake.guilds[GUILD]["upload_limit"] = limit  # discord.py still believes 10 MiB: a 413 comes first
    async with running(fake, make_bot()):
        await style_message(fake, args="size=96 steps=2 coarse_steps=1")
        result = await wait_result(fake)
        blob = fake.attachment_bytes(result["attachments"][0])
        assert len(blob) <= limit
        assert max(decode(blob).size) >= 64  # still a real image
        too_large = [h for h in fake.hits("POST", rf"^/channels/{CHANNEL}/messages$") if h.status == 413]
        assert too_large, "expected the fake to refuse the first upload"


async def test_rate_limited_upload_still_delivers_exactly_once(fake: FakeDiscord, bot: StyleBot) -> None:
    request = await style_message(fake)
    await fake.wait_for_message(CHANNEL, lambda m: "Queued" in m["content"] or "Painting" in m["content"])
    fake.fail_next("POST", rf"^/channels/{CHANNEL}/messages$", status=429, retry_after=0.3)
    await wait_result(fake)
    await fake.wait_for_message(CHANNEL, lambda m: "Done" in m["content"])
    posts = [h.status for h in fake.hits("POST", rf"^/channels/{CHANNEL}/messages$")]
    assert posts == [200, 429, 200]  # status message, refused upload, the retried upload
    results = [m for m in fake.messages(CHANNEL)
               if m["attachments"] and m.get("message_reference", {}).get("message_id") == request["id"]]
    assert len(results) == 1


async def test_slash_result_arrives_after_the_interaction_token_expired(fake: FakeDiscord, make_bot) -> None:
    gate = Tap(Tiny())
    async with running(fake, make_bot(RecordingQueue(stylizer=gate))):
        await fake.wait_for(lambda e: e.kind == "commands_sync")
        payload = await fake.send_slash(CHANNEL, ALICE, "style", {"size": 32, "steps": 2},
                                        {"content": CONTENT, "style": STYLE})
        await fake.wait_for_message(CHANNEL, lambda m: "Painting" in m["content"], timeout=30)
        fake.expire_interaction(payload["token"])  # as if the job had waited 15 minutes
        gate.open()
        result = await wait_result(fake)
        await fake.wait_for_message(CHANNEL, lambda m: "✅ Done" in m["content"])
        webhook_calls = [h for h in fake.requests if h.path.startswith("/webhooks/")]
        assert webhook_calls and all(h.status < 400 for h in webhook_calls)  # none used the dead token
        assert result["attachments"]

"""Animated photos end to end (local queue): a GIF or a clip comes back painted and animated, limits refuse
one clear sentence each, and an animation too large for the channel gives up colours, quality, frames, size.

The Redis-mode twin is in test_redis_mode.py; the engine's own tests are tests/engine/nst/test_video.py.
"""

from __future__ import annotations

import pytest

from bot.answers.upload import fit_animation
from bot.client import StyleBot
from bot.words import i18n
from engine.demo import gif_bytes, moving_scene
from engine.nst.media import decode_clip, encode_clip
from tests.bot.conftest import (
    ADMIN,
    ALICE,
    CHANNEL,
    STYLE,
    RecordingQueue,
    running,
    style_message,
    wait_done,
    wait_status,
    wait_text,
)
from tests.support.engines import Paced
from tests.support.fakediscord import FakeDiscord

pytestmark = pytest.mark.timeout(120)

FRAMES = moving_scene(4, 48, 36)
GIF = ("clip.gif", gif_bytes(FRAMES, duration_ms=100), "image/gif")
ANIMATED = "size=32 steps=2 coarse_steps=1 frame_steps=6"


async def test_a_gif_comes_back_as_a_painted_animation_with_progress_per_frame(fake: FakeDiscord, make_bot) -> None:
    async with running(fake, make_bot(RecordingQueue(stylizer=Paced(), preview_every=1))):  # as PREVIEW=true runs it
        # paced: 3 + 3 x 20 steps of 20 ms outlast several 0.5 s status edits on any CPU
        request = await style_message(fake, ALICE, args=ANIMATED.replace("frame_steps=6", "frame_steps=20"),
                                      attachments=(GIF, STYLE))
        result = await wait_done(fake, request)
        [attachment] = result["attachments"]
        assert attachment["filename"] == "stylized.webp"
        clip = decode_clip(fake.attachment_bytes(attachment))
        assert clip.format == "WEBP" and len(clip.frames) == 4 and clip.durations_ms == [100] * 4
        fields = {f["name"]: f["value"] for f in result["embeds"][0]["fields"]}
        assert fields["frames"].startswith("4 at 10 fps")
        assert result["embeds"][0]["image"]["url"] == "attachment://stylized.webp"
        shown = [e.data.get("content", "") for e in fake.events if e.data.get("id") != result["id"]]
        assert any("frame " in s and "/4" in s for s in shown), shown
        labels = [item.get("label") for row in result["components"] for item in row["components"]]
        assert "More style" in labels and "Upscale" not in labels  # an upscale is made of a still picture


async def test_a_strength_grid_of_an_animation_is_refused_in_one_sentence(fake: FakeDiscord, bot: StyleBot) -> None:
    await style_message(fake, ALICE, args=f"grid {ANIMATED}", attachments=(GIF, STYLE))
    await wait_text(fake, CHANNEL, "strength grids and upscales are made of still pictures, not animations")


async def test_a_clip_comes_back_as_an_mp4_video(fake: FakeDiscord, bot: StyleBot) -> None:
    mp4 = ("clip.mp4", encode_clip(FRAMES, [80] * 4, "mp4"), "video/mp4")
    request = await style_message(fake, ALICE, args=ANIMATED, attachments=(mp4, STYLE))
    result = await wait_done(fake, request)
    [attachment] = result["attachments"]
    assert attachment["filename"] == "stylized.mp4"
    clip = decode_clip(fake.attachment_bytes(attachment))
    assert clip.kind == "video" and len(clip.frames) == 4
    assert "image" not in result["embeds"][0]  # Discord plays the attachment; an embed image cannot be a video


async def test_a_server_limit_on_frames_refuses_with_one_sentence_before_queueing(fake: FakeDiscord,
                                                                                  bot: StyleBot) -> None:
    answer = await fake.send_message(CHANNEL, ADMIN, "!styleconfig set max_frames 3")
    await wait_status(fake, answer, "✅ `max_frames` is now 3")
    bad = await fake.send_message(CHANNEL, ADMIN, "!styleconfig set max_duration soon")
    await wait_status(fake, bad, "expected a number of seconds above 0, not `soon`")
    await style_message(fake, ALICE, args=ANIMATED, attachments=(GIF, STYLE))
    await wait_text(fake, CHANNEL, "the content image `clip.gif`: that animation has more than 3 frames; "
                                   "the limit here is 3")
    assert bot.queue.submitted == []


def test_an_animation_too_large_gives_up_colours_then_quality_then_frames_then_size() -> None:
    frames = moving_scene(8, 96, 72)
    gif = encode_clip(frames, [100] * 8, "gif")
    same, name, reduced = fit_animation(gif, len(gif))
    assert (same, name, reduced) == (gif, "stylized.gif", [])
    data, name, reduced = fit_animation(gif, len(gif) // 2)
    assert len(data) <= len(gif) // 2 and name == "stylized.gif" and i18n.render("en", reduced[0]).endswith("colours")
    small, _, reduced = fit_animation(gif, 4000)
    clip = decode_clip(small)
    said = [i18n.render("en", r) for r in reduced]  # catalogue messages, rendered in the reply's language
    assert len(small) <= 4000 and said == ["32 colours", "every 4th frame", f"{max(clip.size)} px"]
    assert max(clip.size) < 96
    assert len(clip.frames) == 2 and sum(clip.durations_ms) == 800  # fewer frames, same timing
    webp = encode_clip(frames, [100] * 8, "webp")
    _, name, reduced = fit_animation(webp, len(webp) * 2 // 3)
    assert name == "stylized.webp" and reduced and i18n.render("en", reduced[0]).startswith("quality")

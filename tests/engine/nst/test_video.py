"""The temporal method (Ruder et al.): flow, the reliability mask, warping, the frame loop, bytes in and out.

Real VGG19 weights on tiny synthetic clips; flicker is measured with the same warping error the
benchmark prints (bench/animation.py has the real-size figures).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from PIL import Image

from engine.demo import gif_bytes, moving_scene
from engine.errors import InputError, JobCancelled
from engine.nst.media import AnimationLimits, decode_clip
from engine.nst.params import parse_options
from engine.nst.render import render
from engine.nst.stylize import get_stylizer, level_shape
from engine.nst.types import Progress
from engine.nst.video import flows, reliable, stylize_frames, warp, warping_error
from engine.texts import english, msg
from tests.support.images import noise_image, png_bytes

STYLE = noise_image(7, 48, 48)
TINY = {"size": 40, "steps": 3, "levels": 1, "frame_steps": 2, "device": "cpu"}


def test_warping_by_the_flow_predicts_the_next_frame_where_the_mask_trusts_it() -> None:
    prev, cur = moving_scene(2, 64, 48, pan_px=2.0, disc_px=4.0)
    forward, backward = flows(prev, cur)
    mask = reliable(forward, backward)
    moved = np.asarray(warp(prev, backward), np.float32)
    target, still = np.asarray(cur, np.float32), np.asarray(prev, np.float32)
    warped_error = (np.abs(moved - target).mean(-1) * mask).sum() / mask.sum()
    unwarped_error = (np.abs(still - target).mean(-1) * mask).sum() / mask.sum()
    assert warped_error < 0.5 * unwarped_error
    assert 0.6 < mask.mean() < 1.0  # most pixels are trusted; disocclusions and boundaries are not


def test_pixels_coming_in_from_outside_the_frame_are_not_trusted() -> None:
    prev, cur = moving_scene(2, 64, 48, pan_px=4.0, disc_px=0.0)  # the camera pans: new pixels on the right
    mask = reliable(*flows(prev, cur))
    assert mask[:, -2:].mean() < 0.5 < mask[:, 16:48].mean()


def test_the_temporal_method_flickers_less_than_independent_frames() -> None:
    frames = moving_scene(3, 43, 32)
    stylizer = get_stylizer("pastiche")
    options = {"size": 43, "steps": 12, "levels": 1, "init": "noise", "device": "cpu"}
    alone, _ = stylize_frames(stylizer, frames, [STYLE], parse_options({**options, "temporal": 0}))
    steady, report = stylize_frames(stylizer, frames, [STYLE], parse_options({**options, "frame_steps": 6}))
    flicker_alone, flicker_steady = np.mean(warping_error(alone, frames)), np.mean(warping_error(steady, frames))
    assert flicker_steady < 0.5 * flicker_alone
    assert [f["steps"] for f in report["per_frame"]] == [12, 6, 6]
    assert "temporal" in report["per_frame"][1] and "temporal" not in report["per_frame"][0]


def test_progress_counts_over_the_whole_clip_and_says_the_frame() -> None:
    seen: list[Progress] = []
    frames, report = stylize_frames(get_stylizer("pastiche"), moving_scene(3, 40, 30), [STYLE],
                                    parse_options(TINY), on_progress=seen.append, preview_every=1)
    steps = [p.step for p in seen if p.preview is None or p.step]
    assert steps == sorted(steps) and seen[-1].step == seen[-1].total == 3 + 2 + 2 == report["steps"]
    assert {p.frame for p in seen} == {1, 2, 3} and {p.frames for p in seen} == {3}
    assert seen[-1].preview is not None and seen[-1].preview.startswith(b"\xff\xd8")  # the last frame, as JPEG
    assert len(frames) == 3 and report["frames"] == 3
    assert report["initial_loss"]["content"] == 0.0  # where the clip started: the first frame's photo itself


def test_cancel_stops_between_frames() -> None:
    calls = {"n": 0}

    def cancel_after_the_first_frame() -> bool:
        calls["n"] += 1
        return calls["n"] > 4  # the first frame's 3 steps, then the check before frame 2

    with pytest.raises(JobCancelled):
        stylize_frames(get_stylizer("pastiche"), moving_scene(3, 40, 30), [STYLE], parse_options(TINY),
                       should_cancel=cancel_after_the_first_frame)
    assert calls["n"] == 5


def render_animation(content: bytes, styles: list[bytes], params: Any, **kwargs: Any) -> tuple[bytes, dict[str, Any]]:
    """An animation through the one bytes-in path: the encoded clip and its report."""
    done = render(content, styles, params, **kwargs)
    assert done.clip is not None and done.picture is None
    return done.clip, done.report


def test_a_gif_job_comes_back_as_an_animated_webp_with_its_timing() -> None:
    gif = gif_bytes(moving_scene(3, 40, 30), duration_ms=120)
    data, report = render_animation(gif, [png_bytes(STYLE)], parse_options(TINY))
    clip = decode_clip(data)
    assert clip.format == "WEBP" and len(clip.frames) == 3 and clip.durations_ms == [120] * 3
    assert report["animation"] == {"format": "webp", "frames": 3, "seconds": 0.36, "fps": 8.333,
                                   "source": "GIF", "reduced": []}
    gif_out, _ = render_animation(gif, [png_bytes(STYLE)], parse_options({**TINY, "animation_format": "gif"}))
    assert decode_clip(gif_out).format == "GIF"


def test_the_output_side_is_capped_for_animations_and_the_report_says_so() -> None:
    gif = gif_bytes(moving_scene(2, 96, 72))
    data, report = render_animation(gif, [png_bytes(STYLE)], parse_options({**TINY, "size": 96}),
                               limits=AnimationLimits(side=48))
    assert decode_clip(data).size == (48, 36)
    [reduced] = report["animation"]["reduced"]  # a message (key and arguments): the bot says it in its language
    assert reduced == msg("reduced.size", size=96, side=48)
    assert english(reduced) == "size 96 → 48 px (the most for animations here)"


class MustNotRun:
    def stylize(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("stylized although the clip breaks a limit")


@pytest.mark.parametrize(("limits", "message"), [
    (AnimationLimits(frames=3), "more than 3 frames"),
    (AnimationLimits(seconds=0.2), r"lasts 0\.3 s"),
    (AnimationLimits(pixel_frames=40 * 30 * 3), "megapixel-frames"),
])
def test_limits_are_checked_before_any_work(limits: AnimationLimits, message: str) -> None:
    gif = gif_bytes(moving_scene(4, 40, 30), duration_ms=80)
    with pytest.raises(InputError, match=message):
        render_animation(gif, [png_bytes(STYLE)], parse_options(TINY), stylizer=MustNotRun(), limits=limits)


def test_frames_of_odd_size_keep_their_shape() -> None:
    frames = [Image.fromarray(np.full((71, 95, 3), 40 * i, np.uint8)) for i in range(2)]
    out, _ = stylize_frames(get_stylizer("pastiche"), frames, [STYLE], parse_options({**TINY, "size": 47}))
    assert [f.size for f in out] == [level_shape((95, 71), 47)] * 2 == [(47, 35)] * 2

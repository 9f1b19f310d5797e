"""Animated inputs and outputs: GIF/WebP/APNG and MP4/WebM round trips, limits, bombs and broken streams."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from engine.demo import gif_bytes, moving_scene
from engine.errors import InputError
from engine.nst.images import decode_image
from engine.nst.media import AnimationLimits, decode_clip, encode_clip, is_animation, probe
from tests.support.images import noise_png

FRAMES = moving_scene(6, 40, 30)


def apng_bytes(frames: list[Image.Image], duration_ms: int) -> bytes:
    buf = io.BytesIO()
    frames[0].save(buf, format="PNG", save_all=True, append_images=frames[1:], duration=duration_ms, loop=0)
    return buf.getvalue()


@pytest.mark.parametrize("kind", ["gif", "webp", "apng", "mp4"])
def test_each_format_round_trips_its_frames_and_timing(kind: str) -> None:
    durations = [80, 120, 80, 120, 80, 120] if kind != "mp4" else [80] * 6
    if kind == "apng":
        data = apng_bytes(FRAMES, 100)
        durations = [100] * 6
    else:
        data = encode_clip(FRAMES, durations, kind)
    assert is_animation(data)
    clip = decode_clip(data, side=20)
    assert len(clip.frames) == 6 and clip.size == (20, 15)  # scaled down while decoding
    assert clip.durations_ms == durations
    assert (clip.kind == "video") == (kind == "mp4")


def test_a_still_image_and_a_one_frame_gif_are_not_animations() -> None:
    assert not is_animation(noise_png(1))
    assert not is_animation(gif_bytes(FRAMES[:1]))
    assert is_animation(gif_bytes(FRAMES[:2]))


def test_too_many_frames_or_too_long_is_refused_from_the_headers_with_one_sentence() -> None:
    with pytest.raises(InputError, match=r"more than 4 frames; the limit here is 4"):
        probe(gif_bytes(FRAMES), AnimationLimits(frames=4))
    with pytest.raises(InputError, match=r"lasts 0\.5 s; the limit here is 0\.3 s"):
        probe(gif_bytes(FRAMES, duration_ms=80), AnimationLimits(seconds=0.3))


def test_a_gif_of_thousands_of_frames_is_refused_without_reading_them_all() -> None:
    tiny = [Image.new("RGB", (4, 4), (i % 256, 0, 0)) for i in range(3000)]
    data = gif_bytes(tiny, duration_ms=20)
    with pytest.raises(InputError, match="more than 48 frames"):
        decode_clip(data)


def webm_bytes(frames: list[Image.Image], fps: int = 25) -> bytes:
    """A VP9 WebM clip: Matroska headers carry no frame count, so only decoding can tell."""
    import av

    out = io.BytesIO()
    with av.open(out, mode="w", format="webm") as dst:
        stream = dst.add_stream("libvpx-vp9", rate=fps)
        stream.width, stream.height, stream.pix_fmt = *frames[0].size, "yuv420p"
        for image in frames:
            dst.mux(stream.encode(av.VideoFrame.from_image(image)))
        dst.mux(stream.encode())
    return out.getvalue()


def test_a_clip_whose_header_has_no_frame_count_is_cut_at_the_limit() -> None:
    data = webm_bytes(moving_scene(30, 32, 24))
    assert probe(data).frames == 0  # unknown until decoded
    with pytest.raises(InputError, match="more than 12 frames"):
        decode_clip(data, AnimationLimits(frames=12, seconds=60.0))
    assert len(decode_clip(data).frames) == 30


@pytest.mark.parametrize("data", [
    b"\x00\x00\x00\x18ftypisom" + b"\x00" * 64,  # an MP4 signature and nothing behind it
    b"\x1a\x45\xdf\xa3" + b"garbage" * 20,  # an EBML (WebM) signature, then garbage
])
def test_broken_streams_are_refused_with_a_sentence_not_a_crash(data: bytes) -> None:
    with pytest.raises(InputError, match="damaged|not a video|not a format"):
        decode_clip(data)


def test_a_truncated_clip_is_refused_or_cut_but_never_hangs() -> None:
    data = encode_clip(moving_scene(10, 32, 24), [40] * 10, "mp4")
    try:
        clip = decode_clip(data[: len(data) // 2])
    except InputError as exc:
        assert "damaged" in str(exc) or "no frames" in str(exc) or "not a" in str(exc)
    else:
        assert 0 < len(clip.frames) <= 10


def test_a_gif_with_a_huge_canvas_is_refused_before_decoding() -> None:
    frames = [Image.new("P", (1, 1)) for _ in range(2)]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:])
    data = bytearray(buf.getvalue())
    data[6:10] = (65000).to_bytes(2, "little") * 2  # the logical screen: 65000 x 65000
    with pytest.raises(InputError, match="too large"):
        probe(bytes(data))


@pytest.mark.parametrize(("data", "max_bytes"), [(b"", 1024), (b"GIF89a" + bytes(2048), 1024)])
def test_an_empty_or_oversized_animation_is_refused_in_the_stills_words(data: bytes, max_bytes: int) -> None:
    with pytest.raises(InputError) as still:
        decode_image(data, max_bytes=max_bytes)
    with pytest.raises(InputError) as clip:
        probe(data, max_bytes=max_bytes)
    assert str(clip.value) == str(still.value)  # one check per rule, one sentence

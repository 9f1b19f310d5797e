"""Animated inputs and outputs: GIF, WebP and APNG through Pillow, MP4/WebM/MOV clips through PyAV.

The animation counterpart of :mod:`engine.nst.images`: uploaded bytes become a :class:`Clip`
(RGB frames plus their timing) or an :class:`~engine.errors.InputError` whose message a user
can read. Uploads are untrusted, so everything that can be judged from headers (container,
canvas size, frame count, duration) is judged before a pixel is decoded, and decoding stops at
the limits instead of trusting the header: a GIF of a million 1-px frames, a clip whose header
says nothing about its length, or a stream that never ends is refused, not waited for.

Frames are scaled down to the working size as they are decoded, so memory grows with the
output, not with the upload. torch is never imported here.
"""

from __future__ import annotations

import io
import itertools
import logging
import time
from dataclasses import dataclass, field
from fractions import Fraction

from PIL import Image, ImageSequence, UnidentifiedImageError

from engine.errors import InputError
from engine.nst.images import (
    MAX_BYTES,
    MAX_PIXELS,
    _apply_orientation,
    _check_dimensions,
    _to_rgb,
    _too_large,
    check_upload,
    fit_to_size,
)
from engine.nst.params import ANIMATION_FORMATS
from engine.texts import msg

log = logging.getLogger(__name__)

ANIMATED_FORMATS = ("GIF", "WEBP", "PNG")  # Pillow ids of the animated image formats read here
# FFmpeg demuxer names of the clip containers read here (mp4 and mov share one, webm is matroska's).
VIDEO_CONTAINERS = ("mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm")
MIN_FRAME_MS = 20  # browsers show GIF frames of 0-10 ms for 100 ms; so does this (see _frame_ms)
DECODE_DEADLINE_S = 30.0  # a clip that takes longer to decode than this is refused
OUTPUT_FORMATS = tuple(f for f in ANIMATION_FORMATS if f != "auto")  # what an animation can come back as


@dataclass(frozen=True)
class AnimationLimits:
    """What one animated job may ask for; a server may lower any of them.

    ``side`` is the longest output side; None means 256 px on a CPU and 512 on a GPU
    (:meth:`side_for`). ``pixel_frames`` bounds width x height x frames of the output, the
    figure the work grows with; None means ``side`` squared times ``frames``.
    """

    frames: int = 48
    seconds: float = 10.0
    side: int | None = None
    pixel_frames: int | None = None

    def side_for(self, device_type: str) -> int:
        return self.side or (256 if device_type == "cpu" else 512)

    def pixel_frames_for(self, device_type: str) -> int:
        return self.pixel_frames or self.side_for(device_type) ** 2 * self.frames


DEFAULT_LIMITS = AnimationLimits()


@dataclass(frozen=True)
class ClipInfo:
    """What the headers of an animation say, read without decoding it (for checks before queueing)."""

    kind: str  # "image" (GIF/WebP/APNG) or "video" (MP4/WebM/MOV)
    format: str  # Pillow's id (GIF, WEBP, PNG) or the container (mp4, webm)
    width: int
    height: int
    frames: int  # counted up to the limit + 1 for images; the header's figure (0: unknown) for clips
    seconds: float


@dataclass
class Clip:
    """Decoded frames (RGB, all one size) with each frame's display time in milliseconds."""

    frames: list[Image.Image]
    durations_ms: list[int]
    kind: str = "image"
    format: str = "GIF"
    loop: int = 0  # 0 = forever (GIF/WebP/APNG)
    fps: Fraction | None = None  # a clip's nominal frame rate, kept for its output
    info: dict[str, object] = field(default_factory=dict)

    @property
    def seconds(self) -> float:
        return sum(self.durations_ms) / 1000.0

    @property
    def size(self) -> tuple[int, int]:
        return self.frames[0].size


def is_video(data: bytes) -> bool:
    """Whether ``data`` starts like an MP4/MOV (``ftyp`` box) or WebM/Matroska (EBML) file."""
    return data[4:8] == b"ftyp" or data[:4] == b"\x1a\x45\xdf\xa3"


def is_animation(data: bytes) -> bool:
    """Whether ``data`` is a clip or an image with more than one frame (cheap: headers only)."""
    if is_video(data):
        return True
    try:
        with Image.open(io.BytesIO(data), formats=ANIMATED_FORMATS) as im:
            return bool(getattr(im, "is_animated", False))
    except Exception:  # noqa: BLE001 - not an animation we read; decode_image gives the reason
        return False


def probe(data: bytes, limits: AnimationLimits = DEFAULT_LIMITS, *, max_bytes: int = MAX_BYTES) -> ClipInfo:
    """Read an animation's headers and refuse it if they break ``limits`` (InputError says which)."""
    check_upload(data, max_bytes)
    info = _probe_video(data) if is_video(data) else _probe_image(data, limits.frames)
    check_limits(info, limits)
    return info


def check_limits(info: ClipInfo, limits: AnimationLimits) -> None:
    """One sentence per limit: frames, then duration."""
    if info.frames > limits.frames:
        raise InputError(msg("input.frames_more", limit=limits.frames) if info.kind == "image"
                         else msg("input.frames_over", frames=info.frames, limit=limits.frames))
    if info.seconds > limits.seconds + 1e-6:
        raise InputError(msg("input.too_long", seconds_s=round(info.seconds, 1), limit_s=limits.seconds))


def decode_clip(data: bytes, limits: AnimationLimits = DEFAULT_LIMITS, *, side: int | None = None,
                max_bytes: int = MAX_BYTES) -> Clip:
    """Decode an animation to RGB frames no larger than ``side`` (longest side), within ``limits``.

    Raises InputError for anything that is not a readable animation within the limits; never
    reads past ``limits.frames`` + 1 frames or :data:`DECODE_DEADLINE_S` seconds.
    """
    info = probe(data, limits, max_bytes=max_bytes)
    try:
        if info.kind == "video":
            clip = _decode_video(data, limits, side)
        else:
            clip = _decode_image(data, limits, side)
    except InputError:
        raise
    except Exception as exc:
        log.info("rejected undecodable %s animation (%d bytes): %s", info.format, len(data), type(exc).__name__)
        raise InputError(msg("input.damaged", format=info.format)) from exc
    if not clip.frames:
        raise InputError(msg("input.no_frames", format=info.format))
    check_limits(ClipInfo(info.kind, info.format, *clip.size, len(clip.frames), clip.seconds), limits)
    return clip


# -- reading --------------------------------------------------------------------------------


def _frame_ms(raw: object) -> int:
    """A frame's display time; 0-10 ms (or missing) becomes 100 ms, as browsers show such GIFs."""
    ms = int(raw) if isinstance(raw, (int, float)) else 0
    return ms if ms >= MIN_FRAME_MS else 100


def _probe_image(data: bytes, max_frames: int) -> ClipInfo:
    try:
        with Image.open(io.BytesIO(data), formats=ANIMATED_FORMATS) as im:
            _check_dimensions(im.size, MAX_PIXELS)
            fmt = im.format or "image"
            frames, total_ms = 0, 0
            for frame in ImageSequence.Iterator(im):  # GIF, APNG: header by header, pixels undecoded
                frames += 1
                if fmt == "WEBP":
                    frame.load()  # Pillow reads a WebP frame's timing only as it decodes it
                total_ms += _frame_ms(frame.info.get("duration"))
                if frames > max_frames:  # stop counting: the verdict is known
                    break
            return ClipInfo("image", fmt, im.width, im.height, frames, total_ms / 1000.0)
    except InputError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise InputError(_too_large("too many pixels", MAX_PIXELS)) from None
    except UnidentifiedImageError:
        raise InputError(msg("input.not_animation")) from None
    except Exception as exc:
        raise InputError(msg("input.animation_damaged")) from exc


def _open_video(data: bytes):  # -> av.container.InputContainer
    import av

    try:
        container = av.open(io.BytesIO(data), mode="r", metadata_errors="ignore")
    except (av.error.FFmpegError, ValueError, OSError) as exc:
        raise InputError(msg("input.video_damaged")) from exc
    if container.format.name not in VIDEO_CONTAINERS or not container.streams.video:
        container.close()
        raise InputError(msg("input.not_video"))
    return container


def _probe_video(data: bytes) -> ClipInfo:
    container = _open_video(data)
    try:
        stream = container.streams.video[0]
        width, height = stream.codec_context.width, stream.codec_context.height
        _check_dimensions((width, height), MAX_PIXELS)
        seconds = 0.0
        if stream.duration is not None and stream.time_base is not None:
            seconds = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            seconds = container.duration / 1_000_000
        name = "webm" if container.format.name.startswith("matroska") else "mp4"
        return ClipInfo("video", name, width, height, int(stream.frames or 0), seconds)
    finally:
        container.close()


def _fit(frame: Image.Image, side: int | None) -> Image.Image:
    """``frame`` shrunk to ``side`` (None: as it is); never enlarged."""
    return frame if side is None or max(frame.size) <= side else fit_to_size(frame, side)


def _decode_image(data: bytes, limits: AnimationLimits, side: int | None) -> Clip:
    frames: list[Image.Image] = []
    durations: list[int] = []
    with Image.open(io.BytesIO(data), formats=ANIMATED_FORMATS) as im:
        fmt, loop = im.format or "GIF", int(im.info.get("loop", 0) or 0)
        for frame in ImageSequence.Iterator(im):
            if len(frames) == limits.frames:
                raise InputError(msg("input.frames_more", limit=limits.frames))
            frame.load()
            durations.append(_frame_ms(frame.info.get("duration")))
            frames.append(_fit(_to_rgb(_apply_orientation(frame)), side))
    return Clip(frames, durations, "image", fmt, loop)


def _decode_video(data: bytes, limits: AnimationLimits, side: int | None) -> Clip:
    container = _open_video(data)
    deadline = time.monotonic() + DECODE_DEADLINE_S
    frames: list[Image.Image] = []
    stamps: list[float] = []
    try:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        rate = stream.average_rate or stream.guessed_rate
        for frame in container.decode(stream):
            t = float(frame.pts * frame.time_base) if frame.pts is not None and frame.time_base else None
            t = t if t is not None else (stamps[-1] + 1 / float(rate or 25) if stamps else 0.0)
            if len(frames) == limits.frames or (stamps and t - stamps[0] >= limits.seconds):
                key = "input.video_frames" if len(frames) == limits.frames else "input.video_seconds"
                raise InputError(msg(key, limit=limits.frames, limit_s=limits.seconds))
            if time.monotonic() > deadline:
                raise InputError(msg("input.video_slow"))
            frames.append(_fit(frame.to_image().convert("RGB"), side))
            stamps.append(t)
    finally:
        container.close()
    fps = Fraction(rate).limit_denominator(1001) if rate else Fraction(25)
    durations = _durations_from_stamps(stamps, fps)
    return Clip(frames, durations, "video", "mp4", 0, fps)


def _durations_from_stamps(stamps: list[float], fps: Fraction) -> list[int]:
    """Display times from presentation times; the last frame lasts one nominal frame."""
    nominal = 1000.0 / float(fps)
    order = sorted(stamps)
    gaps = [max(1.0, (b - a) * 1000.0) for a, b in itertools.pairwise(order)]
    return [round(g) for g in gaps] + [round(nominal)] if stamps else []


# -- writing --------------------------------------------------------------------------------


def output_format(requested: str, clip: Clip) -> str:
    """The format of an animated result: what was asked for, else MP4 for clips and WebP for the rest."""
    if requested != "auto":
        return requested
    return "mp4" if clip.kind == "video" else "webp"


def encode_clip(frames: list[Image.Image], durations_ms: list[int], fmt: str, *, quality: int = 90,
                colors: int = 256, loop: int = 0, fps: Fraction | None = None) -> bytes:
    """Encode frames as an animated WebP or GIF (Pillow), or an H.264 MP4 (PyAV); timing kept.

    ``quality`` is WebP's quality or, for MP4, maps to x264's constant rate factor; ``colors``
    is the GIF palette size.
    """
    if fmt == "mp4":
        return _encode_mp4(frames, durations_ms, quality, fps)
    buf = io.BytesIO()
    if fmt == "gif":
        # one adaptive palette per frame (GIF's 256-colour limit), no dithering noise to flicker
        paletted = [f.convert("RGB").quantize(colors, method=Image.Quantize.MEDIANCUT,
                                              dither=Image.Dither.NONE) for f in frames]
        paletted[0].save(buf, format="GIF", save_all=True, append_images=paletted[1:], duration=durations_ms,
                         loop=loop, disposal=1, optimize=False)
    elif fmt == "webp":
        frames[0].save(buf, format="WEBP", save_all=True, append_images=frames[1:], duration=durations_ms,
                       loop=loop, quality=quality, method=4)
    else:
        raise ValueError(f"unknown animation format {fmt!r}; one of {OUTPUT_FORMATS}")
    return buf.getvalue()


def _encode_mp4(frames: list[Image.Image], durations_ms: list[int], quality: int, fps: Fraction | None) -> bytes:
    import av

    # H.264 in yuv420p needs even sides: drop the odd last row/column rather than stretch.
    width, height = (s - s % 2 for s in frames[0].size)
    crf = round(51 - 0.33 * max(0, min(100, quality)))  # quality 90 -> crf 21, 60 -> 31
    buf = io.BytesIO()
    with av.open(buf, mode="w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=fps or Fraction(1000, max(1, durations_ms[0])))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.time_base = Fraction(1, 1000)  # pts in milliseconds: any frame timing
        stream.options = {"crf": str(crf), "preset": "medium", "movflags": "+faststart"}
        t = 0
        for image, ms in zip(frames, durations_ms):
            frame = av.VideoFrame.from_image(image.convert("RGB").crop((0, 0, width, height)))
            frame.pts, frame.time_base = t, Fraction(1, 1000)
            out.mux(stream.encode(frame))
            t += ms
        out.mux(stream.encode())
    return buf.getvalue()

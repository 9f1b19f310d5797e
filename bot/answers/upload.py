"""Getting a result image into a channel: encode it to fit the upload limit, send it.

Discord refuses uploads over the channel's limit (413 / code 40005); the default is
10 MiB and a 4096 px PNG can exceed it. So the PNG is sent when it fits, else WebP or
JPEG at decreasing quality, then smaller; and if Discord still says "too large", the
budget shrinks and the upload is tried again. An animation keeps its format and gives up,
in this order, colours (GIF), quality, frames and size (:func:`fit_animation`); the reply
says what was reduced (as catalogue messages, said in the reply's language).
"""

from __future__ import annotations

import asyncio
import io
import logging
import math
from collections.abc import Awaitable, Callable
from typing import Any

import discord
from PIL import Image

from bot.core.errors import UserError, count_discord_error
from engine.nst import media
from engine.nst.images import decode_image, encode_image, fit_to_size, peek

log = logging.getLogger(__name__)

# Lossy encodings tried in turn once the PNG is too large (format, quality).
LADDER = (("WEBP", 90), ("WEBP", 75), ("JPEG", 80), ("WEBP", 60), ("WEBP", 45), ("JPEG", 50))
MIN_SIDE = 64  # smaller than this is no longer worth sending
MAX_SHRINKS = 4  # uploads refused as too large before giving up
_EXTENSIONS = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp", "GIF": "gif", "BMP": "bmp", "TIFF": "tiff"}
# The animated ladder, tried in this order: GIF palette sizes, then qualities (WebP; MP4's x264
# rate factor), then every 2nd and 4th frame, then smaller frames.
GIF_COLOURS = (256, 128, 64, 32)
QUALITIES = (90, 70, 50, 35)
FRAME_STRIDES = (1, 2, 4)
MIN_FRAMES = 2
OWN_OUTPUT = media.AnimationLimits(frames=10_000, seconds=3600.0)  # re-reading a file already checked


def upload_budget(limit: int) -> int:
    """Bytes a file may have under an upload ``limit``, leaving room for the rest of the request."""
    return max(1, limit - min(8192, limit // 16))


def fit_image(png: bytes, budget: int, name: str = "stylized") -> tuple[bytes, str]:
    """``(data, filename)`` of at most ``budget`` bytes: the file as is, or re-encoded, or smaller.

    ``png`` is normally the engine's PNG, but any format Pillow reads will do.
    """
    if len(png) <= budget:
        found = peek(png, formats=None)
        return png, f"{name}.{_EXTENSIONS.get(found[0] if found else '', 'png')}"
    image = decode_image(png)
    while True:
        data = b""
        for fmt, quality in LADDER:
            data = encode_image(image, format=fmt, quality=quality)
            if len(data) <= budget:
                return data, f"{name}.{_EXTENSIONS[fmt]}"
        side = max(image.size)
        if side <= MIN_SIDE:
            raise UserError("refusal.result_too_large")
        # Bytes scale with the area, so aim the next size at the budget instead of halving blindly.
        factor = min(0.8, math.sqrt(budget / len(data)) * 0.95)
        image = fit_to_size(image, max(MIN_SIDE, int(side * factor)))


def _animation_format(data: bytes) -> str:
    if media.is_video(data):
        return "mp4"
    found = peek(data, formats=None)
    return "gif" if found and found[0] == "GIF" else "webp"  # an APNG goes out as WebP


def _ladder(fmt: str) -> list[tuple[int, int, int]]:
    """(colours, quality, frame stride) in the order tried: colours, then quality, then frames."""
    first = [(c, QUALITIES[0], 1) for c in GIF_COLOURS] if fmt == "gif" else []
    colours = GIF_COLOURS[-1] if fmt == "gif" else 256
    quality = [] if fmt == "gif" else [(colours, q, 1) for q in QUALITIES]
    last_q = QUALITIES[0] if fmt == "gif" else QUALITIES[-1]
    return first + quality + [(colours, last_q, s) for s in FRAME_STRIDES[1:]]


def _every(frames: list[Image.Image], durations: list[int], stride: int) -> tuple[list[Image.Image], list[int]]:
    """Every ``stride``-th frame, each shown as long as the frames it stands for (timing kept)."""
    kept = list(range(0, len(frames), stride))
    return [frames[i] for i in kept], [sum(durations[i:i + stride]) for i in kept]


Reduced = list[dict[str, Any]]  # what an animation gave up to fit, as catalogue messages


def fit_animation(data: bytes, budget: int, name: str = "stylized") -> tuple[bytes, str, Reduced]:
    """``(data, filename, what was reduced)`` of an animation of at most ``budget`` bytes, same format."""
    fmt = _animation_format(data)
    if len(data) <= budget and not data.startswith(b"\x89PNG"):
        return data, f"{name}.{fmt}", []
    clip = media.decode_clip(data, OWN_OUTPUT)
    frames, side = clip.frames, max(clip.size)
    while True:
        encoded = b""
        for colours, quality, stride in _ladder(fmt):
            if stride > 1 and len(frames) // stride < MIN_FRAMES:
                break
            kept, durations = _every(frames, clip.durations_ms, stride)
            encoded = media.encode_clip(kept, durations, fmt, quality=quality, colors=colours, loop=clip.loop,
                                        fps=clip.fps / stride if clip.fps else None)
            if len(encoded) <= budget:
                return encoded, f"{name}.{fmt}", _reductions(colours, quality, stride, side, max(clip.size))
        if side <= MIN_SIDE:
            raise UserError("refusal.animation_too_large")
        side = max(MIN_SIDE, int(side * min(0.8, math.sqrt(budget / max(1, len(encoded))) * 0.95)))
        frames = [fit_to_size(f, side) for f in clip.frames]


def _reductions(colours: int, quality: int, stride: int, side: int, original: int) -> Reduced:
    said: Reduced = []
    if colours < 256:
        said.append({"key": "reduced.colours", "args": {"count": colours}})
    if quality < QUALITIES[0]:
        said.append({"key": "reduced.quality", "args": {"quality": quality}})
    if stride > 1:
        said.append({"key": "reduced.every_2nd" if stride == 2 else "reduced.every_nth", "args": {"n": stride}})
    if side < original:
        said.append({"key": "reduced.side", "args": {"side": side}})
    return said


def fit_file(data: bytes, budget: int, name: str = "stylized") -> tuple[bytes, str, Reduced]:
    """An image (:func:`fit_image`) or an animation (:func:`fit_animation`) that fits ``budget``."""
    if media.is_animation(data):
        return fit_animation(data, budget, name)
    return (*fit_image(data, budget, name), [])


Send = Callable[[discord.File, Reduced], Awaitable[discord.Message]]


async def send_fitted(send: Send, png: bytes, limit: int, name: str = "stylized", *,
                      spoiler: bool = False) -> discord.Message:
    """Call ``send(file, reduced)`` with the result as a file fitting ``limit``; shrink and retry on 413/40005.

    ``reduced`` lists what an animation gave up to fit (messages: "64 colours", "every 2nd frame"); with
    ``spoiler`` the file is a spoiler (named ``SPOILER_…``).
    """
    budget = upload_budget(limit)
    for _ in range(MAX_SHRINKS):
        data, filename, reduced = await asyncio.to_thread(fit_file, png, budget, name)
        try:
            return await send(discord.File(io.BytesIO(data), filename, spoiler=spoiler), reduced)
        except discord.HTTPException as exc:
            if exc.status != 413 and exc.code != 40005:
                raise  # counted by whoever catches it, once
            count_discord_error(exc)
            log.info("upload of %d bytes refused as too large; shrinking", len(data))
            budget = int(len(data) * 0.6)
    raise UserError("refusal.upload_too_large")

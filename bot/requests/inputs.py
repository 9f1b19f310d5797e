"""The input images of a request: find them, check them cheaply, then download and decode them.

Everything that can be judged from the attachment's metadata (count, type, declared
size) is judged before a byte is downloaded; the download is then decoded with the
engine's :func:`engine.nst.images.decode_image` (in a thread) so a corrupt file, a
decompression bomb or a huge image is refused before it reaches the queue. The photo may
also be an animation (GIF, animated WebP/APNG, an MP4/WebM/MOV clip): its headers are read
with :func:`engine.nst.media.probe` against the frame and duration limits instead.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Sequence
from typing import Any

import discord
from PIL import Image

from bot.answers.progress import PREVIEW_NAME
from bot.core.errors import UserError, discord_call, keyed
from bot.core.spoilers import plain_name
from bot.requests.links import Link
from engine.errors import InputError
from engine.nst.images import decode_image, encode_image
from engine.nst.media import DEFAULT_LIMITS, AnimationLimits, ClipInfo, is_animation, probe

log = logging.getLogger(__name__)

IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp", ".tif", ".tiff"})
VIDEO_EXTENSIONS = frozenset({".mp4", ".webm", ".mov"})
VIDEO_TYPES = frozenset({"video/mp4", "video/webm", "video/quicktime"})

def _inputs_on(message: discord.Message) -> list[discord.Attachment]:
    """A message's input images: on the bot's own status messages, without the progress preview."""
    return [a for a in message.attachments if not (message.author.bot and plain_name(a.filename) == PREVIEW_NAME)]


async def images_of(message: discord.Message) -> list[discord.Attachment]:
    """The message's attachments, or else those of the message it replies to."""
    if message.attachments:
        return _inputs_on(message)
    ref = message.reference
    if ref is None or ref.message_id is None:
        return []
    target = ref.resolved
    if not isinstance(target, discord.Message):
        try:
            target = await message.channel.fetch_message(ref.message_id)
        except discord.HTTPException:
            raise UserError("refusal.reply_gone") from None
    return _inputs_on(target)


def role(index: int) -> str:
    """What the ``index``-th input is for: content, style, style 2, ... (its file name on a status message)."""
    return "content" if index == 0 else "style" if index == 1 else f"style {index}"


def role_message(index: int) -> dict[str, Any]:
    """The same, as words of the catalogue (said inside a refusal, in its language)."""
    if index < 2:
        return {"key": "role.content" if index == 0 else "role.style", "args": {}}
    return {"key": "role.style_n", "args": {"n": index}}


def _content_type(attachment: discord.Attachment) -> str:
    return (attachment.content_type or "").split(";")[0].strip().lower()


def looks_like_image(attachment: discord.Attachment) -> bool:
    ctype = _content_type(attachment)
    return ctype.startswith("image/") or os.path.splitext(attachment.filename)[1].lower() in IMAGE_EXTENSIONS


def looks_like_video(attachment: discord.Attachment) -> bool:
    return (_content_type(attachment) in VIDEO_TYPES
            or os.path.splitext(attachment.filename)[1].lower() in VIDEO_EXTENSIONS)


def check(attachments: Sequence[discord.Attachment | Link], *, max_styles: int, max_bytes: int, saved: int = 0) -> None:
    """Refuse from metadata alone: how many, what type, declared size. Nothing is downloaded.

    ``saved`` is how many saved styles (from the server's library) the request names besides.
    """
    if saved and not attachments:
        raise UserError("refusal.saved_needs_photo")
    if len(attachments) + saved < 2:
        raise UserError("refusal.no_images" if not attachments else "refusal.one_image")
    if len(attachments) - 1 + saved > max_styles:
        key = "refusal.too_many_files_saved" if saved else "refusal.too_many_files"
        raise UserError(key, count=len(attachments), saved=saved, styles=max_styles)
    for i, att in enumerate(attachments):
        if isinstance(att, Link):
            continue  # its type and size are checked as it is fetched (bot.requests.links)
        if i == 0 and looks_like_video(att):
            pass  # the photo may be a clip; the style stays a still
        elif not looks_like_image(att):
            key = "refusal.photo_not_image" if i == 0 else "refusal.not_image"
            raise UserError(key, role=role_message(i), name=att.filename)
        if att.size > max_bytes:
            raise UserError("refusal.file_too_large", role=role_message(i), name=att.filename,
                            size_bytes=att.size, limit_bytes=max_bytes)


async def read(att: discord.Attachment | Link, refusal: UserError) -> bytes:
    """The attachment's bytes; a failed download is counted and logged (discord_call) and refused with ``refusal``."""
    with discord_call(log, "download of attachment %s failed", att.id):
        return await att.read()
    raise refusal


async def _read(att: discord.Attachment | Link, index: int) -> bytes:
    return await read(att, UserError("refusal.download", role=role_message(index), name=att.filename))


async def download(attachments: Sequence[discord.Attachment | Link], *, max_bytes: int,
                   limits: AnimationLimits = DEFAULT_LIMITS) -> tuple[list[bytes], ClipInfo | None]:
    """Download and check each file; InputError says which one is bad and why.

    Images are decoded (only to validate them); an animated photo has its headers read
    against ``limits``, and what they say comes back with the files (None for a still).
    """
    blobs = await asyncio.gather(*(_read(att, i) for i, att in enumerate(attachments)))
    clip = None
    for i, (att, blob) in enumerate(zip(attachments, blobs)):
        try:
            if i == 0 and await asyncio.to_thread(is_animation, blob):
                clip = await asyncio.to_thread(probe, blob, limits, max_bytes=max_bytes)
            else:
                await asyncio.to_thread(decode_image, blob, max_bytes=max_bytes)
        except InputError as exc:
            raise keyed(InputError, "refusal.bad_file", role=role_message(i), name=att.filename,
                        reason=exc.message or {"key": "job.note", "args": {"note": str(exc)}}) from None
    return list(blobs), clip


SAMPLE_SIDE = 512  # px: a saved painting shrunk to this is all the draft network's style predictor uses


def style_sample(painting: bytes) -> bytes:
    """A saved painting as a sheet of drafts needs it: at most :data:`SAMPLE_SIDE` px, as a JPEG.

    The style predictor looks at the painting's central square at 256 px, so this loses nothing
    it sees, and a sheet of fifty styles travels through the queue as a few MB, not hundreds.
    """
    image = decode_image(painting)
    image.thumbnail((SAMPLE_SIDE, SAMPLE_SIDE), Image.Resampling.LANCZOS)
    return encode_image(image, format="JPEG", quality=90)


def style_samples(paintings: Sequence[bytes]) -> list[bytes]:
    return [style_sample(p) for p in paintings]

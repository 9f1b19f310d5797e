"""Pictures that are not attachments: an embed's image, a member's avatar, read through discord.py.

The intake path (:mod:`bot.requests.inputs`) judges and downloads :class:`discord.Attachment` objects by
their ``filename``, ``size``, ``content_type``, ``id`` and ``read()``. A :class:`Picture` has
the same five, so an embed image or an avatar goes through exactly the same checks and words
as an uploaded file. Both are read from Discord's CDN with discord.py's own session
(``HTTPClient.get_from_cdn``, which :meth:`discord.Asset.read` uses too), never from a link
a user typed: an embed image is read through Discord's media proxy (``proxy_url``) or from
Discord's CDN, and skipped otherwise.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import discord

from bot.requests.inputs import looks_like_image, looks_like_video

DISCORD_CDN_HOSTS = frozenset({"cdn.discordapp.com", "media.discordapp.net"})


@dataclass(frozen=True)
class Picture:
    """An image the bot reads from Discord's CDN, shaped like an attachment for :mod:`bot.requests.inputs`.

    ``size`` is 0 when Discord does not say it (an embed image, an avatar); the download is then
    held to the same byte limit by the decoder.
    """

    id: int
    filename: str
    content_type: str | None
    reader: Callable[[], Awaitable[bytes]]
    size: int = 0

    async def read(self) -> bytes:
        return await self.reader()


Image = discord.Attachment | Picture


def _embed_picture(http: Any, message: discord.Message, index: int, media: Any) -> Picture | None:
    url = media.proxy_url or (media.url if urlsplit(media.url or "").hostname in DISCORD_CDN_HOSTS else None)
    if not url or urlsplit(url).scheme not in ("http", "https"):
        return None
    name = os.path.basename(urlsplit(media.url or url).path) or f"embed-{index}.png"
    return Picture(message.id * 10 + index, name, "image/*", lambda: http.get_from_cdn(url))


def pictures_on(message: discord.Message, http: Any) -> list[Image]:
    """The message's images in order: its image (or clip) attachments, then its embeds' images and thumbnails.

    An embed that shows one of the message's own attachments is not counted twice. ``http`` is the
    client's ``discord.http.HTTPClient`` (``bot.http``), whose session reads Discord's CDN.
    """
    found: list[Image] = [a for a in message.attachments if looks_like_image(a) or looks_like_video(a)]
    seen = {a.url for a in message.attachments} | {a.proxy_url for a in message.attachments}
    for embed in message.embeds:
        for media in (embed.image, embed.thumbnail):
            if not media or media.url in seen or media.proxy_url in seen:
                continue
            picture = _embed_picture(http, message, len(found), media)
            if picture is not None:
                seen.add(media.url)
                found.append(picture)
    return found


def avatar_of(member: discord.Member | discord.User) -> Picture:
    """A member's avatar as shown where they are: the server avatar when they set one, else their own.

    An animated avatar is read as a GIF, so it is painted like any animated photo; a still one as PNG.
    """
    asset = member.display_avatar
    if asset.is_animated():
        asset, name, ctype = asset.with_format("gif"), "avatar.gif", "image/gif"
    else:
        asset, name, ctype = asset.with_static_format("png"), "avatar.png", "image/png"
    asset = asset.with_size(512)
    return Picture(member.id, name, ctype, asset.read)

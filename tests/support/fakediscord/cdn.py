"""Attachment storage and download: what ``cdn.discordapp.com`` and ``media.discordapp.net`` serve.

An attachment's ``url`` and ``proxy_url`` point back at this server, so the bot's real download code
runs; every download is logged, so a test can prove the bot did (or did not) fetch a file.
"""

from __future__ import annotations

import io
import mimetypes
from typing import Any
from urllib.parse import quote

from aiohttp import web

from tests.support.fakediscord.wire import ApiError
from tests.support.fakediscord.world import World


def _image_size(blob: bytes) -> dict[str, int]:
    """Width and height, which Discord reports for images (when Pillow can read the header)."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(blob)) as image:
            return {"width": image.width, "height": image.height}
    except (OSError, ValueError, Image.DecompressionBombError):  # unreadable or a bomb: no size to report
        return {}


class Cdn:
    """The bytes behind attachments, by attachment id, and the routes that serve them."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.origin = "http://127.0.0.1:0"  # the server's address, once it listens
        self.blobs: dict[int, bytes] = {}
        self.downloads: list[int] = []  # ids of attachments fetched from url/proxy_url
        self.avatar_downloads: list[str] = []  # paths (with query) of avatars fetched

    def add_routes(self, router: web.UrlDispatcher) -> None:
        """Serve attachments at their ``url`` and their ``proxy_url``."""
        router.add_get("/attachments/{channel}/{att}/{name}", self.download)
        router.add_get("/proxy/attachments/{channel}/{att}/{name}", self.download)
        router.add_get("/avatars/{user}/{file}", self.avatar)
        router.add_get("/guilds/{guild}/users/{user}/avatars/{file}", self.avatar)
        router.add_get("/embed/avatars/{file}", self.default_avatar)

    def store(
        self, channel_id: int, filename: str, blob: bytes, content_type: str | None,
        declared_size: int | None = None, *, ephemeral: bool = False,
    ) -> dict[str, Any]:
        """Keep ``blob`` and return its attachment dict; ``declared_size`` replaces the real size."""
        att_id = self.world.snowflake()
        self.blobs[att_id] = blob
        url = f"{self.origin}/attachments/{channel_id}/{att_id}/{quote(filename)}"
        if content_type in (None, "application/octet-stream"):  # discord.py uploads everything as such
            content_type = mimetypes.guess_type(filename)[0] or content_type
        size = len(blob) if declared_size is None else declared_size
        att = {"id": str(att_id), "filename": filename, "size": size, "content_type": content_type,
               "url": url, "proxy_url": url.replace("/attachments/", "/proxy/attachments/", 1),
               "ephemeral": ephemeral}
        return {**att, **(_image_size(blob) if (content_type or "").startswith("image/") else {})}

    def bytes_of(self, attachment: dict[str, Any] | int | str) -> bytes:
        """The bytes behind an attachment dict (as in a message) or attachment id."""
        return self.blobs[int(attachment["id"] if isinstance(attachment, dict) else attachment)]

    async def download(self, request: web.Request) -> web.StreamResponse:
        """GET an attachment: its bytes, typed by its file name."""
        if (att_id := int(request.match_info["att"])) not in self.blobs:
            raise ApiError(404, 0, "404: Not Found")
        self.downloads.append(att_id)
        ctype = mimetypes.guess_type(request.match_info["name"])[0] or "application/octet-stream"
        return web.Response(body=self.blobs[att_id], content_type=ctype)

    async def avatar(self, request: web.Request) -> web.StreamResponse:
        """An avatar (a user's or a member's server avatar) by its hash, as stored; logged in ``avatar_downloads``."""
        avatar, ext = request.match_info["file"].rsplit(".", 1)
        if (blob := self.world.avatars.get(avatar)) is None:
            raise ApiError(404, 0, "404: Not Found")
        self.avatar_downloads.append(request.path_qs)
        return web.Response(body=blob, content_type=mimetypes.guess_type(f"x.{ext}")[0] or "image/png")

    async def default_avatar(self, request: web.Request) -> web.StreamResponse:
        """One of Discord's default avatars (a user without one): a plain 64 px PNG."""
        from PIL import Image

        out = io.BytesIO()
        Image.new("RGB", (64, 64), (88, 101, 242)).save(out, format="PNG")
        self.avatar_downloads.append(request.path_qs)
        return web.Response(body=out.getvalue(), content_type="image/png")

"""What the fake's HTTP side shares: Discord's JSON responses, its error shape, request bodies."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

API_PREFIX = "/api/v10"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ApiError(Exception):
    """An error answer in Discord's shape: HTTP status plus JSON ``{"message", "code"}``."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status, self.code, self.message = status, code, message

    def response(self) -> web.Response:
        """The answer a route gives when it raises this."""
        return json_response({"message": self.message, "code": self.code}, status=self.status)


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """A JSON answer whose Content-Type is exactly ``application/json``.

    discord.py compares Content-Type with "application/json" verbatim (http.py:110-119), and
    aiohttp's json_response/text= append "; charset=utf-8", so send bytes with the header by hand.
    """
    headers = {**(headers or {}), "Content-Type": "application/json"}
    return web.Response(body=json.dumps(data).encode(), status=status, headers=headers)


async def read_body(request: web.Request, limit: int) -> tuple[dict[str, Any], list[tuple]]:
    """JSON, or multipart ``payload_json`` + ``files[n]``; 413/40005 when the files exceed ``limit``."""
    if not request.content_type.startswith("multipart/"):
        return (await request.json() if request.can_read_body else {}), []
    form = await request.post()
    payload = json.loads(form.get("payload_json") or "{}")
    files = [(v.filename, v.file.read(), v.content_type)
             for k, v in form.items() if k.startswith("files[")]
    if sum(len(blob) for _, blob, _ in files) > limit:
        raise ApiError(413, 40005, "Request entity too large")
    return payload, files

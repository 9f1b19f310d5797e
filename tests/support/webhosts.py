"""A fake public internet on 127.0.0.1, for the bot's link fetcher (:mod:`bot.requests.links`).

:class:`WebHosts` is an aiohttp server on 127.0.0.1 with the pages the link tests need (an
image, HTML served as ``image/png``, redirects, bodies that never end, a 404) and a
:class:`~bot.requests.links.Network` that stands for DNS: names map to addresses the test chooses
(public ones, or private ones to be refused), and a connection to the fake public address
:data:`PUBLIC` is routed to the server. The fetcher's public-address check stays as in the
product: whatever these names resolve to is judged by it.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Self

from aiohttp import web

from bot.requests.links import Network
from tests.support.images import noise_png

PUBLIC = "93.184.215.14"  # a global unicast address: the fake name resolves to it, routed here
BLACKHOLE = "93.184.215.15"  # routed to a socket that never accepts: connects time out
HOST = "photos.example"
IMAGE = noise_png(7, 40, 30)
FOREVER_CHUNK = b"\0" * 65536


class WebHosts:
    """The server, the names it answers for, and every path it was asked for."""

    def __init__(self) -> None:
        self.names: dict[str, list[str]] = {HOST: [PUBLIC]}
        self.lookups: list[str] = []
        self.hits: list[str] = []
        self.port = 0
        self._runner: web.AppRunner | None = None
        self._blackhole: list[socket.socket] = []
        self._blackhole_port = 0

    # -- the network the fetcher sees ------------------------------------------------------------
    @property
    def network(self) -> Network:
        return Network(lookup=self._lookup, route=self._route)

    async def _lookup(self, host: str, port: int) -> list[str]:
        self.lookups.append(host)
        if host not in self.names:
            raise socket.gaierror(socket.EAI_NONAME, "unknown name")
        return list(self.names[host])

    def _route(self, address: str, port: int) -> tuple[str, int]:
        if address == PUBLIC:
            return "127.0.0.1", self.port
        if address == BLACKHOLE:
            return "127.0.0.1", self._blackhole_port
        raise AssertionError(f"the fetcher connected to {address}, which the test never routes")

    def url(self, path: str, host: str = HOST) -> str:
        return f"http://{host}{path}"

    # -- the server -------------------------------------------------------------------------------
    async def __aenter__(self) -> Self:
        app = web.Application()
        app.router.add_get("/{path:.*}", self._serve)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._open_blackhole()
        return self

    async def __aexit__(self, *exc: object) -> None:
        for sock in self._blackhole:
            sock.close()
        assert self._runner is not None
        await self._runner.cleanup()

    def _open_blackhole(self) -> None:
        """A listening socket whose accept queue is full: new connections hang in SYN_SENT."""
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        self._blackhole_port = listener.getsockname()[1]
        self._blackhole.append(listener)
        for _ in range(3):
            filler = socket.socket()
            filler.setblocking(False)
            try:
                filler.connect(("127.0.0.1", self._blackhole_port))
            except BlockingIOError:
                pass
            self._blackhole.append(filler)

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["path"]
        self.hits.append(path)
        if path == "/image.png":
            return web.Response(body=IMAGE, content_type="text/plain")  # the declared type is not trusted
        if path == "/page.png":
            return web.Response(body=b"<html><body>not a picture</body></html>", content_type="image/png")
        if path.startswith("/hops/"):
            left = int(path.rsplit("/", 1)[1])
            raise web.HTTPFound(f"/hops/{left - 1}" if left else "/image.png")
        if path == "/to-loopback":
            raise web.HTTPFound(f"http://127.0.0.1:{self.port}/image.png")
        if path == "/to-intranet":
            raise web.HTTPFound("http://intranet.example/image.png")
        if path == "/to-file":
            raise web.HTTPFound("file:///etc/passwd")
        if path == "/forever-fast":
            return await self._forever(request, FOREVER_CHUNK, 0.0)
        if path == "/forever-slow":
            return await self._forever(request, b"\x89", 0.05)
        if path.startswith("/sized/"):
            size = int(path.rsplit("/", 1)[1])
            return web.Response(body=IMAGE + b"\0" * max(0, size - len(IMAGE)), content_type="image/png")
        raise web.HTTPNotFound()

    async def _forever(self, request: web.Request, chunk: bytes, pause: float) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "image/png"})
        await response.prepare(request)
        try:
            while True:
                await response.write(chunk)
                await asyncio.sleep(pause)
        except (ConnectionError, asyncio.CancelledError, RuntimeError):
            pass
        return response


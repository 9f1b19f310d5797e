"""Images named by links (``!style https://…``, ``/style content_url:…``): fetched safely by construction.

The bot fetches what strangers name, so every fetch goes through one path that cannot reach
the bot's own network: http/https only; the host looked up once and refused when *any* of its
addresses is not public (:func:`is_public`); the connection made to the addresses that were
checked (:class:`_Pinned` answers aiohttp's lookups with them, so there is no second lookup
to race); at most :data:`MAX_REDIRECTS` redirects, each checked the same way; a connect and a
total time limit; the body streamed and dropped past the byte limit attachments have; and the
bytes sniffed as an image or clip, whatever the server says they are. Each refusal is one
sentence (:class:`LinkRefused`).

:class:`Network` is where names are looked up and where connections go. The product uses DNS
and the checked address itself; tests pass a fake public internet that lives on 127.0.0.1. The
public-address check itself is not a parameter: it cannot be switched off.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from bot.core.errors import UserError
from engine.nst.images import looks_like_image
from engine.nst.media import is_video

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 5.0  # to open the connection to one address
TOTAL_TIMEOUT_S = 20.0  # for the whole fetch: lookups, redirects and the body
MAX_REDIRECTS = 3
SCHEMES = ("http", "https")
REDIRECTS = frozenset({301, 302, 303, 307, 308})
CHUNK = 64 * 1024
SHOWN_CHARS = 80  # how much of a link a refusal quotes (host and path; never the query, which may be a token)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# Not public, though Python's is_global says so (or may, by version): IETF protocol assignments,
# NAT64's local-use prefix, the deprecated IPv4-compatible IPv6 block.
_ALSO_NOT_PUBLIC = tuple(ipaddress.ip_network(n) for n in ("192.0.0.0/24", "64:ff9b:1::/48", "::/96"))
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class LinkRefused(UserError):
    """A link the bot will not fetch, or whose answer is not an image; the message says why."""


def is_public(ip: IPAddress) -> bool:
    """Whether ``ip`` is an ordinary public unicast address; IPv6 forms that carry an IPv4 address
    (IPv4-mapped, 6to4, NAT64) are judged by that address."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (
            ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF) if ip in _NAT64 else None)
        if embedded is not None:
            return is_public(embedded)
        if ip.is_site_local or ip.teredo:
            return False
    if any(ip in net for net in _ALSO_NOT_PUBLIC if net.version == ip.version):
        return False
    return ip.is_global and not (ip.is_multicast or ip.is_private or ip.is_reserved or ip.is_loopback
                                 or ip.is_link_local or ip.is_unspecified)


def shown(url: str | URL) -> str:
    """A link as refusals and logs quote it: host and path, without the query (it may hold a token)."""
    try:
        parsed = URL(str(url))
        short = f"{parsed.host or ''}{parsed.path if parsed.path != '/' else ''}" or str(url)
    except (ValueError, TypeError):
        short = str(url)
    return short if len(short) <= SHOWN_CHARS else short[:SHOWN_CHARS - 1] + "…"


def is_link(word: str) -> bool:
    """Whether a word of a command is meant as a link (``scheme://…``, maybe in Discord's ``<…>``)."""
    word = word.strip("<>")
    scheme, sep, _ = word.partition("://")
    return bool(sep) and scheme.isascii() and scheme.replace("+", "").replace("-", "").replace(".", "").isalnum()


def parse_link(link: str) -> URL:
    """The link as a URL, or :class:`LinkRefused` when it is not an http(s) link with a host."""
    raw = link.strip().strip("<>")
    try:
        url = URL(raw)
    except (ValueError, TypeError):
        raise LinkRefused("link.refused.unreadable", url=shown(raw)) from None
    if url.scheme.lower() not in SCHEMES:
        raise LinkRefused("link.refused.scheme", url=shown(raw))
    if not url.host:
        raise LinkRefused("link.refused.unreadable", url=shown(raw))
    return url


Lookup = Callable[[str, int], Awaitable[list[str]]]  # (host, port) -> addresses
Route = Callable[[str, int], tuple[str, int]]  # a checked (address, port) -> where to connect


async def system_lookup(host: str, port: int) -> list[str]:
    """The host's addresses from the system resolver (DNS), each once."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def direct(address: str, port: int) -> tuple[str, int]:
    return address, port


@dataclass(frozen=True)
class Network:
    """Where names are looked up (``lookup``) and where a connection to a checked address goes
    (``route``): DNS and the address itself, unless a test passes its own."""

    lookup: Lookup = system_lookup
    route: Route = direct


def _normal(host: str) -> str:
    return host.rstrip(".").lower()


class _Pinned(AbstractResolver):
    """aiohttp's resolver for one request: the checked addresses of one host, and nothing else."""

    def __init__(self, host: str, addresses: list[str], route: Route) -> None:
        self.host, self.addresses, self.route = _normal(host), addresses, route

    async def resolve(self, host: str, port: int = 0, family: int = socket.AF_INET) -> list[ResolveResult]:
        if _normal(host) != self.host:  # cannot happen: one session per checked host, redirects not followed
            raise OSError(f"{host} was not checked")
        results: list[ResolveResult] = []
        for address, to_port in (self.route(a, port) for a in self.addresses):
            kind = socket.AF_INET6 if ":" in address else socket.AF_INET
            results.append(ResolveResult(hostname=host, host=address, port=to_port, family=kind, proto=0,
                                         flags=socket.AI_NUMERICHOST))
        return results

    async def close(self) -> None:
        return None


@dataclass
class LinkFetcher:
    """Fetches the image a link names, refusing (:class:`LinkRefused`) everything :mod:`bot.requests.links` lists."""

    max_bytes: int
    network: Network = field(default_factory=Network)
    connect_timeout_s: float = CONNECT_TIMEOUT_S
    total_timeout_s: float = TOTAL_TIMEOUT_S
    max_redirects: int = MAX_REDIRECTS

    async def fetch(self, link: str) -> bytes:
        """The bytes of the image ``link`` names (sniffed: an image or a clip, whatever its declared type)."""
        url = parse_link(link)
        try:
            async with asyncio.timeout(self.total_timeout_s):
                data = await self._follow(url)
        except TimeoutError:
            raise LinkRefused("link.refused.too_slow", url=shown(link), limit_s=self.total_timeout_s) from None
        if not await asyncio.to_thread(looks_like_media, data):
            raise LinkRefused("link.refused.not_image", url=shown(link))
        log.info("fetched %d bytes from link host %s", len(data), url.host)
        return data

    async def _follow(self, url: URL) -> bytes:
        for _ in range(self.max_redirects + 1):
            addresses = await self._check(url)
            data, location = await self._get(url, addresses)
            if location is None:
                return data
            url = url.join(URL(location))
            if url.scheme.lower() not in SCHEMES or not url.host:
                raise LinkRefused("link.refused.scheme", url=shown(url))
        raise LinkRefused("link.refused.redirects", url=shown(url), count=self.max_redirects)

    async def _check(self, url: URL) -> list[str]:
        """The host's addresses, looked up once; refused unless every one is public."""
        host = url.raw_host or ""  # the ASCII (IDNA) form, as aiohttp connects to it
        try:
            addresses = [str(ipaddress.ip_address(host))]
        except ValueError:
            try:
                addresses = await self.network.lookup(host, url.port or 0)
            except OSError:
                addresses = []
        if not addresses:
            raise LinkRefused("link.refused.unknown_host", url=shown(url))
        for address in addresses:
            if not is_public(ipaddress.ip_address(address.split("%")[0])):
                log.info("link refused: host %s has the non-public address %s", host, address)
                raise LinkRefused("link.refused.private", url=shown(url))
        return addresses

    async def _get(self, url: URL, addresses: list[str]) -> tuple[bytes, str | None]:
        """One request to the checked addresses: ``(body, None)``, or ``(b"", location)`` for a redirect."""
        connector = aiohttp.TCPConnector(resolver=_Pinned(url.raw_host or "", addresses, self.network.route),
                                         use_dns_cache=False, force_close=True)
        timeout = aiohttp.ClientTimeout(total=None, connect=self.connect_timeout_s,
                                        sock_connect=self.connect_timeout_s)
        try:
            async with aiohttp.ClientSession(connector=connector, timeout=timeout, auto_decompress=False,
                                             trust_env=False) as session, \
                    session.get(url, allow_redirects=False,
                                headers={"Accept-Encoding": "identity", "User-Agent": "stylebot"}) as response:
                if response.status in REDIRECTS and response.headers.get("Location"):
                    return b"", response.headers["Location"]
                if response.status != 200:
                    raise LinkRefused("link.refused.status", url=shown(url), status=response.status)
                return await self._body(response, url), None
        except aiohttp.ServerTimeoutError:
            raise LinkRefused("link.refused.connect_timeout", url=shown(url)) from None
        except (aiohttp.ClientError, OSError) as exc:
            log.info("link to host %s failed: %s", url.host, type(exc).__name__)
            raise LinkRefused("link.refused.failed", url=shown(url)) from None

    async def _body(self, response: aiohttp.ClientResponse, url: URL) -> bytes:
        """The body, streamed: refused as soon as it passes the byte limit (whatever Content-Length said)."""
        too_large = LinkRefused("link.refused.too_large", url=shown(url), limit_bytes=self.max_bytes)
        if response.content_length is not None and response.content_length > self.max_bytes:
            raise too_large
        body = bytearray()
        async for chunk in response.content.iter_chunked(CHUNK):
            body += chunk
            if len(body) > self.max_bytes:
                raise too_large
        return bytes(body)


def looks_like_media(data: bytes) -> bool:
    """Whether the bytes are an image Pillow reads (the engine's formats) or a clip; the header only."""
    if not data:
        return False
    if is_video(data):
        return True
    return looks_like_image(data)


@dataclass
class Link:
    """An image named by a link, in a request's list of inputs beside attachments (see :mod:`bot.requests.inputs`)."""

    url: str
    fetcher: LinkFetcher

    def __post_init__(self) -> None:
        parse_link(self.url)  # refused now, before anything is fetched

    @property
    def filename(self) -> str:
        return shown(self.url)

    @property
    def id(self) -> str:
        return shown(self.url)

    async def read(self) -> bytes:
        return await self.fetcher.fetch(self.url)

"""The link fetcher's safety, case by case, against a fake public internet on 127.0.0.1 (tests/support/webhosts).

Every refusal happens before a byte reaches a non-public address: the tests check the server's
log of requests, the lookups made, and the one sentence each refusal is.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import AsyncIterator

import pytest

from bot.requests.links import LinkFetcher, LinkRefused, is_link, is_public
from tests.support.webhosts import BLACKHOLE, HOST, IMAGE, PUBLIC, WebHosts

pytestmark = pytest.mark.timeout(60)

NOT_PUBLIC = [
    "127.0.0.1", "127.255.0.9", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1",
    "0.0.0.0", "255.255.255.255", "224.0.0.1", "239.255.255.250", "240.0.0.1", "198.18.0.1", "192.0.0.8",
    "192.0.2.1",  # documentation
    "::1", "::", "fe80::1", "fc00::1", "fd12:3456::1", "fec0::1", "ff02::1", "ff0e::1", "2001:db8::1",
    "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254",  # IPv4-mapped
    "2002:7f00:1::", "2002:a00:1::",  # 6to4 of 127.0.0.1 and 10.0.0.1
    "64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe", "64:ff9b:1::1",  # NAT64 of 127.0.0.1 and 169.254.169.254, local-use
    "::127.0.0.1",  # IPv4-compatible (deprecated)
    "2001::1",  # Teredo
]
PUBLIC_ADDRESSES = [PUBLIC, "8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::"]


@pytest.mark.parametrize("address", NOT_PUBLIC)
def test_every_kind_of_non_public_address_is_refused(address: str) -> None:
    assert not is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", PUBLIC_ADDRESSES)
def test_public_addresses_pass(address: str) -> None:
    assert is_public(ipaddress.ip_address(address))


@pytest.fixture
async def web() -> AsyncIterator[WebHosts]:
    async with WebHosts() as hosts:
        yield hosts


def fetcher(web: WebHosts, **kwargs: float) -> LinkFetcher:
    options = {"max_bytes": 200_000, "connect_timeout_s": 0.5, "total_timeout_s": 3.0, **kwargs}
    return LinkFetcher(network=web.network, **options)  # type: ignore[arg-type]


async def refusal(web: WebHosts, url: str, **kwargs: float) -> str:
    with pytest.raises(LinkRefused) as caught:
        await fetcher(web, **kwargs).fetch(url)
    message = str(caught.value)
    assert "\n" not in message and len(message) < 300
    return message


async def test_a_good_image_is_fetched_whatever_type_the_server_declares(web: WebHosts) -> None:
    data = await fetcher(web).fetch(web.url("/image.png?token=secret"))
    assert data == IMAGE and web.hits == ["/image.png"] and web.lookups == [HOST]


@pytest.mark.parametrize("url", ["ftp://photos.example/a.png", "file:///etc/passwd", "gopher://photos.example/",
                                 "data:image/png;base64,iVBORw0KGgo=", "javascript:alert(1)"])
async def test_only_http_and_https_are_fetched(web: WebHosts, url: str) -> None:
    assert "not an http or https link" in await refusal(web, url)
    assert web.lookups == [] and web.hits == []


@pytest.mark.parametrize("address", NOT_PUBLIC[:12] + ["::1", "fe80::1", "::ffff:127.0.0.1", "2002:7f00:1::",
                                                       "64:ff9b::7f00:1", "ff02::1"])
async def test_a_name_resolving_to_a_non_public_address_is_refused_before_connecting(
        web: WebHosts, address: str) -> None:
    web.names["inside.example"] = [address]
    text = await refusal(web, "https://inside.example/image.png")
    assert "private or local network address" in text and "inside.example/image.png" in text
    assert web.hits == []  # _route raises if a connection was attempted anywhere else


async def test_one_private_address_among_public_ones_is_enough_to_refuse(web: WebHosts) -> None:
    web.names["mixed.example"] = [PUBLIC, "10.0.0.7"]
    assert "private or local" in await refusal(web, "http://mixed.example/image.png")
    assert web.hits == []


@pytest.mark.parametrize("host", ["127.0.0.1", "[::1]", "[::ffff:127.0.0.1]", "169.254.169.254", "0.0.0.0"])
async def test_an_address_written_in_the_link_is_checked_too(web: WebHosts, host: str) -> None:
    port = f":{web.port}" if host == "127.0.0.1" else ""
    assert "private or local" in await refusal(web, f"http://{host}{port}/image.png")
    assert web.hits == [] and web.lookups == []


async def test_the_host_is_looked_up_once_and_the_checked_address_is_the_one_connected_to(web: WebHosts) -> None:
    answers = iter([[PUBLIC], ["127.0.0.1"]])  # a rebinding DNS: public when checked, loopback after

    async def rebinding(host: str, port: int) -> list[str]:
        web.lookups.append(host)
        return next(answers)

    rebinder = fetcher(web)
    rebinder.network = type(web.network)(lookup=rebinding, route=web.network.route)
    assert await rebinder.fetch(web.url("/image.png")) == IMAGE
    assert web.lookups == [HOST]


async def test_a_redirect_from_a_public_name_to_loopback_is_refused(web: WebHosts) -> None:
    assert "private or local" in await refusal(web, web.url("/to-loopback"))
    assert web.hits == ["/to-loopback"]


async def test_a_redirect_to_a_name_with_a_private_address_is_refused(web: WebHosts) -> None:
    web.names["intranet.example"] = ["192.168.0.10"]
    assert "private or local" in await refusal(web, web.url("/to-intranet"))
    assert web.hits == ["/to-intranet"] and web.lookups == [HOST, "intranet.example"]


async def test_a_redirect_to_another_scheme_is_refused(web: WebHosts) -> None:
    assert "not an http or https link" in await refusal(web, web.url("/to-file"))


async def test_three_redirects_are_followed_and_a_fourth_is_refused(web: WebHosts) -> None:
    assert await fetcher(web).fetch(web.url("/hops/2")) == IMAGE  # /hops/2 -> 1 -> 0 -> /image.png
    web.hits.clear()
    assert "redirects more than 3 times" in await refusal(web, web.url("/hops/3"))
    assert web.hits == ["/hops/3", "/hops/2", "/hops/1", "/hops/0"]


async def test_a_server_that_does_not_accept_the_connection_hits_the_connect_limit(web: WebHosts) -> None:
    web.names["slow.example"] = [BLACKHOLE]
    started = time.monotonic()
    assert "did not answer in time" in await refusal(web, "http://slow.example/image.png", connect_timeout_s=0.3)
    assert time.monotonic() - started < 2.0


async def test_a_server_that_trickles_forever_hits_the_total_limit(web: WebHosts) -> None:
    started = time.monotonic()
    assert "took longer than 1 s" in await refusal(web, web.url("/forever-slow"), total_timeout_s=1.0)
    assert time.monotonic() - started < 2.5


async def test_a_server_that_streams_forever_is_cut_at_the_byte_limit(web: WebHosts) -> None:
    started = time.monotonic()
    assert "larger than 195 KB" in await refusal(web, web.url("/forever-fast"), total_timeout_s=30.0)
    assert time.monotonic() - started < 5.0  # the byte limit, not the time limit, stopped it


async def test_an_oversized_body_is_refused_and_one_at_the_limit_passes(web: WebHosts) -> None:
    assert "larger than" in await refusal(web, web.url("/sized/200001"))
    assert len(await fetcher(web).fetch(web.url("/sized/200000"))) == 200_000


async def test_bytes_that_are_not_an_image_are_refused_whatever_the_declared_type(web: WebHosts) -> None:
    assert "does not lead to an image" in await refusal(web, web.url("/page.png"))


async def test_an_error_status_and_an_unknown_name_are_one_sentence_each(web: WebHosts) -> None:
    assert "error 404" in await refusal(web, web.url("/missing.png"))
    assert "couldn't find the server" in await refusal(web, "https://nowhere.example/a.png")


async def test_an_international_name_is_looked_up_and_connected_to_in_its_ascii_form(web: WebHosts) -> None:
    web.names["xn--bcher-kva.example."] = [PUBLIC]
    assert await fetcher(web).fetch("http://bücher.example./image.png") == IMAGE
    assert web.lookups == ["xn--bcher-kva.example."]


def test_words_that_are_links() -> None:
    assert is_link("https://cdn.discordapp.com/a.png?ex=1&hm=2") and is_link("<http://x.example/a>")
    assert is_link("ftp://x.example/a") and not is_link("starry") and not is_link("beta=3")

"""Bad input gets one clear answer, never a crash or silence; nothing is downloaded or queued needlessly."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image

from bot.client import StyleBot
from tests.bot.conftest import (
    ALICE,
    CHANNEL,
    CONTENT,
    STYLE,
    TINY,
    running,
    style_message,
    wait_result,
    wait_text,
)
from tests.support.fakediscord import ATTACH_FILES, MIB, SEND_MESSAGES, FakeDiscord
from tests.support.images import noise_png

pytestmark = pytest.mark.timeout(60)


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width``×``height`` but whose data is tiny (a decompression bomb)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    data = chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + data


def wide_png() -> bytes:
    buf = io.BytesIO()
    Image.new("L", (20000, 4)).save(buf, format="PNG")
    return buf.getvalue()


TEXT = ("notes.txt", b"just some words", "text/plain")
GARBAGE = ("fake.png", b"this is not a png at all", "image/png")
TRUNCATED = ("cut.png", noise_png(5, 64, 64)[:300], "image/png")

# (args, attachments, expected text, downloaded?)
CASES = {
    "no attachment": ("", (), "I need two images and found no image", False),
    "one attachment": ("", (CONTENT,), "I need two images and found only one file", False),
    "too many": ("", (CONTENT, STYLE, STYLE, STYLE, STYLE),
                 "send one photo and at most 3 style images", False),
    "not an image": ("", (CONTENT, TEXT), "the style file `notes.txt` is not an image", False),
    "unreadable": ("", (CONTENT, GARBAGE),
                   "the style image `fake.png`: that file is not an image I can read", True),
    "corrupt": ("", (TRUNCATED, STYLE),
                "the content image `cut.png`: that PNG file is damaged or incomplete", True),
    "bomb": ("", (("bomb.png", png_header_only(60000, 60000),
             "image/png"), STYLE), "that image is too large", True),
    "huge side": ("", (("wide.png", wide_png(),
                  "image/png"), STYLE), "that image is too large (20000×4 pixels)", True),
    "unknown option": ("foo=1", (CONTENT, STYLE), "unknown option `foo`", False),
    "negative": ("steps=-1", (CONTENT, STYLE), "`steps` must be between 1 and 5000, not -1", False),
    "nan": ("alpha=nan", (CONTENT, STYLE), "`content_weight` must be a finite number", False),
    "huge steps": ("steps=1e9", (CONTENT, STYLE), "`steps` must be between 1 and 5000", False),
    "engine size bound": ("size=100000", (CONTENT, STYLE), "`size` must be between 16 and 4096", False),
    "guild size limit": ("size=2000", (CONTENT, STYLE),
                         "`size` may be at most 1024 on this server, not 2000", False),
    "guild steps limit": ("steps=900", (CONTENT, STYLE), "`steps` may be at most 500 on this server", False),
    "unknown preset": ("preset=wild", (CONTENT, STYLE),
                       "unknown preset `wild`; choose one of: classic", False),
    "unknown layer": ("layers=relu9_9", (CONTENT, STYLE), "unknown layer `relu9_9`", False),
    "lambda count": ("layer_weights=1,2", (CONTENT, STYLE),
                     "`layer_weights` has 2 values but there are 5", False),
    "bare word": ("hello", (CONTENT, STYLE),  # a bare word names a saved style: there is none
                  "this server has no saved style `hello`; `!style styles` shows the ones it has.", False),
    "odd word": ("hello!", (CONTENT, STYLE), "I don't understand `hello!`; options look like key=value", False),
    "operator only": ("backbone=/etc/passwd", (CONTENT, STYLE),
                      "`backbone` is set by the bot's operator", False),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
async def test_bad_request_gets_a_clear_answer(fake: FakeDiscord, bot: StyleBot, case: str) -> None:
    args, attachments, expected, downloaded = CASES[case]
    request = await style_message(fake, args=args, attachments=attachments)
    answer = await wait_text(fake, CHANNEL, expected)
    assert answer["message_reference"]["message_id"] == request["id"]
    assert answer["content"].startswith("⚠️")
    assert bot.queue.submitted == []
    assert bool(fake.downloads) is downloaded


async def test_declared_size_over_the_limit_is_refused_before_downloading(fake: FakeDiscord,
                                                                          bot: StyleBot) -> None:
    await style_message(fake, attachments=(CONTENT, STYLE), declared_size=30 * MIB)
    await wait_text(fake, CHANNEL, "the content image `photo.png` is 30.0 MB; the limit is 25.0 MB")
    assert fake.downloads == [] and bot.queue.submitted == []


async def test_answers_longer_than_2000_characters_are_truncated(fake: FakeDiscord, bot: StyleBot) -> None:
    await style_message(fake, args="x" * 2100 + "=1")
    answer = await wait_text(fake, CHANNEL, "unknown option")
    assert len(answer["content"]) == 2000 and answer["content"].endswith("…")


async def test_missing_attach_permission_is_explained_in_text(fake: FakeDiscord, bot: StyleBot) -> None:
    fake.restrict_bot(CHANNEL, ATTACH_FILES)
    await fake.dispatch("CHANNEL_UPDATE", fake.channel_payload(CHANNEL))
    await style_message(fake)
    await wait_text(fake, CHANNEL, "I need the Attach Files permission in this channel")
    assert fake.downloads == [] and bot.queue.submitted == []


async def test_user_is_told_by_dm_when_the_bot_cannot_send_in_the_channel(fake: FakeDiscord,
                                                                          bot: StyleBot) -> None:
    fake.restrict_bot(CHANNEL, SEND_MESSAGES)
    await fake.dispatch("CHANNEL_UPDATE", fake.channel_payload(CHANNEL))
    await style_message(fake)
    await wait_text(fake, fake.dm_channel(ALICE), "I need the Send Messages")
    assert fake.messages(CHANNEL)[-1]["author"]["id"] == str(ALICE)  # nothing posted there


async def test_dms_are_refused_when_disabled(fake: FakeDiscord, make_bot) -> None:
    async with running(fake, make_bot(allow_dms=False)) as bot:
        dm = fake.dm_channel(ALICE)
        await style_message(fake, channel=dm)
        await wait_text(fake, dm, "I don't take jobs in direct messages")
        assert fake.downloads == [] and bot.queue.submitted == []


async def test_dms_work_when_allowed(fake: FakeDiscord, bot: StyleBot) -> None:
    dm = fake.dm_channel(ALICE)
    await style_message(fake, channel=dm)
    result = await wait_result(fake, dm)
    assert result["attachments"] and bot.queue.submitted[0].guild_id is None


async def test_unreadable_option_text_is_explained(fake: FakeDiscord, bot: StyleBot) -> None:
    await style_message(fake, args=f'{TINY} layers="relu1_1')
    await wait_text(fake, CHANNEL, "I could not read the options (an unclosed quote?)")
    assert bot.queue.submitted == []


"""Unit tests of bot/answers/upload.py: the size ladder that fits a result under the upload limit; retry on 413."""

from __future__ import annotations

import io
from types import SimpleNamespace
from typing import Any

import discord
import pytest
from PIL import Image

from bot.answers.upload import MAX_SHRINKS, OWN_OUTPUT, fit_animation, fit_image, send_fitted, upload_budget
from bot.core.errors import UserError
from bot.words import i18n
from engine.nst import media
from engine.nst.images import encode_image
from tests.support.images import noise_image, noise_png

PNG = noise_png(1, 256, 192)  # ~148 kB; WebP 90 ~42 kB, WebP 75 ~31 kB, JPEG 50 ~21 kB


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def http_error(status: int, code: int) -> discord.HTTPException:
    response = SimpleNamespace(status=status, reason="refused")
    return discord.HTTPException(response, {"code": code, "message": "no"})


def test_the_budget_leaves_room_for_the_rest_of_the_request() -> None:
    assert upload_budget(10 * 2**20) == 10 * 2**20 - 8192
    assert upload_budget(1600) == 1500
    assert upload_budget(1) == 1


def test_a_result_that_fits_goes_out_as_it_is() -> None:
    assert fit_image(PNG, len(PNG)) == (PNG, "stylized.png")
    jpeg = encode_image(opened(PNG), format="JPEG", quality=80)
    assert fit_image(jpeg, len(jpeg), name="gallery") == (jpeg, "gallery.jpg")


@pytest.mark.parametrize("budget, fmt, quality", [
    (100_000, "WEBP", 90),  # the first rung that fits
    (31_000, "WEBP", 75),
    (21_000, "JPEG", 50),  # the last rung
])
def test_a_result_too_large_takes_the_first_lossy_encoding_of_the_ladder_that_fits(
        budget: int, fmt: str, quality: int) -> None:
    data, name = fit_image(PNG, budget)
    assert data == encode_image(opened(PNG).convert("RGB"), format=fmt, quality=quality)
    assert name == f"stylized.{'webp' if fmt == 'WEBP' else 'jpg'}" and len(data) <= budget


def test_when_no_encoding_fits_the_picture_shrinks_keeping_its_shape() -> None:
    data, _ = fit_image(PNG, 8_000)
    image = opened(data)
    assert len(data) <= 8_000 and image.width < 256
    assert image.width / image.height == pytest.approx(256 / 192, rel=0.05)


def test_a_budget_too_small_for_the_smallest_picture_is_refused() -> None:
    with pytest.raises(UserError, match="cannot be made small enough"):
        fit_image(PNG, 100)


GIF = media.encode_clip([noise_image(i, 64, 64) for i in range(8)], [100] * 8, "gif")  # ~51 kB


@pytest.mark.parametrize("fraction, reduced", [
    (1.0, []),
    (0.9, ["128 colours"]),  # colours go first
    (0.6, ["32 colours"]),
    (0.4, ["32 colours", "every 2nd frame"]),  # then frames
    (0.2, ["32 colours", "every 4th frame"]),
])
def test_an_animation_keeps_its_format_and_gives_up_colours_then_frames(fraction: float,
                                                                        reduced: list[str]) -> None:
    budget = int(len(GIF) * fraction)
    data, name, said = fit_animation(GIF, budget)
    # what was given up comes back as catalogue messages (said in the reply's language)
    assert (name, [i18n.render("en", r) for r in said]) == ("stylized.gif", reduced) and len(data) <= budget
    clip = media.decode_clip(data, OWN_OUTPUT)
    assert sum(clip.durations_ms) == 800  # dropped frames lend their time to the kept ones


async def test_an_upload_refused_as_too_large_is_shrunk_and_sent_again() -> None:
    sizes: list[int] = []

    async def send(file: discord.File, reduced: list[str]) -> str:
        sizes.append(len(file.fp.read()))
        if len(sizes) < 3:
            raise http_error(413, 40005)
        return file.filename

    assert await send_fitted(send, PNG, 200_000) in ("stylized.webp", "stylized.jpg")  # the third try, lossy
    assert sizes[0] == len(PNG)
    assert sizes[1] <= 0.6 * sizes[0] and sizes[2] <= 0.6 * sizes[1]


def refusing(status: int, code: int) -> tuple[Any, list[int]]:
    """A ``send`` that Discord refuses every time with ``status``/``code``, and the sizes it was offered."""
    offered: list[int] = []

    async def send(file: discord.File, reduced: list[str]) -> None:
        offered.append(len(file.fp.read()))
        raise http_error(status, code)

    return send, offered


async def test_an_upload_refused_every_time_ends_in_a_user_error() -> None:
    send, offered = refusing(413, 40005)
    with pytest.raises(UserError, match="too large for this channel's upload limit"):
        await send_fitted(send, PNG, 200_000)
    assert len(offered) == MAX_SHRINKS and offered == sorted(offered, reverse=True)


async def test_other_upload_errors_are_not_retried() -> None:
    send, offered = refusing(403, 50013)
    with pytest.raises(discord.HTTPException) as info:
        await send_fitted(send, PNG, 200_000)
    assert info.value.code == 50013 and offered == [len(PNG)]

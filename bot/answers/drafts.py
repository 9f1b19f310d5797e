"""The bot's side of drafts: what a quick draft or a sheet of drafts says, and the paintings a sheet is drawn from.

The drawing itself is a job like any other (:mod:`engine.jobs.drafts`, on the local queue or a
Redis worker), so a bot in Redis mode needs neither onnxruntime nor torch: it only shrinks the
server's saved paintings (Pillow) before it hands them over.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import discord
from PIL import Image

from bot.answers.upload import EMBED_COLOUR
from bot.core.errors import truncate
from bot.requests.options import FOOTER_PREFIX, options_line
from bot.words import i18n
from bot.words.i18n import text
from engine.nst.images import decode_image, encode_image
from engine.nst.params import parse_options

SAMPLE_SIDE = 512  # px: a saved painting shrunk to this is all the draft network's style predictor uses
MENU_MAX = 25  # Discord's limit of options in one select menu


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


def is_draft(report: dict[str, Any] | None) -> bool:
    """Whether a result is a quick draft or a sheet of drafts (not a painting)."""
    return bool(report) and bool(report.get("quick") or report.get("try"))  # type: ignore[union-attr]


def draft_embed(report: dict[str, Any], filename: str, lang: str = i18n.DEFAULT) -> discord.Embed:
    """A draft result's embed: labelled as a draft, and the options line (for "Paint it properly") in the footer."""
    params = parse_options(report["params"])
    seconds = round(float(report.get("seconds", 0)), 1)  # a number: the catalogue formats it for lang
    names = (report.get("try") or {}).get("names")
    if names:
        embed = discord.Embed(title=text(lang, "try.title", count=len(names)), colour=EMBED_COLOUR,
                              description=text(lang, "try.description", seconds=seconds))
        if len(names) > MENU_MAX:
            embed.description = f"{embed.description}\n{text(lang, 'try.more', shown=MENU_MAX, total=len(names))}"
    else:
        embed = discord.Embed(title=text(lang, "draft.title"), colour=EMBED_COLOUR,
                              description=text(lang, "draft.description", seconds=seconds))
    embed.set_image(url=f"attachment://{filename}")
    embed.set_footer(text=truncate(FOOTER_PREFIX + options_line(params), 2048))
    return embed

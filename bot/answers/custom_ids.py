"""Reading the state a button keeps in its ``custom_id``, checked: form, length and range.

A custom_id comes back from Discord as the bot wrote it, but one written by an older version,
or damaged, may hold anything up to 100 characters. So each button's template matches every
custom_id of that button (:func:`template`), whatever follows its name, and its parts are read
here: a part out of form or range raises :class:`Malformed`, which the button answers with one
ephemeral sentence instead of running anything (an upscale box 100 times the picture would
allocate without bound in the bot's process).
"""

from __future__ import annotations

import re

from engine.jobs.paint import GRID_FACTORS
from engine.tiles import Box

PREFIX = "stylebot:"
BOX_SCALE = 10_000  # a grid cell's box travels in the custom_id in these units of the grid's size
SNOWFLAKE_MAX = (1 << 64) - 1  # Discord ids are unsigned 64-bit integers
JOB_ID_MAX = 64  # local job ids have 12 characters, Redis ones 32

_DIGITS = re.compile(r"[0-9]{1,20}")
_JOB_ID = re.compile(rf"[A-Za-z0-9_-]{{1,{JOB_ID_MAX}}}")


class Malformed(ValueError):
    """A part of a custom_id out of form or range: a damaged button, or one no version of the bot wrote."""


def template(name: str) -> re.Pattern[str]:
    """The template of the button ``name``: ``stylebot:name``, then anything or nothing after a colon
    (in :func:`parts`), so that a damaged custom_id of that button still reaches it and is answered."""
    return re.compile(rf"{re.escape(PREFIX + name)}(?::(?P<rest>.*))?", re.DOTALL)


def unknown_template(names: list[str]) -> re.Pattern[str]:
    """Every ``stylebot:`` custom_id that no button of ``names`` claims (say, a button a later version dropped)."""
    known = "|".join(re.escape(name) for name in names)
    return re.compile(rf"{re.escape(PREFIX)}(?!(?:{known})(?::|$)).*", re.DOTALL)


def parts(rest: str | None, count: int) -> list[str]:
    """The ``count`` colon-separated parts after a button's name."""
    found = [] if rest is None else rest.split(":")
    if len(found) != count:
        raise Malformed(f"expected {count} part(s), got {len(found)}")
    return found


def number(text: str, low: int, high: int) -> int:
    """A decimal integer within ``low..high`` (ASCII digits only, at most 20 of them)."""
    if not _DIGITS.fullmatch(text) or not low <= int(text) <= high:
        raise Malformed(f"not a number in {low}..{high}: {text!r}")
    return int(text)


def snowflake(text: str) -> int:
    """A Discord id (a user's, say)."""
    return number(text, 1, SNOWFLAKE_MAX)


def job_id(text: str) -> str:
    if not _JOB_ID.fullmatch(text):
        raise Malformed(f"not a job id: {text!r}")
    return text


def cell(text: str) -> int:
    """The index of a cell of the strength grid."""
    return number(text, 0, len(GRID_FACTORS) - 1)


def box(text: str) -> Box:
    """Where a grid cell sits, as fractions of the grid: within it, and not empty."""
    values = text.split(",")
    if len(values) != 4:
        raise Malformed(f"a box has 4 numbers: {text!r}")
    left, top, right, bottom = (number(v, 0, BOX_SCALE) for v in values)
    if not (left < right and top < bottom):
        raise Malformed(f"an empty or inverted box: {text!r}")
    return left / BOX_SCALE, top / BOX_SCALE, right / BOX_SCALE, bottom / BOX_SCALE


def box_text(where: Box) -> str:
    """The custom_id form of a box (:func:`box` reads it back)."""
    return ",".join(str(round(v * BOX_SCALE)) for v in where)

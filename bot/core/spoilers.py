"""Spoilers: a request's ``spoiler=yes``, and a server's ``spoiler`` setting, turned into spoilered files.

A spoilered upload is a ``discord.File(spoiler=True)``: Discord shows it blurred until clicked,
and discord.py names it ``SPOILER_<name>``. The server setting is ``off``, ``on``, or
``nsfw-channels``: on everywhere except in age-restricted channels, where members chose to see it.
"""

from __future__ import annotations

from typing import Any

from bot.core.errors import keyed
from engine.errors import ParamError
from engine.nst.params import parse_bool

MODES = ("off", "on", "nsfw-channels")
PREFIX = "SPOILER_"


def parse_mode(text: str) -> str:
    """A server's ``spoiler`` setting: off, on or nsfw-channels (yes/no also read as on/off)."""
    word = text.strip().lower().replace("_", "-")
    if word in MODES:
        return word
    try:
        return "on" if parse_bool(word) else "off"
    except ValueError:
        raise keyed(ParamError, "refusal.spoiler_setting", value=text) from None


def parse_choice(text: str) -> bool:
    """A request's ``spoiler=yes|no``."""
    try:
        return parse_bool(text)
    except ValueError:
        raise keyed(ParamError, "refusal.spoiler_choice", value=text) from None


def is_age_restricted(channel: Any) -> bool:
    """Whether a channel (a thread: its parent) is marked age-restricted; unknown counts as not."""
    check = getattr(channel, "is_nsfw", None)
    return bool(check()) if callable(check) else bool(getattr(channel, "nsfw", False))


def wanted(mode: str | None, channel: Any) -> bool:
    """Whether the server's setting spoilers what is posted in ``channel``."""
    return mode == "on" or (mode == "nsfw-channels" and not is_age_restricted(channel))


def plain_name(filename: str) -> str:
    """A file's name without discord.py's spoiler prefix."""
    return filename.removeprefix(PREFIX)

"""A result as the bot posts it: the embed and the buttons of each kind of job, from one table.

The table is keyed by the report's :class:`~engine.jobs.report.Kind`; a new kind of job is one row.
Every result also gets 🎨 Restyle, 📋 Parameters and Delete; a starred repost in the gallery gets 📋 Parameters.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import discord

from bot.answers.buttons import (
    DeleteButton,
    PaintAnotherButton,
    PaintButton,
    ParametersButton,
    RestyleButton,
    TrySelect,
    UpscaleButton,
    VariationButton,
)
from bot.answers.embeds import painting_embed, quick_embed, try_embed
from bot.words import i18n
from engine.jobs.report import JobReport, Kind

Items = list[discord.ui.Item[Any]]


def _more_less(report: JobReport, lang: str) -> Items:
    """More/Less style, and 🎲 Variation (a new seed: only a painted result has one; a draft is the same each time)."""
    return [RestyleButton("more", lang), RestyleButton("less", lang), VariationButton(lang)]


def _still(report: JobReport, lang: str) -> Items:
    return [*_more_less(report, lang), UpscaleButton(lang=lang)]


def _cells(report: JobReport, lang: str) -> Items:
    """One Upscale per grid cell (it paints that cell's strength twice as large)."""
    return [UpscaleButton(i, box, lang, factor=factor)
            for i, (box, factor) in enumerate(zip(report.boxes, report.factors, strict=True))]


@dataclass(frozen=True)
class Look:
    """How one kind of result is shown: its embed, and its own buttons (before 🎨 Restyle, 📋 Parameters, Delete)."""

    embed: Callable[[JobReport, str, str], discord.Embed]
    buttons: Callable[[JobReport, str], Items]


LOOKS: dict[Kind, Look] = {
    Kind.PAINTING: Look(painting_embed, _still),
    Kind.UPSCALE: Look(painting_embed, _still),
    Kind.GRID: Look(painting_embed, _cells),
    Kind.ANIMATION: Look(painting_embed, _more_less),  # an upscale is made of a still picture
    Kind.QUICK: Look(quick_embed, lambda report, lang: [PaintButton(lang)]),
    Kind.TRY: Look(try_embed, lambda report, lang: [TrySelect(list(report.names), lang)]),
}


def result_embed(report: JobReport, filename: str, lang: str = i18n.DEFAULT) -> discord.Embed:
    return LOOKS[report.kind].embed(report, filename, lang)


def result_view(owner_id: int, report: JobReport, lang: str = i18n.DEFAULT) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    for item in (*LOOKS[report.kind].buttons(report, lang), PaintAnotherButton(lang), ParametersButton(lang),
                 DeleteButton(owner_id, lang)):
        view.add_item(item)
    return view


def repost_view(lang: str = i18n.DEFAULT) -> discord.ui.View:
    """The starboard's repost: 📋 Parameters, which answers with the reposted result's own (the other buttons
    run jobs and delete, which belong beside the result)."""
    view = discord.ui.View(timeout=None)
    view.add_item(ParametersButton(lang))
    return view

"""The controls of a draft result: "Paint it properly" on a quick draft, a menu of styles on a sheet of drafts.

Persistent dynamic items like :mod:`bot.answers.buttons`' buttons: the state is in the message (the options
line in the embed's footer, the photo on the message the result replies to, the style names in
the menu's options), so they work after a restart.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import discord

from bot.answers.drafts import MENU_MAX
from bot.words import i18n

if TYPE_CHECKING:
    from bot.client import StyleBot


class PaintButton(discord.ui.DynamicItem[discord.ui.Button], template=r"stylebot:paint"):
    """Paints a quick draft's inputs properly (a Gatys job with the same options), for whoever clicks."""

    def __init__(self, lang: str = i18n.DEFAULT) -> None:
        super().__init__(discord.ui.Button(label=i18n.text(lang, "draft.button.paint"), emoji="🎨",
                                           style=discord.ButtonStyle.success, custom_id="stylebot:paint"))

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Button,
                             match: re.Match[str]) -> PaintButton:
        return cls()

    async def callback(self, interaction: discord.Interaction[StyleBot]) -> None:  # type: ignore[override]
        await interaction.client.intake.restyle(interaction, 1.0)  # the same options, painted


class TrySelect(discord.ui.DynamicItem[discord.ui.Select], template=r"stylebot:try"):
    """On a sheet of drafts: pick a saved style to paint the photo in it properly, for whoever picks."""

    def __init__(self, names: list[str] | None = None, lang: str = i18n.DEFAULT) -> None:
        options = [discord.SelectOption(label=name, value=name) for name in (names or [])[:MENU_MAX]]
        super().__init__(discord.ui.Select(custom_id="stylebot:try", placeholder=i18n.text(lang, "try.placeholder"),
                                           options=options or [discord.SelectOption(label="-")]))

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Select,
                             match: re.Match[str]) -> TrySelect:
        return cls([o.value for o in item.options])

    async def callback(self, interaction: discord.Interaction[StyleBot]) -> None:  # type: ignore[override]
        await interaction.client.intake.paint_saved(interaction, self.item.values[0])


def draft_items(report: dict[str, Any], lang: str = i18n.DEFAULT) -> list[discord.ui.Item[Any]]:
    """The controls of a draft result, besides Delete, in the result's language."""
    names = (report.get("try") or {}).get("names")
    return [TrySelect(names, lang)] if names else [PaintButton(lang)]

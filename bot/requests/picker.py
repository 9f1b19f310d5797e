"""Choosing one of a server's saved styles: a select menu, and for more than 25 a box to type a name.

Discord allows 25 options in a select menu, so a library of more shows its first 25 and a
"Name another style" button that opens a modal with one text box. Both end in the same
``on_pick(interaction, name)``; the name is looked up by the intake like any typed one, so a
wrong name is refused in the words ``!style <name>`` uses. The picker is a short-lived,
ephemeral message shown only to whoever asked (the right-click menus, the 🎨 Restyle button).
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING

import discord

from bot.core.errors import UserError, explain
from bot.requests.origin import Origin
from bot.words import i18n
from bot.words.language import choose

if TYPE_CHECKING:
    from bot.core.host import Host

MAX_OPTIONS = 25  # Discord's limit for the options of one select menu
PICK_TIMEOUT_S = 180.0  # then the choice says it has expired instead of failing when clicked
NAME_LENGTH = 32  # the longest saved-style name (bot.core.library.NAME)
OnPick = Callable[[discord.Interaction, str], Awaitable[None]]


class NameModal(discord.ui.Modal):
    """One text box for a saved style's name, for libraries larger than the select menu."""

    def __init__(self, lang: str, on_pick: OnPick) -> None:
        super().__init__(title=i18n.text(lang, "picker.modal_title")[:45])
        self.on_pick = on_pick
        self.name: discord.ui.TextInput = discord.ui.TextInput(max_length=NAME_LENGTH, min_length=1)
        self.add_item(discord.ui.Label(text=i18n.text(lang, "picker.modal_label")[:45], component=self.name))

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await self.on_pick(interaction, self.name.value)


class StylePicker(discord.ui.View):
    """A select menu of saved style names (the first 25), plus a modal for the rest; for ``owner_id`` only."""

    def __init__(self, owner_id: int, names: Sequence[str], lang: str, on_pick: OnPick,
                 timeout: float = 180.0) -> None:
        super().__init__(timeout=timeout)
        self.owner_id, self.lang, self.on_pick = owner_id, lang, on_pick
        self.select: discord.ui.Select = discord.ui.Select(
            placeholder=i18n.text(lang, "picker.placeholder")[:150],
            options=[discord.SelectOption(label=n, value=n) for n in names[:MAX_OPTIONS]])
        self.select.callback = self._picked  # type: ignore[method-assign]
        self.add_item(self.select)
        if len(names) > MAX_OPTIONS:
            other = discord.ui.Button(emoji="⌨️", label=i18n.text(lang, "picker.other")[:80])
            other.callback = self._ask_name  # type: ignore[method-assign]
            self.add_item(other)

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        return interaction.user.id == self.owner_id

    async def _picked(self, interaction: discord.Interaction) -> None:
        self.stop()
        await self.on_pick(interaction, self.select.values[0])

    async def _ask_name(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_modal(NameModal(self.lang, self._typed))

    async def _typed(self, interaction: discord.Interaction, name: str) -> None:
        self.stop()
        await self.on_pick(interaction, name)


def prompt(lang: str, key: str, count: int, **args: object) -> str:
    """The picker's question, and with more than 25 styles a line saying how to reach the others."""
    question = i18n.text(lang, key, **args)
    if count > MAX_OPTIONS:
        question += "\n" + i18n.text(lang, "picker.more", count=count, shown=MAX_OPTIONS)
    return question


def _unavailable(guild_id: int | None, names: Sequence[str]) -> str | None:
    """The catalogue key saying why there is nothing to choose from here, or None."""
    if guild_id is None:
        return "picker.needs_server"
    return None if names else "picker.no_styles"


async def offer(interaction: discord.Interaction, bot: Host, key: str, on_pick: OnPick, *,
                tip: str = "", **args: object) -> None:
    """Answer ``interaction`` (within Discord's 3 s) with a choice of this server's saved styles, or why not.

    First the refusals a request from here would meet (the channel allow-list, the member's limit),
    in the request's own words; then that there is no server, or no saved style, in one sentence
    (plus ``tip``). Once a style is picked, the pick is deferred at once, the choice disappears and
    ``on_pick(pick, name)`` runs with the deferred pick; ``key`` and ``args`` are the question.
    """
    lang = await choose(bot, interaction=interaction)
    names = bot.library.names(interaction.guild_id)
    refusal = await bot.intake.refusal(Origin.from_interaction(interaction))
    if refusal is None and (why := _unavailable(interaction.guild_id, names)) is not None:
        refusal = explain(UserError(why), lang) + (f" {tip}" if tip else "")
    if refusal is not None:
        await interaction.response.send_message(refusal, ephemeral=True)
        return

    async def picked(pick: discord.Interaction, name: str) -> None:
        await pick.response.defer(thinking=True)
        with contextlib.suppress(discord.HTTPException):  # only tidiness: the choice may be gone already
            await interaction.delete_original_response()
        await on_pick(pick, name)

    view = StylePicker(interaction.user.id, names, lang, picked, timeout=PICK_TIMEOUT_S)

    async def expire() -> None:
        with contextlib.suppress(discord.HTTPException):
            await interaction.edit_original_response(content=i18n.text(lang, "picker.expired"), view=None)

    view.on_timeout = expire  # type: ignore[method-assign]
    await interaction.response.send_message(prompt(lang, key, len(names), **args), view=view, ephemeral=True)

"""Which language the bot speaks to someone: the one function that decides, from where they are.

* An interaction (a slash command, a button) answers in the user's own Discord language
  (``interaction.locale``) when the catalogue has it; the user's language is remembered then.
* Messages in a server's channels (the ``!style`` flow, its status message and result, the
  gallery) speak the server's setting ``!styleconfig set language ko|en|auto``; ``auto`` (the
  default) is the server's preferred locale in Discord.
* Direct messages speak the user's last known language (from their interactions), else English.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord.ext import commands

from bot.words import i18n

if TYPE_CHECKING:
    from bot.core.host import Host


async def choose(bot: Host, *, interaction: discord.Interaction | None = None,
                 guild: discord.Guild | None = None, user_id: int | None = None) -> str:
    """The catalogue language for an answer to ``interaction``, or for a message in ``guild`` (None: a DM
    to ``user_id``)."""
    guild_locale = None
    if interaction is not None:
        user_id, guild, guild_locale = interaction.user.id, interaction.guild, interaction.guild_locale
        if (own := i18n.find(interaction.locale)) is not None:
            await bot.store.remember_language(user_id, own)
            return own
    if guild is not None:
        setting = (await bot.store.get(guild.id)).language
        if setting in i18n.languages():
            return setting  # type: ignore[return-value]
        return i18n.language(guild_locale or guild.preferred_locale)
    if user_id is not None:
        return bot.store.user_language(user_id) or i18n.DEFAULT
    return i18n.DEFAULT


async def of_context(bot: Host, ctx: commands.Context) -> str:
    """The language for answering a command: its interaction's for a slash command, else its place's."""
    return await choose(bot, interaction=ctx.interaction, guild=ctx.guild, user_id=ctx.author.id)


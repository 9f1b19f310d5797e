"""``!stylehelp`` / ``/stylehelp``: what the weights mean, every option and preset, with examples.

Every option and preset listed is read from :mod:`engine.nst.params`, so the help cannot drift
from what the engine accepts; every sentence is the catalogue's (``help.*`` keys), in the
reader's language (a test checks each option has its line in every language).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot import i18n
from bot.delivery import EMBED_COLOUR
from bot.language import of_context
from bot.options import OPERATOR_ONLY, animation_limits
from engine.nst.media import AnimationLimits
from engine.nst.params import FIELDS, PRESETS

if TYPE_CHECKING:
    from bot.client import StyleBot

def _default(value: Any, lang: str) -> str:
    if isinstance(value, (tuple, list)):
        return ",".join(_default(v, lang) for v in value)
    return i18n.text(lang, "help.equal") if value is None else f"{value:g}" if isinstance(value, float) else str(value)


def option_lines(lang: str = i18n.DEFAULT) -> list[str]:
    """One line per user option: names, help, default (from the engine's StyleParams)."""
    lines = []
    for name, f in FIELDS.items():
        if name in OPERATOR_ONLY:
            continue
        aliases = "/".join(f.metadata["aliases"])
        names = f"`{name}`" + (f" ({aliases})" if aliases else "")
        lines.append(i18n.text(lang, "help.option_line", names=names, help=i18n.text(lang, f"help.option.{name}"),
                               default=_default(f.default, lang)))
    return lines


def _chunks(lines: list[str], limit: int = 1024) -> list[str]:
    chunks, current = [], ""
    for line in lines:
        if current and len(current) + len(line) + 1 > limit:
            chunks.append(current)
            current = ""
        current = f"{current}\n{line}" if current else line
    return [*chunks, current] if current else chunks


def preset_lines(lang: str = i18n.DEFAULT) -> list[str]:
    return [f"`{name}`: " + (", ".join(f"{k}={_default(v, lang)}" for k, v in values.items())
                             or i18n.text(lang, "help.preset_defaults"))
            for name, values in PRESETS.items()]


def help_embed(max_size: int, max_steps: int, limits: AnimationLimits, lang: str = i18n.DEFAULT) -> discord.Embed:
    def say(key: str, **args: Any) -> str:
        return i18n.text(lang, key, **args)

    embed = discord.Embed(title=say("help.title"), description=say("help.intro"), colour=EMBED_COLOUR)
    for i, chunk in enumerate(_chunks(option_lines(lang))):
        embed.add_field(name=say("help.options" if i == 0 else "help.more_options"), value=chunk, inline=False)
    embed.add_field(name=say("help.presets"), value="\n".join(preset_lines(lang)), inline=False)
    embed.add_field(name=say("help.examples"), value=say("help.examples_text"), inline=False)
    embed.add_field(name=say("help.library"), value=say("help.library_text"), inline=False)
    embed.add_field(name=say("help.more"), value=say("help.more_text"), inline=False)
    embed.add_field(name=say("help.drafts.title"), value=say("help.drafts.body"), inline=False)
    embed.add_field(name=say("help.links.title"), value=say("help.links"), inline=False)
    embed.add_field(name=say("help.reach.title"), value=say("help.reach.body"), inline=False)
    embed.add_field(name=say("help.language"), value=say("help.language_text", languages=", ".join(i18n.languages())),
                    inline=False)
    embed.set_footer(text=say("help.limits", size=max_size, steps=max_steps, frames=limits.frames,
                              seconds_s=limits.seconds, cpu=limits.side_for("cpu"), gpu=limits.side_for("cuda")))
    return embed


class HelpCog(commands.Cog):
    def __init__(self, bot: StyleBot) -> None:
        self.bot = bot

    @commands.hybrid_command(name="stylehelp", description="What the style weights mean, with examples")
    @app_commands.allowed_installs(guilds=True, users=True)
    @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)
    async def stylehelp(self, ctx: commands.Context) -> None:
        """What the style weights mean, every option, the presets, and examples."""
        config = await self.bot.store.get(ctx.guild.id if ctx.guild else None)
        settings = self.bot.settings
        limits = animation_limits(config, settings.max_frames, settings.max_duration_s)
        embed = help_embed(config.max_size or settings.default_max_size,
                           config.max_steps or settings.default_max_steps, limits, await of_context(self.bot, ctx))
        await ctx.reply(embed=embed, ephemeral=True)

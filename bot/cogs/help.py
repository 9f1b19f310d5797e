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

from bot.answers.embeds import EMBED_COLOUR
from bot.requests.options import OPERATOR_ONLY, animation_limits
from bot.words import i18n
from bot.words.language import of_context
from engine.nst.media import AnimationLimits
from engine.nst.params import FIELDS, PRESETS

if TYPE_CHECKING:
    from bot.core.host import Host

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


def help_embeds(max_size: int, max_steps: int, limits: AnimationLimits,
                lang: str = i18n.DEFAULT) -> list[discord.Embed]:
    """The help, in two pages: how to style (weights, options, presets, examples), then the other ways to
    paint. One message may carry 6,000 characters of embeds, so each page is its own message."""
    def say(key: str, **args: Any) -> str:
        return i18n.text(lang, key, **args)

    first = discord.Embed(title=say("help.title"), description=say("help.intro"), colour=EMBED_COLOUR)
    for i, chunk in enumerate(_chunks(option_lines(lang))):
        first.add_field(name=say("help.options" if i == 0 else "help.more_options"), value=chunk, inline=False)
    first.add_field(name=say("help.presets"), value="\n".join(preset_lines(lang)), inline=False)
    first.add_field(name=say("help.examples"), value=say("help.examples_text"), inline=False)
    first.add_field(name=say("help.language"), value=say("help.language_text", languages=", ".join(i18n.languages())),
                    inline=False)
    second = discord.Embed(title=say("help.ways.title"), colour=EMBED_COLOUR)
    for title, body in (("help.library", "help.library_text"), ("help.more", "help.more_text"),
                        ("help.drafts.title", "help.drafts.body"), ("help.links.title", "help.links"),
                        ("help.reach.title", "help.reach.body"), ("help.share.title", "help.share.body")):
        second.add_field(name=say(title), value=say(body), inline=False)
    footer = say("help.limits", size=max_size, steps=max_steps, frames=limits.frames,
                 seconds_s=limits.seconds, cpu=limits.side_for("cpu"), gpu=limits.side_for("cuda"))
    first.set_footer(text=footer)
    second.set_footer(text=footer)
    return [first, second]


class HelpCog(commands.Cog):
    def __init__(self, bot: Host) -> None:
        self.bot = bot

    @commands.hybrid_command(name="stylehelp", description="What the style weights mean, with examples")
    @app_commands.allowed_installs(guilds=True, users=True)
    @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)
    async def stylehelp(self, ctx: commands.Context) -> None:
        """What the style weights mean, every option, the presets, and examples."""
        config = await self.bot.store.get(ctx.guild.id if ctx.guild else None)
        settings = self.bot.settings
        limits = animation_limits(config, settings.max_frames, settings.max_duration_s)
        first, *rest = help_embeds(config.max_size or settings.default_max_size,
                                   config.max_steps or settings.default_max_steps, limits,
                                   await of_context(self.bot, ctx))
        await ctx.reply(embed=first, ephemeral=True)
        for page in rest:  # a follow-up of the same interaction, or a second message for !stylehelp
            await ctx.send(embed=page, ephemeral=True)

"""``!stylehelp`` / ``/stylehelp``: what the weights mean, every option and preset, with examples.

Everything listed is read from :mod:`engine.nst.params`, so the help cannot drift from
what the engine accepts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.delivery import EMBED_COLOUR
from bot.i18n import language, text
from bot.options import OPERATOR_ONLY, animation_limits
from engine.nst.media import AnimationLimits
from engine.nst.params import FIELDS, PRESETS

if TYPE_CHECKING:
    from bot.client import StyleBot

INTRO = (
    "I repaint a photo with the textures and colours of a painting (Gatys et al., 2016) by minimising\n"
    "**α·content + β·style + tv·smoothness**:\n"
    "• **α** `alpha` (content_weight): how much of the photo's shapes survive.\n"
    "• **β** `beta` (style_weight): how strongly the painting's textures pull. "
    "More β (or less α) = more style.\n"
    "• **layers**: which VGG19 layers describe style; shallow (`relu1_1`) = fine brush texture, "
    "deep (`relu5_1`) = large shapes.\n"
    "• **λ** `layer_weights`: one weight per style layer, to favour fine or coarse style.\n"
    "• **tv**: smooths noise; `size`/`steps`: resolution and effort; `seed`, `init`, `preserve_colors`.\n"
    "• **Animations**: the photo may be a GIF, an animated WebP/APNG or an MP4/WebM/MOV clip; each frame "
    "starts from the last one, moved along the motion (Ruder et al.), so it does not flicker. "
    "`temporal` holds frames together (0 = independent frames), `frame_steps` is the effort per later "
    "frame, `format=gif` gives a GIF back (clips come back as MP4)."
)
EXAMPLES = (
    "`!style` with two images attached: the photo first, then the painting\n"
    "`!style beta=1000 size=384` — stronger style, smaller output\n"
    "`!style bold preserve_colors=yes` — a preset, keeping the photo's colours\n"
    "`!style layers=relu1_1,relu2_1,relu3_1 layer_weights=1,2,4 tv=0.001`\n"
    "Reply `!style` to a message that has the images; attach 3+ images to blend several styles\n"
    "`/style content:<photo> style:<painting> beta:1000`\n"
    "`!style format=gif temporal=2000` with a GIF and a painting — a steadier painted GIF"
)
LIBRARY = (
    "`!style save starry` with a painting attached (or as a reply to one) — save it as this server's `starry`\n"
    "`!style starry` with one photo attached — paint it in a saved style; "
    "`!style starry monet style_blend=2,1` blends two\n"
    "`!style styles` or `/styles` — every saved style on one picture\n"
    "`!style rename starry night`, `!style delete night` — Manage Server, or the role set with "
    "`!styleconfig set style_role @role`\n"
    "`/style content:<photo> style_name:starry` — the names autocomplete"
)
MORE = (
    "`!style grid` (or `/style grid:True`) — a 2×2 grid at β ×0.1, ×0.25, ×1, ×4, one ⬆️ button per cell\n"
    "⬆️ **Upscale** on a result — paint it again at twice the size (up to this server's max), "
    "starting from the result, so it costs a fraction of a new job\n"
    "🖌️/🫧 **More/Less style** — run again with β doubled/halved; the status message shows "
    "a first look within seconds"
)


def _default(value: Any) -> str:
    if isinstance(value, (tuple, list)):
        return ",".join(_default(v) for v in value)
    return "equal" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


def option_lines() -> list[str]:
    """One line per user option: names, help, default (from the engine's StyleParams)."""
    lines = []
    for name, f in FIELDS.items():
        if name in OPERATOR_ONLY:
            continue
        aliases = "/".join(f.metadata["aliases"])
        names = f"`{name}`" + (f" ({aliases})" if aliases else "")
        lines.append(f"{names}: {f.metadata['help']} [default {_default(f.default)}]")
    return lines


def _chunks(lines: list[str], limit: int = 1024) -> list[str]:
    chunks, current = [], ""
    for line in lines:
        if current and len(current) + len(line) + 1 > limit:
            chunks.append(current)
            current = ""
        current = f"{current}\n{line}" if current else line
    return [*chunks, current] if current else chunks


def preset_lines() -> list[str]:
    return [f"`{name}`: " + (", ".join(f"{k}={_default(v)}" for k, v in values.items()) or "the defaults")
            for name, values in PRESETS.items()]


def help_embed(max_size: int, max_steps: int, limits: AnimationLimits) -> discord.Embed:
    embed = discord.Embed(title="🎨 How to style", description=INTRO, colour=EMBED_COLOUR)
    for i, chunk in enumerate(_chunks(option_lines())):
        embed.add_field(name="Options (key=value)" if i == 0 else "More options", value=chunk, inline=False)
    embed.add_field(name="Presets", value="\n".join(preset_lines()), inline=False)
    embed.add_field(name="Examples", value=EXAMPLES, inline=False)
    embed.add_field(name="This server's styles", value=LIBRARY, inline=False)
    embed.add_field(name="Grid, upscale, buttons", value=MORE, inline=False)
    embed.set_footer(text=f"Limits here: size ≤ {max_size}, steps ≤ {max_steps}; animations: ≤ {limits.frames} "
                          f"frames, ≤ {limits.seconds:g} s, ≤ {limits.side_for('cpu')} px on a CPU "
                          f"({limits.side_for('cuda')} on a GPU)")
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
                           config.max_steps or settings.default_max_steps, limits)
        lang = language(ctx.interaction.locale if ctx.interaction else None)
        embed.add_field(name=text(lang, "help.reach.title"), value=text(lang, "help.reach.body"), inline=False)
        await ctx.reply(embed=embed, ephemeral=True)

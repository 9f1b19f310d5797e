"""``!style`` and ``/style``: two front doors to :meth:`bot.requests.intake.Intake.request`.

``!style`` is a group: its subcommands (``save``, ``styles``, ``delete``, ``rename``) belong to
the style library (:mod:`bot.cogs.library`), which adds them; anything else after ``!style``
is a request: options, a preset word, ``grid``, and names of saved styles.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.core.errors import UserError
from bot.core.library import normal_name
from bot.requests.inputs import images_of
from bot.requests.links import Link
from bot.requests.options import parse_args, parse_request
from bot.requests.origin import Inputs, Origin
from engine.nst.params import FIELDS, INITS, PRESETS

if TYPE_CHECKING:
    from bot.core.host import Host

MAX_CHOICES = 25  # Discord's limit for autocomplete answers


def _bounded(kind: type, name: str) -> object:
    """A Discord-validated option type with the engine's bounds for ``name``."""
    meta = FIELDS[name].metadata
    return app_commands.Range[kind, meta["lo"], meta["hi"]]  # type: ignore[valid-type]


def _help(name: str) -> str:
    return FIELDS[name].metadata["help"][:100]


Alpha = _bounded(float, "content_weight")
Beta = _bounded(float, "style_weight")
TV = _bounded(float, "tv_weight")
Size = _bounded(int, "size")
Steps = _bounded(int, "steps")
Seed = _bounded(int, "seed")


class StyleCog(commands.Cog):
    def __init__(self, bot: Host) -> None:
        self.bot = bot

    @commands.group(name="style", invoke_without_command=True, case_insensitive=True,
                    usage="[saved style names] [grid] [key=value ...]  (attach a photo, then a painting)")
    async def style_prefix(self, ctx: commands.Context, *, args: str = "") -> None:
        """Repaint the first attached image in the style of the second or of saved styles (see !stylehelp)."""

        async def gather() -> Inputs:
            wanted = parse_request(args)
            links = [Link(url, self.bot.links) for url in wanted.links]
            # with links, the status message carries copies of every input, for the result's buttons
            return Inputs([*await images_of(ctx.message), *links], wanted.options,
                          source=None if links else ctx.message, saved=wanted.styles, grid=wanted.grid,
                          spoiler=wanted.spoiler, quick=wanted.quick)

        await self.bot.intake.request(Origin.from_context(ctx), gather)

    @style_prefix.command(name="try", usage="[key=value ...]  (attach one photo, or reply to a message that has it)")
    async def try_prefix(self, ctx: commands.Context, *, args: str = "") -> None:
        """Draft the attached photo in every saved style of this server, on one picture, to pick one to paint."""

        async def gather() -> Inputs:
            return Inputs(await images_of(ctx.message), parse_args(args), source=ctx.message)

        await self.bot.intake.try_styles(Origin.from_context(ctx), gather)

    @app_commands.command(name="style", description="Repaint a photo in the style of a painting")
    @app_commands.allowed_installs(guilds=True, users=True)  # also from a member's account (bot.cogs.menus)
    @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=False)
    @app_commands.describe(
        content="the photo to repaint", style="the painting whose style to use",
        style_name="a style saved on this server (instead of, or besides, a painting)",
        style2="another style image to blend in", style3="a third style image to blend in",
        grid="answer with a 2x2 grid of four style strengths (beta x0.1, x0.25, x1, x4)",
        preset=_help("preset"), alpha=_help("content_weight"), beta=_help("style_weight"),
        layers="style layers, comma-separated (e.g. relu1_1,relu2_1,relu3_1)",
        layer_weights="lambda: one weight per style layer, comma-separated",
        size=_help("size"), steps=_help("steps"), tv=_help("tv_weight"), seed=_help("seed"),
        preserve_colors=_help("preserve_colors"), init=_help("init"),
        quick="answer with a quick draft in about a second instead of the finished result",
        try_="draft the photo in every saved style of this server, on one picture",
        content_url="a link to the photo (instead of attaching it)",
        style_url="a link to the painting (instead of attaching it)",
        spoiler="post the result as a spoiler",
    )
    @app_commands.rename(try_="try")
    @app_commands.choices(
        preset=[app_commands.Choice(name=p, value=p) for p in PRESETS],
        init=[app_commands.Choice(name=i, value=i) for i in INITS],
    )
    async def style_slash(
        self, interaction: discord.Interaction, content: discord.Attachment | None = None,
        style: discord.Attachment | None = None, style_name: str | None = None,
        style2: discord.Attachment | None = None, style3: discord.Attachment | None = None,
        grid: bool | None = None, preset: str | None = None,
        alpha: Alpha | None = None, beta: Beta | None = None,  # type: ignore[valid-type]
        layers: str | None = None, layer_weights: str | None = None,
        size: Size | None = None, steps: Steps | None = None,  # type: ignore[valid-type]
        tv: TV | None = None,  # type: ignore[valid-type]
        seed: Seed | None = None, preserve_colors: bool | None = None,  # type: ignore[valid-type]
        init: str | None = None, content_url: str | None = None, style_url: str | None = None,
        spoiler: bool | None = None, quick: bool | None = None, try_: bool | None = None,
    ) -> None:
        await interaction.response.defer(thinking=True)  # first: the 3 s deadline; validation comes after
        given = {"preset": preset, "content_weight": alpha, "style_weight": beta, "style_layers": layers,
                 "layer_weights": layer_weights, "size": size, "steps": steps, "tv_weight": tv, "seed": seed,
                 "preserve_colors": preserve_colors, "init": init}
        saved = [normal_name(style_name)] if style_name and style_name.strip() else []
        if try_:
            paintings = any(x is not None and x != "" for x in (style, style_url, style2, style3))
            await self._try_slash(interaction, given, lambda: self._either(
                content, content_url, "link.refused.content_twice"), paintings or bool(saved))
            return

        async def gather() -> Inputs:
            photo = self._either(content, content_url, "link.refused.content_twice")
            painting = self._either(style, style_url, "link.refused.style_twice")
            if photo is None:
                raise UserError("link.refused.no_content")
            if painting is None and not saved:
                raise UserError("link.refused.no_style")
            attachments = [a for a in (photo, painting, style2, style3) if a is not None]
            return Inputs(attachments, {k: v for k, v in given.items() if v is not None}, saved=saved,
                          grid=bool(grid), spoiler=bool(spoiler), quick=bool(quick))

        await self.bot.intake.request(Origin.from_interaction(interaction), gather)

    def _either(self, attachment: discord.Attachment | None, url: str | None,
                twice: str) -> discord.Attachment | Link | None:
        """An input given as an upload or as a link (not both)."""
        if attachment is not None and url:
            raise UserError(twice)
        return attachment or (Link(url, self.bot.links) if url else None)

    async def _try_slash(self, interaction: discord.Interaction, given: dict[str, object],
                         photo_of: Callable[[], discord.Attachment | Link | None], named: bool) -> None:
        """``/style try:True``: the photo (an upload or a link) drafted in every saved style (no painting,
        no style name)."""

        async def gather() -> Inputs:
            if named:
                raise UserError("try.no_style_needed")
            photo = photo_of()
            if photo is None:
                raise UserError("link.refused.no_content")
            return Inputs([photo], {k: v for k, v in given.items() if v is not None})

        await self.bot.intake.try_styles(Origin.from_interaction(interaction), gather)

    @style_slash.autocomplete("style_name")
    async def _saved_names(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        """This server's saved styles containing what was typed so far (from memory: it must answer in 3 s)."""
        typed = current.strip().lower()
        names = [n for n in self.bot.library.names(interaction.guild_id) if typed in n]
        names.sort(key=lambda n: (not n.startswith(typed), n))  # prefix matches first
        return [app_commands.Choice(name=n, value=n) for n in names[:MAX_CHOICES]]

"""Every embed the bot puts on a result: a painting, a grid, an upscale, an animation, a draft, a sheet of drafts.

The footer carries the options line that reproduces the result (display, and how results
posted by older versions are run again); the title links to the inputs when the result replies
elsewhere (:func:`link_inputs`, read back by :func:`inputs_link`).
"""

from __future__ import annotations

import re
from typing import Any

import discord

from bot.answers.delivery import Delivery
from bot.core.errors import UserError, truncate
from bot.core.spoilers import PREFIX as SPOILER_PREFIX
from bot.requests.options import FOOTER_PREFIX, options_line, read_options_line
from bot.words import i18n
from bot.words.i18n import text
from engine.jobs.report import JobReport, Kind
from engine.nst.params import StyleParams

EMBED_COLOUR = 0x7A5CFA
MENU_MAX = 25  # Discord's limit of options in one select menu


def number(value: Any) -> str:
    """A value as the options line writes it (``1e+03`` style floats), to be pasted back."""
    return f"{value:g}" if isinstance(value, float) else str(value)


def layers_text(params: StyleParams) -> str:
    """Each style layer with its weight λ: ``relu1_1 1 · relu2_1 1 · …``."""
    return " · ".join(f"{name} {number(w)}" for name, w in zip(params.style_layers, params.style_layer_weights()))


def schedule_text(report: JobReport) -> str:
    """The rungs a job ran, ``128px×50 → 256px×50`` (its steps where no schedule was reported)."""
    return " → ".join(f"{size}px×{steps}" for size, steps in report.schedule) or str(report.params.steps)


TITLES = {Kind.PAINTING: "result.title", Kind.GRID: "result.title_grid", Kind.UPSCALE: "result.title_upscaled",
          Kind.ANIMATION: "result.title"}


def painting_embed(report: JobReport, filename: str, lang: str = i18n.DEFAULT) -> discord.Embed:
    """A painted result (a picture, a grid, an upscale, an animation): the parameters used, with the options
    line that reproduces them in the footer.

    Values stay as the options line writes them (``1e+03`` style numbers, to paste back); the
    names and the time are in ``lang``.
    """

    def say(key: str, **args: Any) -> str:
        return i18n.text(lang, key, **args)

    params = report.params
    embed = discord.Embed(title=say(TITLES[report.kind]), colour=EMBED_COLOUR)
    embed.add_field(name=say("result.alpha"), value=number(params.content_weight))
    if report.kind is Kind.GRID:
        cells = " · ".join(f"×{f:g} = {number(params.style_weight * f)}" for f in report.factors)
        embed.add_field(name=say("result.beta_per_cell"), value=cells)
    else:
        embed.add_field(name=say("result.beta"), value=number(params.style_weight))
    embed.add_field(name="tv", value=number(params.tv_weight))
    embed.add_field(name=say("result.lambda"), value=truncate(layers_text(params), 1024), inline=False)
    embed.add_field(name=say("result.schedule"), value=schedule_text(report))
    embed.add_field(name=say("result.preset"), value=params.preset)
    embed.add_field(name=say("result.time"), value=i18n.duration(lang, round(report.seconds, 1)))
    if (animation := report.animation) is not None:
        key = "result.frames_fps" if animation.fps else "result.frames_value"
        embed.add_field(name=say("result.frames"), value=say(key, frames=animation.frames, fps=animation.fps or 0,
                                                           temporal=number(params.temporal)))
    if report.upscaled_from is not None:
        embed.add_field(name=say("result.from"), value="{}×{} px".format(*report.upscaled_from))
    # a video plays as the attachment (an embed image cannot be one); a spoiler's embed would unveil it
    if not filename.endswith(".mp4") and not filename.startswith(SPOILER_PREFIX):
        embed.set_image(url=f"attachment://{filename}")
    return _with_footer(embed, report)


def quick_embed(report: JobReport, filename: str, lang: str = i18n.DEFAULT) -> discord.Embed:
    """A quick draft: labelled as a draft (its "Paint it properly" runs the same options painted)."""
    seconds = round(report.seconds, 1)  # a number: the catalogue formats it for lang
    embed = discord.Embed(title=text(lang, "draft.title"), colour=EMBED_COLOUR,
                          description=text(lang, "draft.description", seconds=seconds))
    embed.set_image(url=f"attachment://{filename}")
    return _with_footer(embed, report)


def try_embed(report: JobReport, filename: str, lang: str = i18n.DEFAULT) -> discord.Embed:
    """A sheet of drafts, one per saved style; past :data:`MENU_MAX` styles it says how to name another."""
    names, seconds = report.names, round(report.seconds, 1)
    embed = discord.Embed(title=text(lang, "try.title", count=len(names)), colour=EMBED_COLOUR,
                          description=text(lang, "try.description", seconds=seconds))
    if len(names) > MENU_MAX:
        embed.description = f"{embed.description}\n{text(lang, 'try.more', shown=MENU_MAX, total=len(names))}"
    embed.set_image(url=f"attachment://{filename}")
    return _with_footer(embed, report)


def _with_footer(embed: discord.Embed, report: JobReport) -> discord.Embed:
    """The options line that reproduces the result, for the reader (the buttons read the bot's record of it)."""
    return embed.set_footer(text=truncate(FOOTER_PREFIX + options_line(report.params), 2048))


def link_inputs(embed: discord.Embed, where: Delivery) -> discord.Embed:
    """A result that replies elsewhere than to its inputs links to them from its title (read by inputs_link)."""
    if where.inputs_message_id is not None:
        embed.url = where.jump_url(where.inputs_message_id)
    return embed


def link_parent(embed: discord.Embed, where: Delivery) -> discord.Embed:
    """A remix says which result it was made from (a link to follow the chain back)."""
    if where.parent_id is not None:
        line = text(where.lang, "remix.from", link=where.jump_url(where.parent_id))
        embed.description = f"{embed.description}\n{line}" if embed.description else line
    return embed


def options_from_message(message: discord.Message) -> dict[str, str]:
    """The options of a result posted before the bot kept a record of its results (from its embed's footer)."""
    for embed in message.embeds:
        if embed.footer and embed.footer.text and embed.footer.text.startswith(FOOTER_PREFIX):
            return read_options_line(embed.footer.text)
    raise UserError("refusal.no_parameters")


_INPUTS_LINK = re.compile(r"/channels/(?:\d+|@me)/\d+/(\d+)$")


def inputs_link(message: discord.Message) -> int | None:
    """The id of the message a result's title links to as its inputs (bot.answers.tracker.link_inputs), if any."""
    for embed in message.embeds:
        if embed.footer and (embed.footer.text or "").startswith(FOOTER_PREFIX) and embed.url:
            found = _INPUTS_LINK.search(embed.url)
            return int(found[1]) if found else None
    return None

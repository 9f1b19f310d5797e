"""📋 Parameters: everything that made a posted result, and the ``!style`` line that paints it again.

Read from the bot's record of the result (:meth:`bot.core.store.GuildStore.result_of`: the job's typed
report, the saved styles, the message carrying the inputs, the result it remixes), never from the
embed's text, which is only what people read. Answered to the asker only, by the 📋 button on every
result (and on its starred repost in the gallery, which answers with the result's) and by the "Show
parameters" right-click menu on any message.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord

from bot.answers.delivery import message_link
from bot.answers.embeds import layers_text, number, schedule_text
from bot.core.errors import truncate
from bot.core.records import ResultRecord
from bot.requests.options import GRID_WORD, QUICK_WORD, TRY_WORD, options_line
from bot.words import i18n
from bot.words.language import choose
from engine.jobs.report import Kind

if TYPE_CHECKING:
    from bot.core.host import Host

MESSAGE_MAX = 2000  # Discord's limit of a message's content


def repaint_line(record: ResultRecord) -> str:
    """The ``!style`` line that paints this result again (its saved styles by name, the options that made it)."""
    report = record.report
    words = {Kind.GRID: [GRID_WORD], Kind.QUICK: [QUICK_WORD], Kind.TRY: [TRY_WORD]}.get(report.kind, [])
    names = [] if report.kind is Kind.TRY else list(record.styles)
    options = "" if report.kind is Kind.TRY else options_line(report.params)
    return " ".join(["!style", *words, *names, options]).strip()


def parameters_text(record: ResultRecord, lang: str) -> str:
    """The answer of 📋 Parameters for one recorded result, in ``lang``."""
    report, params = record.report, record.report.params

    def say(key: str, **args: object) -> str:
        return i18n.text(lang, key, **args)

    inputs = message_link(record.guild_id, record.channel_id, record.inputs_message_id) \
        if record.inputs_message_id else None
    lines = [say("params.title")]
    if report.kind is Kind.TRY:
        lines.append(say("params.style.names", names=", ".join(f"`{n}`" for n in report.names)))
    elif record.styles:
        lines.append(say("params.style.names", names=", ".join(f"`{n}`" for n in record.styles)))
    elif inputs:
        lines.append(say("params.style.link", link=inputs))
    if report.kind is Kind.GRID:
        beta = " · ".join(number(params.style_weight * f) for f in report.factors)
    else:
        beta = number(params.style_weight)
    lines.append(say("params.weights", alpha=number(params.content_weight), beta=beta, tv=number(params.tv_weight)))
    lines.append(say("params.layers", layers=layers_text(params)))
    lines.append(say("params.run", width=report.width, height=report.height, steps=params.steps, init=params.init,
                     seed=params.seed, preset=params.preset))
    lines.append(say("params.schedule", schedule=schedule_text(report), time_s=round(report.seconds, 1)))
    if record.parent_id is not None:
        lines.append(say("params.parent", link=message_link(record.guild_id, record.channel_id, record.parent_id)))
    key = "params.command.saved" if record.styles or report.kind is Kind.TRY else "params.command"
    command = f"```\n{repaint_line(record)}\n```"
    head = "\n".join([*lines, say(key)])
    return truncate(head, MESSAGE_MAX - len(command) - 1) + "\n" + command


async def show_parameters(interaction: discord.Interaction[Host], message: discord.Message | None) -> None:
    """Answer ``interaction`` (to its user only) with the parameters of the result ``message``, or say there are none."""
    lang = await choose(interaction.client, interaction=interaction)
    record = await interaction.client.store.original_of(message.id) if message is not None else None
    answer = parameters_text(record, lang) if record is not None else i18n.text(lang, "params.none")
    await interaction.response.send_message(answer, ephemeral=True, allowed_mentions=discord.AllowedMentions.none())

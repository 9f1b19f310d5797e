"""Buttons on status and result messages, as persistent dynamic items.

Each button keeps its state in its ``custom_id`` (job id, owner, grid cell) and finds the rest
on the message it sits on, so it works after a restart: :class:`~bot.client.StyleBot`
registers these classes with ``add_dynamic_items`` in ``setup_hook``. Labels are in the
message's language (``lang``); a button rebuilt from its ``custom_id`` only handles the click,
and answers in the clicking user's language.

Each template matches every custom_id of its button, and the parts are checked as they are read
(:mod:`bot.answers.custom_ids`): a damaged one gets :class:`BadComponent`'s ephemeral answer, and a
``stylebot:`` custom_id that no button claims gets :class:`UnknownComponent`'s, instead of Discord's
"This interaction failed".
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any, ClassVar

import discord

from bot.answers import custom_ids
from bot.answers.contest import answer_vote
from bot.answers.custom_ids import Malformed, template
from bot.answers.embeds import MENU_MAX
from bot.answers.parameters import show_parameters
from bot.answers.progress import PREVIEW_NAME
from bot.core.errors import discord_call, explain
from bot.core.host import Cancel
from bot.core.spoilers import plain_name
from bot.requests.picker import offer
from bot.words import i18n
from bot.words.language import choose
from engine.jobs.paint import GRID_FACTORS
from engine.tiles import Box

if TYPE_CHECKING:
    from bot.core.host import Host

log = logging.getLogger(__name__)


def _may_moderate(interaction: discord.Interaction) -> bool:
    perms = interaction.permissions
    return interaction.guild is not None and perms.manage_messages


async def _refuse(interaction: discord.Interaction[Host], key: str) -> bool:
    lang = await choose(interaction.client, interaction=interaction)
    await interaction.response.send_message(i18n.text(lang, key), ephemeral=True)
    return False


def _log_bad(interaction: discord.Interaction, item: discord.ui.Item[Any], why: Exception | str) -> None:
    log.warning("user %s clicked a component with custom_id %r on message %s: %s", interaction.user.id,
                getattr(item, "custom_id", None), interaction.message and interaction.message.id, why)


class BadComponent(discord.ui.DynamicItem[discord.ui.Item[Any]],
                   template=re.compile(r"stylebot:.*", re.DOTALL)):
    """In place of a button whose custom_id is damaged (or no button's): one ephemeral sentence, nothing run.

    Never registered itself: the buttons' ``from_custom_id`` and :class:`UnknownComponent` return it.
    """

    def __init__(self, item: discord.ui.Item[Any], key: str = "refusal.bad_button") -> None:
        super().__init__(item)
        self.key = key

    @classmethod
    def of(cls, interaction: discord.Interaction, item: discord.ui.Item[Any], why: Exception | str,
           key: str = "refusal.bad_button") -> BadComponent:
        _log_bad(interaction, item, why)
        return cls(item, key)

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Item[Any],
                             match: re.Match[str]) -> BadComponent:
        return cls.of(interaction, item, "no button of this version reads it")

    async def interaction_check(self, interaction: discord.Interaction[Host]) -> bool:  # type: ignore[override]
        return True

    async def callback(self, interaction: discord.Interaction[Host]) -> None:  # type: ignore[override]
        await _refuse(interaction, self.key)


class CancelButton(discord.ui.DynamicItem[discord.ui.Button], template=template("cancel")):
    """Cancels a queued or running job: its owner, or a moderator (Manage Messages)."""

    def __init__(self, job_id: str, owner_id: int, lang: str = i18n.DEFAULT) -> None:
        self.job_id, self.owner_id = job_id, owner_id
        super().__init__(discord.ui.Button(label=i18n.text(lang, "button.cancel"), emoji="✖️",
                                           style=discord.ButtonStyle.secondary,
                                           custom_id=f"stylebot:cancel:{job_id}:{owner_id}"))

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Button,
                             match: re.Match[str]) -> CancelButton | BadComponent:
        try:
            job, owner = custom_ids.parts(match["rest"], 2)
            return cls(custom_ids.job_id(job), custom_ids.snowflake(owner))
        except Malformed as exc:
            return BadComponent.of(interaction, item, exc)

    async def interaction_check(self, interaction: discord.Interaction[Host]) -> bool:  # type: ignore[override]
        if interaction.user.id == self.owner_id or _may_moderate(interaction):
            return True
        return await _refuse(interaction, "refusal.cancel_not_yours")

    async def callback(self, interaction: discord.Interaction[Host]) -> None:  # type: ignore[override]
        lang = await choose(interaction.client, interaction=interaction)
        try:
            cancelled = await interaction.client.tracker.cancel(self.job_id, interaction.user)
        except Exception as exc:  # noqa: BLE001 - explain() logs what is unexpected
            await interaction.response.send_message(explain(exc, lang, job_id=self.job_id), ephemeral=True)
            return
        if cancelled is Cancel.CANCELLED:
            await interaction.response.edit_message(content=i18n.text(lang, "status.cancelling"), view=None)
        elif cancelled is Cancel.UNKNOWN:  # nobody will ever edit this status message again: settle it here
            kept = [a for a in (interaction.message.attachments if interaction.message else [])
                    if plain_name(a.filename) != PREVIEW_NAME]
            await interaction.response.edit_message(content=i18n.text(lang, "status.job_lost"), view=None,
                                                    attachments=kept)
        else:
            await interaction.response.send_message(i18n.text(lang, "refusal.already_finished"), ephemeral=True)


class RestyleButton(discord.ui.DynamicItem[discord.ui.Button], template=template("restyle")):
    """Runs a result again with β doubled ("more") or halved ("less"), for whoever clicks."""

    FACTORS: ClassVar[dict[str, float]] = {"more": 2.0, "less": 0.5}

    def __init__(self, how: str, lang: str = i18n.DEFAULT) -> None:
        self.how = how
        super().__init__(discord.ui.Button(label=i18n.text(lang, "button.more_style" if how == "more" else "button.less_style"), emoji="🖌️" if how == "more" else "🫧",
                                           style=discord.ButtonStyle.primary,
                                           custom_id=f"stylebot:restyle:{how}"))

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Button,
                             match: re.Match[str]) -> RestyleButton | BadComponent:
        how = match["rest"]
        if how not in cls.FACTORS:
            return BadComponent.of(interaction, item, f"no such restyle: {how!r}")
        return cls(how)

    async def callback(self, interaction: discord.Interaction[Host]) -> None:  # type: ignore[override]
        await interaction.client.intake.restyle(interaction, self.FACTORS[self.how])


class UpscaleButton(discord.ui.DynamicItem[discord.ui.Button], template=template("upscale")):
    """Paints a result again at twice the size, starting from it, for whoever clicks.

    On a strength grid there is one per cell: its index and where it sits on the grid (in
    1/10000 of the width and height, so a shrunk upload still crops right) are in the custom_id.
    """

    def __init__(self, cell: int | None = None, box: Box | None = None, lang: str = i18n.DEFAULT, *,
                 factor: float | None = None) -> None:
        self.cell, self.box = cell, box
        custom_id, label = "stylebot:upscale", i18n.text(lang, "button.upscale")
        if cell is not None and box is not None:
            custom_id += f":{cell}:{custom_ids.box_text(box)}"
            label = i18n.text(lang, "button.upscale_cell", factor=GRID_FACTORS[cell] if factor is None else factor)
        super().__init__(discord.ui.Button(label=label, emoji="⬆️", style=discord.ButtonStyle.success,
                                           custom_id=custom_id))

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Button,
                             match: re.Match[str]) -> UpscaleButton | BadComponent:
        if match["rest"] is None:
            return cls()
        try:  # the cell within the grid, the box within the picture: a crafted one could ask for any size
            cell, box = custom_ids.parts(match["rest"], 2)
            return cls(custom_ids.cell(cell), custom_ids.box(box))
        except Malformed as exc:
            return BadComponent.of(interaction, item, exc)

    async def callback(self, interaction: discord.Interaction[Host]) -> None:  # type: ignore[override]
        await interaction.client.intake.upscale(interaction, self.cell, self.box)


class DeleteButton(discord.ui.DynamicItem[discord.ui.Button], template=template("delete")):
    """Deletes a result: its owner, or a moderator (Manage Messages)."""

    def __init__(self, owner_id: int, lang: str = i18n.DEFAULT) -> None:
        self.owner_id = owner_id
        super().__init__(discord.ui.Button(label=i18n.text(lang, "button.delete"), emoji="🗑️", style=discord.ButtonStyle.danger,
                                           custom_id=f"stylebot:delete:{owner_id}"))

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Button,
                             match: re.Match[str]) -> DeleteButton | BadComponent:
        try:
            [owner] = custom_ids.parts(match["rest"], 1)
            return cls(custom_ids.snowflake(owner))
        except Malformed as exc:
            return BadComponent.of(interaction, item, exc)

    async def interaction_check(self, interaction: discord.Interaction[Host]) -> bool:  # type: ignore[override]
        if interaction.user.id == self.owner_id or _may_moderate(interaction):
            return True
        return await _refuse(interaction, "refusal.delete_not_yours")

    async def callback(self, interaction: discord.Interaction[Host]) -> None:  # type: ignore[override]
        await interaction.response.defer()
        message = interaction.message
        assert message is not None
        log.info("result %s of user %s deleted by user %s (%s) in guild %s, channel %s", message.id,
                 self.owner_id, interaction.user.id, "owner" if interaction.user.id == self.owner_id else "moderator",
                 interaction.guild_id, interaction.channel_id)
        try:
            await message.delete()
        except discord.NotFound:
            pass  # gone already: its repost still goes
        except discord.HTTPException as exc:
            lang = await choose(interaction.client, interaction=interaction)
            await interaction.followup.send(explain(exc, lang), ephemeral=True)
            return
        await delete_repost(interaction.client, message.id)


async def delete_repost(bot: Host, result_id: int) -> bool:
    """The gallery repost of a deleted result goes with it, and its stars are forgotten; whether it had one.

    Called by Delete and by the result's deletion event (:mod:`bot.cogs.starboard`): the first takes the
    repost from the store, the second finds none. Gone already: nothing to do.
    """
    repost = await bot.store.forget_result(result_id)
    if repost is None:
        return False
    channel_id, message_id = repost
    with discord_call(log, "cannot delete gallery repost %s of result %s", message_id, result_id):
        await bot.get_partial_messageable(channel_id).get_partial_message(message_id).delete()
    log.info("gallery repost %s (channel %s) of result %s deleted with it", message_id, channel_id, result_id)
    return True


class PlainButton(discord.ui.DynamicItem[discord.ui.Button], template=re.compile(r"(?!)")):
    """A button whose custom_id is ``stylebot:<name>`` alone, for whoever clicks: a subclass names itself
    (``class X(PlainButton, name=...)``) and says its label key, emoji and style; anything after the name
    is a damaged button, answered by :class:`BadComponent`."""

    NAME: ClassVar[str]
    LABEL: ClassVar[str]  # a catalogue key
    EMOJI: ClassVar[str]
    STYLE: ClassVar[discord.ButtonStyle]

    def __init_subclass__(cls, *, name: str) -> None:
        super().__init_subclass__(template=template(name))
        cls.NAME = name

    def __init__(self, lang: str = i18n.DEFAULT) -> None:
        super().__init__(discord.ui.Button(label=i18n.text(lang, self.LABEL), emoji=self.EMOJI, style=self.STYLE,
                                           custom_id=custom_ids.PREFIX + self.NAME))

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Button,
                             match: re.Match[str]) -> PlainButton | BadComponent:
        return cls() if match["rest"] is None else BadComponent.of(interaction, item, f"nothing follows {cls.NAME}")


class PaintAnotherButton(PlainButton, name="newstyle"):
    """🎨 Restyle: the same photo in another of the server's saved styles (a select menu), for whoever clicks.

    The new result replies to this one; the photo is found as More/Less style find it.
    """

    LABEL, EMOJI, STYLE = "button.restyle", "🎨", discord.ButtonStyle.primary

    async def callback(self, interaction: discord.Interaction[Host]) -> None:  # type: ignore[override]
        result, bot = interaction.message, interaction.client
        assert result is not None

        async def paint(pick: discord.Interaction, name: str) -> None:
            await bot.intake.paint_again(pick, result, name)

        await offer(interaction, bot, "picker.prompt_restyle", paint)


class PaintButton(PlainButton, name="paint"):
    """Paints a quick draft's inputs properly (a Gatys job with the same options), for whoever clicks."""

    LABEL, EMOJI, STYLE = "draft.button.paint", "🎨", discord.ButtonStyle.success

    async def callback(self, interaction: discord.Interaction[Host]) -> None:  # type: ignore[override]
        await interaction.client.intake.restyle(interaction, 1.0)  # the same options, painted


class ParametersButton(PlainButton, name="params"):
    """📋 Parameters: everything that made the result and the ``!style`` line that repaints it, to whoever clicks."""

    LABEL, EMOJI, STYLE = "button.parameters", "📋", discord.ButtonStyle.secondary

    async def callback(self, interaction: discord.Interaction[Host]) -> None:  # type: ignore[override]
        await show_parameters(interaction, interaction.message)


class VariationButton(PlainButton, name="variation"):
    """🎲 Variation: the same job with a new random seed, as the clicker's own job (their limits apply)."""

    LABEL, EMOJI, STYLE = "button.variation", "🎲", discord.ButtonStyle.primary

    async def callback(self, interaction: discord.Interaction[Host]) -> None:  # type: ignore[override]
        await interaction.client.intake.vary(interaction)


class VoteButton(discord.ui.DynamicItem[discord.ui.Button], template=template("vote")):
    """🗳️ Vote on a challenge entry: one vote per member and challenge, not for one's own, movable."""

    def __init__(self, challenge_id: int, lang: str = i18n.DEFAULT) -> None:
        self.challenge_id = challenge_id
        super().__init__(discord.ui.Button(label=i18n.text(lang, "button.vote"), emoji="🗳️",
                                           style=discord.ButtonStyle.success,
                                           custom_id=f"stylebot:vote:{challenge_id}"))

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Button,
                             match: re.Match[str]) -> VoteButton | BadComponent:
        try:
            [challenge] = custom_ids.parts(match["rest"], 1)
            return cls(custom_ids.number(challenge, 1, custom_ids.SNOWFLAKE_MAX))
        except Malformed as exc:
            return BadComponent.of(interaction, item, exc)

    async def callback(self, interaction: discord.Interaction[Host]) -> None:  # type: ignore[override]
        await answer_vote(interaction, self.challenge_id)


class TrySelect(discord.ui.DynamicItem[discord.ui.Select], template=template("try")):
    """On a sheet of drafts: pick a saved style to paint the photo in it properly, for whoever picks."""

    def __init__(self, names: list[str] | None = None, lang: str = i18n.DEFAULT) -> None:
        options = [discord.SelectOption(label=name, value=name) for name in (names or [])[:MENU_MAX]]
        super().__init__(discord.ui.Select(custom_id="stylebot:try", placeholder=i18n.text(lang, "try.placeholder"),
                                           options=options or [discord.SelectOption(label="-")]))

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Select,
                             match: re.Match[str]) -> TrySelect | BadComponent:
        if match["rest"] is not None or not isinstance(item, discord.ui.Select):
            return BadComponent.of(interaction, item, "not the select menu of a sheet of drafts")
        return cls([o.value for o in item.options])

    async def callback(self, interaction: discord.Interaction[Host]) -> None:  # type: ignore[override]
        values, offered = self.item.values, {o.value for o in self.item.options}
        if len(values) != 1 or values[0] not in offered:  # one of the names on the menu, or nothing is painted
            _log_bad(interaction, self.item, f"picked {values!r} from {sorted(offered)!r}")
            await _refuse(interaction, "refusal.bad_button")
            return
        await interaction.client.intake.paint_saved(interaction, values[0])


_NAMED: tuple[tuple[str, type[discord.ui.DynamicItem[Any]]], ...] = (
    ("cancel", CancelButton), ("restyle", RestyleButton), ("upscale", UpscaleButton), ("delete", DeleteButton),
    ("try", TrySelect), ("vote", VoteButton), *((plain.NAME, plain) for plain in (PaintAnotherButton, PaintButton, ParametersButton,
                                                             VariationButton)))


class UnknownComponent(discord.ui.DynamicItem[discord.ui.Item[Any]],
                       template=custom_ids.unknown_template([name for name, _ in _NAMED])):
    """Any ``stylebot:`` custom_id no button above claims (a button of another version): said so, ephemerally."""

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Item[Any],
                             match: re.Match[str]) -> BadComponent:
        return BadComponent.of(interaction, item, "no button of this version has this name", "refusal.old_button")


# the templates match disjoint sets of custom_ids: discord.py runs every item whose template matches
DYNAMIC_ITEMS: tuple[type[discord.ui.DynamicItem[Any]], ...] = (*(item for _, item in _NAMED), UnknownComponent)


def status_view(job_id: str, owner_id: int, lang: str = i18n.DEFAULT) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(CancelButton(job_id, owner_id, lang))
    return view

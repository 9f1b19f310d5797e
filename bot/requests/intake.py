"""One code path from a request (``!style``, ``/style``, a "More/Less style" or "Upscale" click) to a queued job.

Checks run cheapest first: where the request came from, the options, the attachments'
metadata, the user's quota; only then are the images downloaded and decoded, a status
message posted and the job submitted. Whatever goes wrong on the way becomes exactly
one answer, through :func:`bot.core.errors.explain`.
"""

from __future__ import annotations

import asyncio
import io
import logging
import secrets
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import discord

from bot.answers.courier import needs_webhook
from bot.answers.delivery import Delivery, mention_only
from bot.answers.embeds import inputs_link, options_from_message
from bot.answers.upload import fit_file, upload_budget
from bot.core import spoilers
from bot.core.errors import UserError, discord_call, explain, keyed, permission_names
from bot.core.library import normal_name
from bot.core.store import GuildConfig
from bot.requests import inputs
from bot.requests.fairness import Fairness
from bot.requests.links import Link, shown
from bot.requests.options import animation_limits, options_of, parse, resolve
from bot.requests.origin import Gather, Inputs, Origin
from bot.requests.sizing import fit_size
from bot.words import i18n
from bot.words.language import choose
from engine.errors import UserLimitReached
from engine.jobs import JobHandle, JobSpec
from engine.jobs.contract import MAX_TRY_STYLES
from engine.jobs.paint import GRID_FACTORS
from engine.jobs.report import JobReport
from engine.nst.images import decode_image, encode_image
from engine.nst.params import StyleParams
from engine.tiles import Box, crop

if TYPE_CHECKING:
    from bot.core.host import Host

log = logging.getLogger(__name__)

NEEDED = ("send_messages", "attach_files", "embed_links", "read_message_history")
SEED_MAX = 2**32 - 1  # StyleParams.seed's upper bound


class Intake:
    """Turns requests into queued jobs (or into one clear refusal each)."""

    def __init__(self, bot: Host) -> None:
        self.bot = bot
        self.settings = bot.settings
        self.fairness = Fairness()

    async def request(self, origin: Origin, gather: Gather) -> None:
        """Validate, download, queue and follow one job; whatever goes wrong becomes one answer."""
        status: discord.Message | None = None
        await self._speak(origin)
        try:
            config = await self.bot.store.get(origin.guild_id)
            self._check_place(origin, config)
            wanted = await gather()
            wanted.spoiler = wanted.spoiler or spoilers.wanted(config.spoiler, origin.channel)
            options, params = resolve(wanted.options, config, max_size=self.settings.default_max_size,
                                      max_steps=self.settings.default_max_steps)
            inputs.check(wanted.attachments, max_styles=self.settings.max_styles,
                         max_bytes=self.settings.max_attachment_bytes, saved=len(wanted.saved))
            await self._check_quota(origin, config)
            saved = await self.bot.library.images(origin.guild_id, wanted.saved)
            if saved:  # the status message then carries every input, for the buttons (even if a style goes)
                wanted.source = None
            limits = animation_limits(config, self.settings.max_frames, self.settings.max_duration_s)
            blobs, clip = await inputs.download(wanted.attachments, max_bytes=self.settings.max_attachment_bytes,
                                                limits=limits)
            blobs += saved
            start = await _result_image(*wanted.upscale) if wanted.upscale else None
            if clip is None and not wanted.grid and start is None:  # sizes that fit the machine
                options = await fit_size(self.bot.queue, options, params, blobs[0], target_s=self.settings.target_job_s,
                                         max_size=config.max_size or self.settings.default_max_size)
            if clip is not None and clip.kind == "image":  # GIF/WebP/APNG: the operator picks WebP or GIF
                options.setdefault("animation_format", self.settings.animation_format)
            status = await self._post_status(origin, wanted, blobs)
            where = self._delivery(origin, wanted, status)
            handle = await self.bot.queue.submit(JobSpec(
                blobs[0], tuple(blobs[1:]), options, origin.user.id, origin.guild_id,
                meta={**where.to_meta(), **_asked(wanted)},
                start_image=start, grid=GRID_FACTORS if wanted.grid else (), draft="quick" if wanted.quick else ""))
        except Exception as exc:  # noqa: BLE001 - every refusal is answered; explain() logs the unexpected
            await self._refuse(origin, status, exc)
            return
        log.info("job %s queued: user %s asked in guild %s, channel %s, message %s for %s",
                 handle.job_id, origin.user.id, origin.guild_id, where.channel_id, _request_id(origin),
                 _what(wanted, options))
        await self._queued(origin, handle)

    async def made_with(self, result: discord.Message) -> tuple[StyleParams, JobReport | None]:
        """The params a posted result was made with, and its report: from the bot's record of the result, or
        (a result posted before the bot kept records) from the options line in its embed's footer."""
        record = await self.bot.store.result_of(result.id)
        if record is not None:
            return record.report.params, record.report
        return parse(options_from_message(result)), None

    async def restyle(self, interaction: discord.Interaction, factor: float) -> None:
        """Run a posted result again with β × ``factor``, from its record and the message it replies to."""
        await self._rerun(interaction, lambda params: params.replace(style_weight=params.style_weight * factor))

    async def vary(self, interaction: discord.Interaction) -> None:
        """🎲 Variation: a posted result run again with a new random seed (said on the result), as the clicker's job.

        The seed starts the noise of ``init=noise`` and jitters the start of the other inits
        (:func:`engine.nst.optimise.start_image`), so each seed paints a picture of its own.
        """
        seed = secrets.randbelow(SEED_MAX) + 1  # 0 is the default: no jitter

        def note(lang: str) -> str:
            return i18n.text(lang, "variation.note", seed=seed)

        await self._rerun(interaction, lambda params: params.replace(seed=seed), note)

    async def _rerun(self, interaction: discord.Interaction, change: Callable[[StyleParams], StyleParams],
                     note: Callable[[str], str] | None = None) -> None:
        """Run a posted result again with ``change`` applied to its params, as a reply to its inputs."""
        await interaction.response.defer(thinking=True)
        origin = Origin.from_interaction(interaction)

        async def gather() -> Inputs:
            assert interaction.message is not None
            params, _ = await self.made_with(interaction.message)
            options = options_of(change(params))
            source = await _source_of(interaction)
            return Inputs(await inputs.images_of(source), options, source, spoiler=_spoilered(interaction.message),
                          note=note(origin.lang) if note else "")  # origin.lang: chosen by request()

        await self.request(origin, gather)

    async def upscale(self, interaction: discord.Interaction, cell: int | None = None, box: Box | None = None) -> None:
        """Paint a posted result (or cell ``cell`` of a grid, at ``box``) again at twice the size, from itself.

        The size doubles up to the server's ``max_size``; at the limit already, it is refused.
        """
        await interaction.response.defer(thinking=True)

        async def gather() -> Inputs:
            result = interaction.message
            assert result is not None
            params, report = await self.made_with(result)
            if cell is not None:
                params = report.cell_params(cell) if report is not None and report.factors else \
                    params.replace(style_weight=params.style_weight * GRID_FACTORS[cell])
            config = await self.bot.store.get(interaction.guild_id)
            limit = config.max_size or self.settings.default_max_size
            if params.size >= limit:
                raise UserError("refusal.upscale_at_limit", size=params.size)
            options = options_of(params.replace(size=min(2 * params.size, limit)))
            source = await _source_of(interaction)
            return Inputs(await inputs.images_of(source), options, source, upscale=(result, box),
                          spoiler=_spoilered(result))

        await self.request(Origin.from_interaction(interaction), gather)

    async def paint_saved(self, interaction: discord.Interaction, name: str) -> None:
        """Paint the photo of a sheet of drafts properly in the saved style ``name`` (its menu's pick)."""
        await interaction.response.defer(thinking=True)

        async def gather() -> Inputs:
            assert interaction.message is not None
            params, _ = await self.made_with(interaction.message)
            source = await _source_of(interaction)
            return Inputs((await inputs.images_of(source))[:1], options_of(params), source, saved=[name])

        await self.request(Origin.from_interaction(interaction), gather)

    async def try_styles(self, origin: Origin, gather: Gather) -> None:
        """``!style try``: one sheet of the photo drafted in each of the server's saved styles, as a job.

        The same checks as :meth:`request`, then the saved paintings are shrunk to what the draft
        network looks at (:func:`bot.requests.inputs.style_sample`) and travel with the photo, captioned.
        """
        status: discord.Message | None = None
        await self._speak(origin)
        try:
            config = await self.bot.store.get(origin.guild_id)
            self._check_place(origin, config)
            if origin.guild_id is None:
                raise UserError("try.server_only")
            wanted = await gather()
            options, _ = resolve(wanted.options, config, max_size=self.settings.default_max_size,
                                 max_steps=self.settings.default_max_steps)
            names = self.bot.library.names(origin.guild_id)[:MAX_TRY_STYLES]
            if not names:
                raise UserError("try.empty")
            inputs.check(wanted.attachments[:1], max_styles=1, max_bytes=self.settings.max_attachment_bytes, saved=1)
            await self._check_quota(origin, config)
            samples = await self._style_samples(origin.guild_id, names)
            limits = animation_limits(config, self.settings.max_frames, self.settings.max_duration_s)
            blobs, _ = await inputs.download(wanted.attachments[:1], max_bytes=self.settings.max_attachment_bytes,
                                             limits=limits)
            status = await self._post_status(origin, wanted, blobs)
            where = self._delivery(origin, wanted, status)
            handle = await self.bot.queue.submit(JobSpec(
                blobs[0], tuple(samples), options, origin.user.id, origin.guild_id, meta=where.to_meta(),
                draft="try", captions=tuple(names)))
        except Exception as exc:  # noqa: BLE001 - every refusal is answered; explain() logs the unexpected
            await self._refuse(origin, status, exc)
            return
        log.info("job %s (try %d styles) queued for user %s", handle.job_id, len(names), origin.user.id)
        await self._queued(origin, handle)

    async def _style_samples(self, guild_id: int, names: list[str], chunk: int = 8) -> list[bytes]:
        """The saved paintings behind ``names``, shrunk, a few at a time (a library may hold hundreds of MB)."""
        samples: list[bytes] = []
        for start in range(0, len(names), chunk):
            paintings = await self.bot.library.images(guild_id, names[start:start + chunk])
            samples += await asyncio.to_thread(inputs.style_samples, paintings)
        return samples

    async def refusal(self, origin: Origin) -> str | None:
        """What a request from here would be refused with before its images are looked at, or None.

        Asked before offering a choice of styles (right-click menus, 🎨 Restyle), so nobody picks a
        style for nothing; the request checks everything again, in the same words.
        """
        try:
            await self._speak(origin)
            config = await self.bot.store.get(origin.guild_id)
            self._check_place(origin, config)
            await self._check_quota(origin, config)
        except Exception as exc:  # noqa: BLE001 - the words the request itself would answer with
            return explain(exc, origin.lang)
        return None

    async def paint_again(self, interaction: discord.Interaction, result: discord.Message, name: str) -> None:
        """🎨 Restyle: the photo of a posted result painted in the saved style ``name``, as a reply to that result.

        ``interaction`` (the pick of the style) is deferred already.
        """
        style = normal_name(name)
        origin = Origin.from_interaction(interaction)

        async def gather() -> Inputs:
            params, _ = await self.made_with(result)
            options = options_of(params.replace(style_blend=None))  # one saved style now, whatever it blended
            source = await inputs_message(interaction.channel, result)
            photo = (await inputs.images_of(source))[:1]
            note = i18n.text(origin.lang, "restyle.note", style=style)  # origin.lang: chosen by request()
            return Inputs(photo, options, saved=[style], reply_to=result, note=note)

        await self.request(origin, gather)

    async def _speak(self, origin: Origin) -> None:
        """Choose the language every answer to this request speaks (:func:`bot.words.language.choose`)."""
        origin.lang = await choose(self.bot, interaction=origin.interaction, guild=origin.guild,
                                   user_id=origin.user.id)

    async def _queued(self, origin: Origin, handle: JobHandle) -> None:
        """A job is queued: the member's cooldown starts, listeners hear of it, the tracker shows and follows it."""
        self.fairness.queued(origin)
        self.bot.dispatch("style_job_submitted", handle)
        await self.bot.tracker.start(handle)

    # -- checks ------------------------------------------------------------------------------

    def _check_place(self, origin: Origin, config: GuildConfig) -> None:
        if not self.bot.accepting:
            raise UserError("refusal.restarting")
        if needs_webhook(self.bot, origin.interaction):  # a server that did not add the bot: no rules of its here
            return
        if origin.guild is None:
            if not self.settings.allow_dms:
                raise UserError("refusal.no_dms")
            return
        here = {origin.channel.id, getattr(origin.channel, "parent_id", None)}
        if config.channels and not here & set(config.channels):
            where = ", ".join(f"<#{c}>" for c in config.channels)
            raise UserError("refusal.wrong_channel", channels=where)
        perms = origin.bot_permissions()
        missing = [name for name in NEEDED if not getattr(perms, name)]
        if missing:
            raise UserError("refusal.bot_permissions", permissions=permission_names(missing, origin.lang),
                            count=len(missing))

    async def _check_quota(self, origin: Origin, config: GuildConfig) -> None:
        """The server's limits: jobs per member, then the wait between one member's jobs and jobs per channel."""
        limit = config.user_limit
        if limit and self.bot.tracker.active(origin.user.id, origin.guild_id) >= limit:
            raise keyed(UserLimitReached, "refusal.server_user_limit", count=limit)
        await self.fairness.check(origin, config, self.bot.tracker)

    # -- answers -----------------------------------------------------------------------------

    async def _send(self, origin: Origin, text: str, **kwargs: Any) -> discord.Message:
        mentions = mention_only(origin.user.id)
        if origin.interaction is not None:
            followup = origin.interaction.followup
            return await followup.send(text, wait=True, allowed_mentions=mentions, **kwargs)
        assert origin.message is not None
        return await origin.message.reply(text, allowed_mentions=mentions, **kwargs)

    async def _post_status(self, origin: Origin, wanted: Inputs, blobs: list[bytes]) -> discord.Message:
        """The message progress is shown on; for /style it also carries the inputs (for "More style")."""
        files: list[discord.File] = []
        if wanted.source is None:
            budget = upload_budget(origin.upload_limit) // len(blobs)
            for i, blob in enumerate(blobs):
                data, name, _ = await asyncio.to_thread(fit_file, blob, budget, inputs.role(i).replace(" ", ""))
                files.append(discord.File(io.BytesIO(data), name, spoiler=wanted.spoiler))
        return await self._send(origin, i18n.text(origin.lang, "status.queuing"), **({"files": files} if files else {}))

    def _delivery(self, origin: Origin, wanted: Inputs, status: discord.Message) -> Delivery:
        source = wanted.source or status
        reply = wanted.reply_to or source
        return Delivery(channel_id=origin.channel.id, status_message_id=status.id, reply_to_id=reply.id,
                        reply_author_id=reply.author.id, upload_limit=origin.upload_limit,
                        guild_id=origin.guild_id, inputs_message_id=source.id if reply is not source else None,
                        note=wanted.note, webhook_token=self._webhook_token(origin), lang=origin.lang,
                        spoiler=wanted.spoiler, parent_id=wanted.parent.id if wanted.parent else None)

    def _webhook_token(self, origin: Origin) -> str | None:
        return origin.interaction.token if needs_webhook(self.bot, origin.interaction) else None  # type: ignore[union-attr]

    def _status_message(self, origin: Origin, status: discord.Message) -> Any:
        """The status message to edit: through the interaction's webhook where the bot is not a member."""
        return status if self._webhook_token(origin) else origin.channel.get_partial_message(status.id)

    async def _refuse(self, origin: Origin, status: discord.Message | None, exc: Exception) -> None:
        """A request refused: listeners hear of it, and its user reads why (on the status message, if posted)."""
        self.bot.dispatch("style_job_refused", origin.user.id, exc)
        text = explain(exc, origin.lang)
        with discord_call(log, "cannot answer user %s in channel %s", origin.user.id, origin.channel.id) as call:
            if status is not None:
                await self._status_message(origin, status).edit(content=text, view=None, attachments=[])
            else:
                await self._send(origin, text)
        if call.failed:
            await self.bot.tracker.notify_directly(origin.user.id, origin.guild_id, lambda lang: explain(exc, lang))


async def _source_of(interaction: discord.Interaction) -> discord.Message:
    """The message a clicked result replies to: the one carrying its photo and paintings."""
    result = interaction.message
    if result is None:
        raise UserError("refusal.no_source")
    return await inputs_message(interaction.channel, result)


async def inputs_message(channel: Any, result: discord.Message) -> discord.Message:
    """The message carrying a result's photo and paintings: the one its embed links to, else the one it replies to."""
    linked = inputs_link(result)
    wanted = linked or (result.reference.message_id if result.reference else None)
    if wanted is None:
        raise UserError("refusal.no_source")
    try:
        return await channel.fetch_message(wanted)
    except discord.Forbidden:  # a server that did not add the bot: its messages are closed to it
        raise UserError("reach.cannot_read") from None
    except discord.NotFound:
        raise UserError("refusal.source_gone") from None


async def _result_image(result: discord.Message, box: Box | None) -> bytes:
    """The picture of a result message (its one attachment), or one tile of it (then as PNG)."""
    if not result.attachments:
        raise UserError("refusal.no_result_picture")
    attachment = result.attachments[0]
    with discord_call(log, "download of result %s failed", result.id):
        data = await attachment.read()
        return data if box is None else await asyncio.to_thread(_crop_png, data, box)
    raise UserError("refusal.result_download")


def _crop_png(data: bytes, box: Box) -> bytes:
    return encode_image(crop(decode_image(data), box), format="PNG")


# -- what a request asked for: kept with the job (for /stats) and logged -----------------------------

def _asked(wanted: Inputs) -> dict[str, Any]:
    """Extra job meta: the saved styles used and when it was asked for (read by bot.cogs.queue)."""
    return {"saved": list(wanted.saved), "asked_at": time.time()}


def _request_id(origin: Origin) -> int | None:
    """The id of the message that asked (``!style``), or of the interaction (``/style``, a button)."""
    if origin.message is not None:
        return origin.message.id
    return origin.interaction.id if origin.interaction is not None else None


def _what(wanted: Inputs, options: dict[str, Any]) -> str:
    """A log line's account of a request: its images (links by host and path only), styles and options."""
    images = [f"link {shown(a.url)}" if isinstance(a, Link) else f"file {a.filename}" for a in wanted.attachments]
    extras = [f"saved {name}" for name in wanted.saved] + (["grid"] if wanted.grid else [])
    extras += ["upscale"] if wanted.upscale else []
    extras += ["spoiler"] if wanted.spoiler else []
    return ", ".join(images + extras) + f"; options {sorted(options.items())}"


def _spoilered(message: discord.Message | None) -> bool:
    """Whether a posted result is a spoiler (a run from it stays one)."""
    return message is not None and any(a.is_spoiler() for a in message.attachments)

"""The server's style library: ``!style save|styles|delete|rename`` and ``/styles``.

The subcommands hang under ``!style`` (the group of :mod:`bot.cogs.style`), so ``!style save
starry`` reads as a sentence; they are attached in :meth:`LibraryCog.cog_load`, before
discord.py would add them at the top level. Saving, deleting and renaming are for members
with Manage Server or the server's ``style_role``; looking and using are for everyone.
"""

from __future__ import annotations

import asyncio
import io
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.core.errors import UserError, keyed
from bot.core.library import check_name, contact_sheet, full, normal_name, taken, thumbnail, truncate_name
from bot.requests.inputs import images_of, looks_like_image, read
from bot.words import i18n
from bot.words.language import choose, of_context
from engine.errors import InputError

if TYPE_CHECKING:
    from bot.core.host import Host

class LibraryCog(commands.Cog):
    def __init__(self, bot: Host) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        group = self.bot.get_command("style")
        if not isinstance(group, commands.Group):
            raise TypeError("the style library needs the !style group: add StyleCog first")
        for command in self._subcommands():
            group.add_command(command)

    async def cog_unload(self) -> None:
        group = self.bot.get_command("style")
        if isinstance(group, commands.Group):
            for command in self._subcommands():
                group.remove_command(command.name)

    def _subcommands(self) -> tuple[commands.Command, ...]:
        """The library's words after `!style` (bot.core.library.SUBCOMMANDS names them for name checks)."""
        return (self.save, self.styles, self.delete, self.rename)

    async def cog_check(self, ctx: commands.Context) -> bool:  # type: ignore[override]
        if ctx.guild is None:
            raise commands.NoPrivateMessage()
        return True

    async def _check_may_change(self, ctx: commands.Context) -> int:
        """The guild id, if the author may change its library (Manage Server or its style_role)."""
        assert ctx.guild is not None
        role = (await self.bot.store.get(ctx.guild.id)).style_role
        if ctx.permissions.manage_guild or (role and any(r.id == role for r in getattr(ctx.author, "roles", ()))):
            return ctx.guild.id
        if role:
            raise UserError("library.may_not_change_role", role=f"<@&{role}>")
        raise UserError("library.may_not_change")

    @commands.command(name="save", usage="<name>  (attach the painting, or reply to a message that has it)")
    async def save(self, ctx: commands.Context, name: str) -> None:
        """Save the attached painting as a style of this server, to use as `!style <name>`."""
        guild_id = await self._check_may_change(ctx)
        await room_for(self.bot, guild_id, name)  # before the attachments: a taken name is said first
        found = [a for a in await images_of(ctx.message) if looks_like_image(a)]
        if len(found) != 1:
            raise UserError("library.save_no_image" if not found else "library.save_many_images", count=len(found))
        name = await save_painting(self.bot, guild_id, name, found[0], ctx.author.id)
        await ctx.reply(i18n.text(await of_context(self.bot, ctx), "library.saved", name=name))

    @commands.command(name="styles")
    async def styles(self, ctx: commands.Context) -> None:
        """Show this server's saved styles: one contact sheet of thumbnails with their names."""
        assert ctx.guild is not None
        text, sheet = await self._sheet(ctx.guild.id, await of_context(self.bot, ctx))
        await ctx.reply(text, **({"file": sheet} if sheet else {}))

    @commands.command(name="delete", usage="<name>")
    async def delete(self, ctx: commands.Context, name: str) -> None:
        """Delete a saved style of this server."""
        guild_id = await self._check_may_change(ctx)
        name = normal_name(name)
        await self.bot.library.delete(guild_id, name)
        await ctx.reply(i18n.text(await of_context(self.bot, ctx), "library.deleted", name=name))

    @commands.command(name="rename", usage="<old name> <new name>")
    async def rename(self, ctx: commands.Context, old: str, new: str) -> None:
        """Rename a saved style of this server."""
        guild_id = await self._check_may_change(ctx)
        old, new = normal_name(old), check_name(new)
        await self.bot.library.rename(guild_id, old, new)
        await ctx.reply(i18n.text(await of_context(self.bot, ctx), "library.renamed", old=old, new=new))

    @app_commands.command(name="styles", description="Show this server's saved styles")
    @app_commands.guild_only()
    async def styles_slash(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True)
        assert interaction.guild_id is not None
        lang = await choose(self.bot, interaction=interaction)
        text, sheet = await self._sheet(interaction.guild_id, lang)
        await interaction.followup.send(text, **({"file": sheet} if sheet else {}))

    async def _sheet(self, guild_id: int, lang: str) -> tuple[str, discord.File | None]:
        entries = await self.bot.library.thumbnails(guild_id)
        if not entries:
            return i18n.text(lang, "library.empty"), None
        data = await asyncio.to_thread(contact_sheet, entries)
        text = i18n.text(lang, "library.sheet", count=len(entries))
        return text, discord.File(io.BytesIO(data), "styles.jpg")


async def room_for(bot: Host, guild_id: int, name: str) -> tuple[str, int]:
    """The library name for ``name`` and the guild's library limit; UserError if the name is bad or taken, or
    the library full (checked again when storing; this spares a download)."""
    name = check_name(name)
    limit = (await bot.store.get(guild_id)).library_limit or bot.settings.default_library_limit
    saved = bot.library.names(guild_id)
    if name in saved:
        raise taken(name)
    if len(saved) >= limit:
        raise full(limit)
    return name, limit


async def save_painting(bot: Host, guild_id: int, name: str, painting: discord.Attachment, user_id: int) -> str:
    """Save ``painting`` as the guild's style ``name`` (checked: the name, the library's room, the file); the
    name as saved. The caller has checked that the member may change the library."""
    name, limit = await room_for(bot, guild_id, name)
    settings = bot.settings
    if painting.size > settings.library_max_bytes:
        raise UserError("library.painting_too_large", size_bytes=painting.size, limit_bytes=settings.library_max_bytes)
    filename = truncate_name(painting.filename)
    data = await read(painting, UserError("library.download", name=filename))
    try:
        thumb = await asyncio.to_thread(thumbnail, data, max_bytes=settings.library_max_bytes)
    except InputError as exc:
        raise keyed(InputError, "library.bad_painting", name=filename,
                    reason=exc.message or {"key": "job.note", "args": {"note": str(exc)}}) from None
    await bot.library.save(guild_id, name, data, thumb, user_id, limit=limit)
    return name

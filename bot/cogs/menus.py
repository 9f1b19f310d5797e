"""Right-click ("Apps") menus: "Paint in a style" and "Show parameters" on a message, "Paint avatar" on a member.

"Paint in a style" on a posted result is a remix: its picture is the photo, and the new result links back
to it. discord.py's ``@app_commands.context_menu`` cannot decorate a cog's method, so the menus
are built in ``__init__`` from bound methods and added to (and removed from) the tree with the
cog. Both answer within Discord's 3 s: with the choice of saved styles
(:func:`bot.requests.picker.offer`, which first says what a request from here would be refused with),
or, for a message with two images, with a deferral. Every request then goes through
:meth:`bot.requests.intake.Intake.request`, like ``!style``: the same checks, limits and words.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.answers.parameters import show_parameters
from bot.core.errors import UserError, explain
from bot.core.library import normal_name
from bot.requests.origin import Inputs, Origin
from bot.requests.picker import offer
from bot.requests.pictures import avatar_of, pictures_on
from bot.words.i18n import text
from bot.words.language import choose

if TYPE_CHECKING:
    from bot.core.host import Host

PAINT_MESSAGE = "Paint in a style"
PAINT_AVATAR = "Paint avatar"
SHOW_PARAMETERS = "Show parameters"
# Installable to a server and to a member's account; usable in servers (also those that did not add
# the bot: answered through the interaction, bot.answers.courier) and in the member's DM with the bot. Not in
# group DMs and DMs between members: jobs there are not answered through the interaction yet.
INSTALLS = app_commands.AppInstallationType(guild=True, user=True)
CONTEXTS = app_commands.AppCommandContext(guild=True, dm_channel=True, private_channel=False)


class MenusCog(commands.Cog):
    def __init__(self, bot: Host) -> None:
        self.bot = bot
        self.menus = (
            app_commands.ContextMenu(name=PAINT_MESSAGE, callback=self.paint_message,
                                     allowed_installs=INSTALLS, allowed_contexts=CONTEXTS),
            app_commands.ContextMenu(name=PAINT_AVATAR, callback=self.paint_avatar,
                                     allowed_installs=INSTALLS, allowed_contexts=CONTEXTS),
            app_commands.ContextMenu(name=SHOW_PARAMETERS, callback=self.show_parameters,
                                     allowed_installs=INSTALLS, allowed_contexts=CONTEXTS),
        )

    async def cog_load(self) -> None:
        for menu in self.menus:
            self.bot.tree.add_command(menu)

    async def cog_unload(self) -> None:
        for menu in self.menus:
            self.bot.tree.remove_command(menu.name, type=menu.type)

    async def paint_message(self, interaction: discord.Interaction, message: discord.Message) -> None:
        """The message's first image in the style of its second, or in a saved style chosen from a list."""
        lang = await choose(self.bot, interaction=interaction)
        pictures = pictures_on(message, self.bot.http)
        if not pictures:
            await interaction.response.send_message(explain(UserError("menu.no_image"), lang), ephemeral=True)
            return
        if len(pictures) >= 2:  # the photo, then the painting(s): like `!style` with the images attached
            await interaction.response.defer(thinking=True)

            async def gather_both() -> Inputs:
                return Inputs(list(pictures), reply_to=message)

            await self.bot.intake.request(Origin.from_interaction(interaction), gather_both)
            return

        # a remix: someone's result is the photo; the new result links back to it (and its record keeps it)
        parent = message if await self.bot.store.result_of(message.id) is not None else None

        async def paint(pick: discord.Interaction, name: str) -> None:
            async def gather() -> Inputs:
                return Inputs(pictures[:1], saved=[normal_name(name)], reply_to=message, parent=parent)

            await self.bot.intake.request(Origin.from_interaction(pick), gather)

        await offer(interaction, self.bot, "menu.prompt_message", paint, tip=text(lang, "menu.two_images_tip"))

    async def show_parameters(self, interaction: discord.Interaction, message: discord.Message) -> None:
        """📋 Parameters of a result (as its button answers), or a sentence saying the message is not one."""
        await show_parameters(interaction, message)

    async def paint_avatar(self, interaction: discord.Interaction,
                           member: discord.Member | discord.User) -> None:
        """The member's avatar (their server avatar where they have one) in a saved style chosen from a list."""
        mention = member.mention  # shown as their name; every answer pings only the requester

        async def paint(pick: discord.Interaction, name: str) -> None:
            style = normal_name(name)
            origin = Origin.from_interaction(pick)

            async def gather() -> Inputs:  # origin.lang: chosen by Intake.request before it gathers
                note = text(origin.lang, "menu.avatar_note", member=mention, style=style)
                return Inputs([avatar_of(member)], saved=[style], note=note)

            await self.bot.intake.request(origin, gather)

        await offer(interaction, self.bot, "menu.prompt_avatar", paint, member=member.display_name)

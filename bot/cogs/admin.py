"""``!styleconfig`` / ``/styleconfig``: per-guild limits, defaults, channels and gallery (Manage Server)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.answers.embeds import EMBED_COLOUR
from bot.core.errors import keyed, permission_names
from bot.core.store import SETTABLE, GuildConfig, parse_setting
from bot.requests.options import animation_limits
from bot.words import i18n
from bot.words.language import of_context

if TYPE_CHECKING:
    from bot.core.host import Host


# Each setting's name on the panel (in English the word ``set`` takes; elsewhere a name with that word beside it).
FIELD_NAMES = {"max_size": "config.field.max_size", "max_steps": "config.field.max_steps",
               "user_limit": "config.field.user_limit", "preset": "config.field.preset", "size": "config.field.size",
               "allow_dms": "config.field.allow_dms", "max_frames": "config.field.max_frames",
               "max_duration": "config.field.max_duration", "style_role": "config.field.style_role",
               "library_limit": "config.field.library_limit", "language": "config.field.language",
               "spoiler": "config.field.spoiler", "channels": "config.field.channels",
               "gallery": "config.field.gallery", "channel_limit": "config.field.channel_limit",
               "cooldown": "config.field.cooldown", "challenge_pings": "config.field.challenge_pings",
               "gallery_posts": "config.field.gallery_posts", "stars": "config.field.stars"}
SPOILER_VALUES = {"off": "config.spoiler.off", "on": "config.spoiler.on", "nsfw-channels": "config.spoiler.nsfw"}
GALLERY_POSTS_VALUES = {"every": "config.gallery_posts.every", "starred": "config.gallery_posts.starred"}
# what the bot needs in a gallery channel to repost a result there (an embed without Embed Links is dropped)
GALLERY_PERMISSIONS = ("view_channel", "send_messages", "attach_files", "embed_links")


def _show(value: object, lang: str, key: str = "") -> str:
    if value is None:
        return i18n.text(lang, "config.default")
    return f"<@&{value}>" if key == "style_role" else str(value)  # shown as a role; messages here ping no one


class AdminCog(commands.Cog):
    def __init__(self, bot: Host) -> None:
        self.bot = bot

    async def cog_check(self, ctx: commands.Context) -> bool:  # type: ignore[override]
        if ctx.guild is None:
            raise commands.NoPrivateMessage()
        if not ctx.permissions.manage_guild:
            raise commands.MissingPermissions(["manage_guild"])
        return True

    def _embed(self, config: GuildConfig, lang: str) -> discord.Embed:
        """Every setting under its key (the word ``set`` takes), its value in ``lang``."""
        def say(key: str, **args: object) -> str:
            return i18n.text(lang, key, **args)

        s = self.bot.settings
        embed = discord.Embed(title=say("config.title"), colour=EMBED_COLOUR)

        def field(key: str, value: str, inline: bool = True) -> None:
            embed.add_field(name=say(FIELD_NAMES[key]), value=value, inline=inline)

        field("max_size", say("config.pixels", n=config.max_size or s.default_max_size))
        field("max_steps", str(config.max_steps or s.default_max_steps))
        field("user_limit", _show(config.user_limit, lang))
        preset = i18n.own(lang, f"choice.{config.preset}") if config.preset and lang != i18n.DEFAULT else None
        field("preset", f"{preset} ({config.preset})" if preset else _show(config.preset, lang))
        field("size", _show(config.size, lang))
        field("allow_dms", say("config.yes" if config.allow_dms else "config.no"))
        limits = animation_limits(config, s.max_frames, s.max_duration_s)
        field("max_frames", str(limits.frames))
        field("max_duration", i18n.duration(lang, limits.seconds))
        field("style_role", _show(config.style_role, lang, "style_role") if config.style_role
              else say("config.manage_server_only"))
        field("library_limit", str(config.library_limit or s.default_library_limit))
        field("language", config.language or say("config.language_auto", language=lang))
        field("spoiler", say(SPOILER_VALUES[config.spoiler]) if config.spoiler in SPOILER_VALUES else config.spoiler)
        field("channel_limit", _show(config.channel_limit, lang))
        field("cooldown", i18n.duration(lang, config.cooldown) if config.cooldown else _show(None, lang))
        field("challenge_pings", say("config.yes" if config.challenge_pings else "config.no"))
        channels = ", ".join(f"<#{c}>" for c in config.channels) or say("config.all_channels")
        field("channels", channels, inline=False)
        gallery = f"<#{config.gallery_channel}>" if config.gallery_channel else say("config.off")
        field("gallery", gallery)
        field("gallery_posts", say(GALLERY_POSTS_VALUES[config.gallery_posts])
              if config.gallery_posts in GALLERY_POSTS_VALUES else config.gallery_posts)
        field("stars", str(config.stars))
        embed.set_footer(text=say("config.footer", keys=", ".join(SETTABLE)))
        return embed

    @commands.hybrid_group(name="styleconfig", fallback="show",
                           description="Show this server's style settings")
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.guild_only()
    async def styleconfig(self, ctx: commands.Context) -> None:
        """Show this server's style settings (Manage Server)."""
        config = await self.bot.store.get(ctx.guild.id)  # type: ignore[union-attr]
        await ctx.reply(embed=self._embed(config, await of_context(self.bot, ctx)), ephemeral=True)

    @styleconfig.command(name="set", description="Change a limit or default (value 'default' resets it)")
    @app_commands.describe(key=", ".join(SETTABLE)[:100], value="the new value, or 'default'")
    async def set_(self, ctx: commands.Context, key: str, value: str) -> None:
        """Change a limit or default: max_size, max_steps, user_limit, preset, size, allow_dms, max_frames,
        max_duration, style_role, library_limit, language, spoiler."""
        name, parsed = parse_setting(key, value)
        config = await self.bot.store.update(ctx.guild.id, **{name: parsed})  # type: ignore[union-attr]
        lang = await of_context(self.bot, ctx)  # after the change: `set language ko` answers in Korean
        shown = _show(getattr(config, name), lang, name)
        if name == "language" and config.language is None:
            shown = i18n.text(lang, "config.language_auto", language=lang)
        await ctx.reply(i18n.text(lang, "config.changed", key=name, value=shown), embed=self._embed(config, lang),
                        ephemeral=True)

    @styleconfig.command(name="channels", description="Allow or disallow jobs in a channel")
    async def channels(self, ctx: commands.Context, action: Literal["add", "remove", "clear"],
                       channel: discord.TextChannel | None = None) -> None:
        """Only take jobs in listed channels: add/remove #channel, or clear (all channels)."""
        config = await self.bot.store.get(ctx.guild.id)  # type: ignore[union-attr]
        current = list(config.channels)
        if action == "clear":
            current = []
        elif channel is None:
            raise keyed(commands.BadArgument, "config.name_channel")
        elif action == "add" and channel.id not in current:
            current.append(channel.id)
        elif action == "remove":
            current = [c for c in current if c != channel.id]
        config = await self.bot.store.update(ctx.guild.id,  # type: ignore[union-attr]
                                             channels=tuple(current))
        lang = await of_context(self.bot, ctx)
        await ctx.reply(i18n.text(lang, "config.channels_updated"), embed=self._embed(config, lang), ephemeral=True)

    @styleconfig.command(name="gallery", description="Also post results in a gallery channel (none: off)")
    @app_commands.describe(mode="every result, or only those starred enough (the stars setting)")
    async def gallery(self, ctx: commands.Context, channel: discord.TextChannel | None = None,
                      mode: Literal["every", "starred"] | None = None) -> None:
        """Also post results in a gallery channel: every one, or those starred enough (``stars``, default 3);
        a mode alone changes the mode; neither turns the gallery off."""
        changes: dict[str, object] = {"gallery_posts": mode} if mode else {}
        if channel is not None or mode is None:
            changes["gallery_channel"] = channel.id if channel else None
        config = await self.bot.store.update(ctx.guild.id, **changes)  # type: ignore[union-attr]
        lang = await of_context(self.bot, ctx)
        said = [i18n.text(lang, "config.gallery_updated")]
        if channel is not None and (missing := _missing(channel)):
            said.append(i18n.text(lang, "config.gallery_cannot_post", channel=channel.mention,
                                  permissions=permission_names(missing, lang), count=len(missing)))
        await ctx.reply("\n".join(said), embed=self._embed(config, lang), ephemeral=True)


def _missing(channel: discord.TextChannel) -> list[str]:
    """The permissions the bot lacks in ``channel`` to repost results there."""
    have = channel.permissions_for(channel.guild.me)
    return [name for name in GALLERY_PERMISSIONS if not getattr(have, name)]

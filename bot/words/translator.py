"""Slash commands in every language of the catalogue: names, descriptions, option names and choices.

discord.py asks :class:`CatalogueTranslator` for each translatable string of each command, once
per Discord locale, when the tree is synced (once, in ``setup_hook``). The answer comes from the
catalogue's ``command.*``, ``option.*``, ``choice.*`` and ``menu.*`` keys; English is the default
written in the decorators, so English locales get no localisation, and a key a language lacks
leaves Discord showing the default. Localised names follow Discord's rules (lowercase, no spaces,
unique within a command, at most 32 characters); the tests check every language's.
"""

from __future__ import annotations

import re

import discord
from discord import app_commands
from discord.app_commands import TranslationContextLocation as Where

from bot.words import i18n

# The engine's options (StyleParams fields) that /style has, by the name of the /style option.
STYLE_OPTIONS = {"preset": "preset", "content_weight": "alpha", "style_weight": "beta", "style_layers": "layers",
                 "layer_weights": "layer_weights", "size": "size", "steps": "steps", "tv_weight": "tv",
                 "seed": "seed", "preserve_colors": "preserve_colors", "init": "init"}


def option_name(lang: str, name: str) -> str:
    """An engine option as a refusal names it for a reader of ``lang``: the /style option's name in that
    language (``style_weight`` -> 베타); in English, and for an option /style lacks, the engine's name (what
    ``!style`` and the help page use)."""
    slash = STYLE_OPTIONS.get(name)
    if lang == i18n.DEFAULT or slash is None:
        return name
    return i18n.own(lang, f"option.style.{slash}.name") or name


def _command_key(command: object) -> str:
    """``styleconfig set`` -> ``styleconfig.set``; a context menu's name -> ``paint_with_style``."""
    name = getattr(command, "qualified_name", None) or getattr(command, "name", "")
    if isinstance(command, app_commands.ContextMenu):
        return re.sub(r"\W+", "_", str(name).strip().lower())
    return str(name).replace(" ", ".")


def key_for(context: app_commands.TranslationContext) -> str | None:  # type: ignore[type-arg]
    """The catalogue key of the string discord.py asks about, or None for what is not ours to translate."""
    data, where = context.data, context.location
    if where is Where.command_name:
        prefix = "menu" if isinstance(data, app_commands.ContextMenu) else "command"
        return f"{prefix}.{_command_key(data)}.name"
    if where in (Where.command_description, Where.group_description):
        return f"command.{_command_key(data)}.description"
    if where is Where.group_name:
        return f"command.{_command_key(data)}.name"
    if where in (Where.parameter_name, Where.parameter_description):
        part = "name" if where is Where.parameter_name else "description"
        name = getattr(data, "display_name", data.name)  # as Discord shows it (``@rename(try_="try")``)
        return f"option.{_command_key(data.command)}.{name}.{part}"
    if where is Where.choice_name:
        return f"choice.{data.value}"
    return None


class CatalogueTranslator(app_commands.Translator):
    """Reads command names and descriptions from the catalogue for every language it has."""

    async def translate(self, string: app_commands.locale_str, locale: discord.Locale,
                        context: app_commands.TranslationContext) -> str | None:  # type: ignore[type-arg]
        lang = i18n.find(locale)
        key = key_for(context)
        if lang is None or lang == i18n.DEFAULT or key is None:
            return None
        said = i18n.own(lang, key)
        return said if said and said != string.message else None

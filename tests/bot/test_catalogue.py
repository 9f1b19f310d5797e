"""The catalogue is complete in every language: same keys, same placeholders, every key used, every used key there.

Languages are found by listing the locale folder, so these checks cover a language added later
without a change here; :func:`test_a_third_language_is_one_folder` proves it with a copy of ``ko``.
"""

from __future__ import annotations

import ast
import asyncio
import re
import shutil
import string
from collections.abc import Iterator
from pathlib import Path

import discord
from discord import app_commands
from discord.ext import commands

from bot.requests.options import OPERATOR_ONLY
from bot.words import i18n
from bot.words.translator import CatalogueTranslator, key_for
from engine.nst.params import FIELDS
from engine.texts import ENGLISH

ROOT = Path(__file__).resolve().parents[2]
KEY = re.compile(r"[a-z][a-z0-9_]*(\.[a-z0-9_]+)+")


def entries(lang: str) -> dict[str, tuple[str, ...]]:
    """key -> its text (every plural form) in ``lang``."""
    found = {}
    for message in i18n.catalog(lang):
        if not message.id:
            continue
        key = message.id[0] if isinstance(message.id, tuple) else message.id
        found[key] = tuple(message.string) if isinstance(message.string, tuple) else (message.string,)
    return found


def placeholders(texts: tuple[str, ...]) -> set[str]:
    return set().union(*(i18n.placeholders(t) for t in texts))


def built_tree() -> app_commands.CommandTree:
    """The bot's application commands as ``setup_hook`` adds them (cogs on a bare bot, nothing started)."""
    from bot.cogs.admin import AdminCog
    from bot.cogs.challenge import ChallengeCog
    from bot.cogs.help import HelpCog
    from bot.cogs.library import LibraryCog
    from bot.cogs.menus import MenusCog
    from bot.cogs.queue import QueueCog
    from bot.cogs.style import StyleCog

    async def build() -> commands.Bot:
        bot = commands.Bot(command_prefix="!", intents=discord.Intents.default())
        for cog in (StyleCog(bot), LibraryCog(bot), AdminCog(bot), HelpCog(bot), QueueCog(bot),  # type: ignore[arg-type]
                    MenusCog(bot), ChallengeCog(bot)):  # type: ignore[arg-type]
            await bot.add_cog(cog)
        return bot

    return asyncio.run(build()).tree


def translation_contexts(tree: app_commands.CommandTree) -> Iterator[tuple[app_commands.TranslationContext, str]]:
    """Every (context, default string) discord.py asks the translator about at sync."""
    loc = app_commands.TranslationContextLocation
    context = app_commands.TranslationContext

    def walk(cmd: app_commands.Command | app_commands.Group | app_commands.ContextMenu,
             ) -> Iterator[tuple[context, str]]:
        if isinstance(cmd, app_commands.ContextMenu):  # a right-click menu has a name only
            yield context(loc.command_name, cmd), cmd.name
            return
        group = isinstance(cmd, app_commands.Group)
        yield context(loc.group_name if group else loc.command_name, cmd), cmd.name
        yield context(loc.group_description if group else loc.command_description, cmd), cmd.description
        if group:
            for sub in cmd.commands:
                yield from walk(sub)
            return
        for param in cmd.parameters:  # each knows its command, as discord.py's context data does
            yield context(loc.parameter_name, param), param.display_name  # what discord.py asks about
            yield context(loc.parameter_description, param), param.description
            for choice in param.choices:
                yield context(loc.choice_name, choice), choice.name

    for command in tree.get_commands():
        yield from walk(command)  # type: ignore[arg-type]


def required(key: str) -> bool:
    """Whether a language must have this translator key: descriptions yes; names and choices may stay
    Discord's default (the English in the decorators), so a new command needs its descriptions only."""
    return key.endswith(".description")


def used_keys() -> set[str]:
    """Keys the code names: string constants of bot/ and engine/ that are catalogue keys, the keys the
    translator asks for (names and choices where the catalogue has them), and the help page's option lines."""
    english = entries(i18n.DEFAULT)
    known_prefixes = {key.split(".")[0] for key in english}
    used = set()
    for path in [*ROOT.joinpath("bot").rglob("*.py"), *ROOT.joinpath("engine").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and KEY.fullmatch(node.value) \
                    and node.value.split(".")[0] in known_prefixes:
                used.add(node.value)
    asked = {key_for(ctx) for ctx, _ in translation_contexts(built_tree())}
    used |= {key for key in asked if key and (required(key) or key in english)}
    used |= {f"help.option.{name}" for name in FIELDS if name not in OPERATOR_ONLY}  # bot/cogs/help.py
    return used


def check_catalogue() -> list[str]:
    """What is wrong with the catalogue now read (``i18n.set_root`` chooses which): one line per problem."""
    problems = []
    english = entries(i18n.DEFAULT)
    for lang in i18n.languages():
        own = entries(lang)
        problems += [f"{lang}: missing {key}" for key in english.keys() - own.keys()]
        problems += [f"{lang}: {key} is not in English" for key in own.keys() - english.keys()]
        nplurals = i18n.catalog(lang).num_plurals
        for key in english.keys() & own.keys():
            if placeholders(own[key]) != placeholders(english[key]):
                problems.append(f"{lang}: {key} has {sorted(placeholders(own[key]))}, "
                                f"English has {sorted(placeholders(english[key]))}")
            if not all(own[key]):
                problems.append(f"{lang}: {key} is empty")
            if len(english[key]) > 1 and len(own[key]) != nplurals:
                problems.append(f"{lang}: {key} has {len(own[key])} plural forms, its header says {nplurals}")
            for text in own[key]:
                if any(spec or conv for _, _, spec, conv in string.Formatter().parse(text)):
                    problems.append(f"{lang}: {key} formats a placeholder itself (i18n formats numbers)")
    used = used_keys()
    problems += [f"unused: {key}" for key in sorted(english.keys() - used)]
    problems += [f"used but not in the catalogue: {key}" for key in sorted(used - english.keys())]
    return problems


def test_every_language_has_every_key_with_the_same_placeholders_and_no_key_is_unused() -> None:
    assert {"en", "ko"} <= set(i18n.languages())
    assert check_catalogue() == []


def test_the_checks_fail_on_a_missing_key_an_unused_key_and_a_different_placeholder(tmp_path: Path) -> None:
    root = tmp_path / "locale"
    shutil.copytree(ROOT / "bot" / "words" / "locale", root)
    ko = root / "ko" / "LC_MESSAGES" / "stylebot.po"
    text = ko.read_text(encoding="utf-8")
    text = text.replace('msgid "button.delete"\nmsgstr "삭제"\n', "")  # missing
    text = text.replace("{size}px로", "{side}px로")  # a placeholder renamed
    ko.write_text(text + '\nmsgid "button.never_used"\nmsgstr "안 쓰임"\n', encoding="utf-8")
    en = root / "en" / "LC_MESSAGES" / "stylebot.po"
    en.write_text(en.read_text(encoding="utf-8") + '\nmsgid "button.never_used"\nmsgstr "never used"\n',
                  encoding="utf-8")
    i18n.set_root(root)
    try:
        problems = check_catalogue()
    finally:
        i18n.set_root(None)
    assert "ko: missing button.delete" in problems
    assert "ko: refusal.upscale_at_limit has ['side'], English has ['size']" in problems
    assert "unused: button.never_used" in problems


def test_a_third_language_is_one_folder(tmp_path: Path) -> None:
    """A copy of ko under ``ja`` (standing in for a real translation) is found, checked and used, with
    no change to the code: the language list, Discord's locale, the replies and the slash commands."""
    root = tmp_path / "locale"
    shutil.copytree(ROOT / "bot" / "words" / "locale", root)
    shutil.copytree(root / "ko", root / "ja")
    po = root / "ja" / "LC_MESSAGES" / "stylebot.po"
    po.write_text(po.read_text(encoding="utf-8").replace("Language: ko", "Language: ja"), encoding="utf-8")
    i18n.set_root(root)
    try:
        assert i18n.languages() == ("en", "ja", "ko")
        assert check_catalogue() == []
        assert i18n.language(discord.Locale.japanese) == "ja"
        assert i18n.text("ja", "button.delete") == "삭제"
        context = app_commands.TranslationContext(app_commands.TranslationContextLocation.command_name,
                                                  built_tree().get_command("style"))
        name = asyncio.run(CatalogueTranslator().translate(app_commands.locale_str("style"),
                                                           discord.Locale.japanese, context))
        assert name == "스타일"
    finally:
        i18n.set_root(None)
    assert "ja" not in i18n.languages()


def test_the_engines_english_is_the_catalogues_english() -> None:
    """The CLI renders engine messages from engine/texts.py; the bot from the .po: they must not drift."""
    english = entries(i18n.DEFAULT)
    for key, text in ENGLISH.items():
        assert english[key] == (text if isinstance(text, tuple) else (text,)), key


def test_the_help_page_has_a_line_for_every_option_the_engine_describes() -> None:
    english = entries(i18n.DEFAULT)
    for name, field in FIELDS.items():
        if name not in OPERATOR_ONLY:
            assert english[f"help.option.{name}"] == (field.metadata["help"],), name


_NAME = re.compile(r"[-_'\w]{1,32}")


def test_slash_command_localisations_follow_discords_rules_and_english_matches_the_decorators() -> None:
    tree = built_tree()
    contexts = list(translation_contexts(tree))
    english = entries(i18n.DEFAULT)
    for context, default in contexts:
        key = key_for(context)
        if key in english or required(key):  # type: ignore[arg-type]
            assert english[key] == (default,), key  # type: ignore[index]
    translator = CatalogueTranslator()
    for lang in i18n.languages():
        locale = next(loc for loc in discord.Locale if i18n.find(loc) == lang)
        names_per_command: dict[str, list[str]] = {}
        for context, default in contexts:
            said = asyncio.run(translator.translate(app_commands.locale_str(default), locale, context))
            if lang == i18n.DEFAULT:
                assert said is None  # English is the default Discord already has
                continue
            assert said or not required(key_for(context)), (lang, key_for(context))  # type: ignore[arg-type]
            if not said:
                continue
            where = context.location.name
            if isinstance(context.data, app_commands.ContextMenu):  # menus: mixed case and spaces allowed
                assert 1 <= len(said) <= 32, (lang, said)
            elif where in ("command_name", "group_name", "parameter_name"):
                assert _NAME.fullmatch(said) and said == said.lower(), (lang, said)
            else:
                assert 1 <= len(said) <= 100, (lang, said)
            if where == "parameter_name":
                names_per_command.setdefault(context.data.command.qualified_name, []).append(said)
        for command, names in names_per_command.items():
            assert len(names) == len(set(names)), (lang, command, names)

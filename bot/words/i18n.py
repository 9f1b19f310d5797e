"""Every sentence a user reads, from one catalogue: gettext ``.po`` files read through Babel.

Message ids are keys (``refusal.user_limit``), not English sentences; English is
``bot/words/locale/en/LC_MESSAGES/stylebot.po`` like any other language, and a language is one
such file (the languages are found by listing the locale folder, :func:`languages`).
Placeholders are named (``{limit}``); a message with plural forms is chosen by its ``count``
argument through the file's ``Plural-Forms`` header. The shape is agreed in ``docs/catalogue.md``.

Arguments are formatted for the language here, never by the caller: numbers through Babel,
an argument named ``*_s`` as a duration and ``*_bytes`` as a file size (the engine's
convention, :mod:`engine.texts`), and an argument that is itself a message (``{"key", "args"}``)
in the same language.
"""

from __future__ import annotations

import io
import string
from collections.abc import Mapping
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_scientific
from babel.support import Translations

DEFAULT = "en"
DOMAIN = "stylebot"
PACKAGED: Traversable = files("bot.words") / "locale"
_root: Traversable | Path = PACKAGED


def set_root(path: Traversable | Path | None) -> None:
    """Read the catalogue from another locale folder (``None``: the packaged one), e.g. in a test."""
    global _root
    _root = PACKAGED if path is None else path
    languages.cache_clear()
    catalog.cache_clear()
    _translations.cache_clear()


def po_path(lang: str) -> Traversable | Path:
    return _root / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def languages() -> tuple[str, ...]:
    """The languages the catalogue has: one folder each under the locale root."""
    return tuple(sorted(entry.name for entry in _root.iterdir() if po_path(entry.name).is_file()))


@cache
def catalog(lang: str) -> Catalog:
    """The parsed ``.po`` file of ``lang`` (for the tests that compare languages, and for loading)."""
    with po_path(lang).open("rb") as po:
        return read_po(po, locale=lang, domain=DOMAIN)


@cache
def _translations(lang: str) -> tuple[Translations, frozenset[str]]:
    """The compiled catalogue of ``lang`` (English behind it) and which of its keys have plural forms."""
    mo = io.BytesIO()
    write_mo(mo, catalog(lang))
    mo.seek(0)
    translations = Translations(mo, domain=DOMAIN)
    if lang != DEFAULT:
        translations.add_fallback(_translations(DEFAULT)[0])
    plural = frozenset(m.id[0] for m in catalog(DEFAULT) if isinstance(m.id, tuple))
    return translations, plural


def text(lang: str, key: str, /, **args: object) -> str:
    """The sentence ``key`` in ``lang`` with its placeholders filled; the plural form follows ``count``."""
    lang = lang if lang in languages() else DEFAULT
    translations, plural = _translations(lang)
    if key in plural:
        template = translations.ngettext(key, key, int(args.get("count", 1)))  # type: ignore[call-overload]
    else:
        template = translations.gettext(key)
    return template.format(**{name: _value(lang, name, value) for name, value in args.items()})


def own(lang: str, key: str) -> str | None:
    """``key``'s text in ``lang`` itself, with no English behind it (None when that file lacks it)."""
    message = catalog(lang).get(key) if lang in languages() else None
    if message is None or not message.string:
        return None
    return message.string if isinstance(message.string, str) else message.string[0]


def render(lang: str, message: Mapping[str, Any]) -> str:
    """A message of the engine (or the bot), ``{"key": ..., "args": {...}}``, in ``lang``."""
    return text(lang, str(message["key"]), **dict(message.get("args") or {}))


def _value(lang: str, name: str, value: object) -> str:
    if isinstance(value, Mapping) and "key" in value:
        return render(lang, value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if name.endswith("_s"):
        return duration(lang, value)
    if name.endswith("_bytes"):
        return size(lang, int(value))
    return number(lang, value)


def number(lang: str, value: float) -> str:
    """``value`` as ``lang`` writes numbers (Babel: its decimal sign), without grouping: the numbers here are
    sizes, steps and counts that users type back as they read them."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        value = int(value)
    if value and not 1e-6 <= abs(value) < 1e15:  # Babel's decimals cannot spell 1e30 out: 1E30
        return format_scientific(value, locale=lang, decimal_quantization=False)
    return format_decimal(value, locale=lang, group_separator=False, decimal_quantization=False)


def duration(lang: str, seconds: float) -> str:
    """A duration in the largest unit that reads well: seconds, minutes or hours."""
    if seconds < 120:
        return text(lang, "unit.seconds", n=round(seconds, 1))
    if seconds < 7200:
        return text(lang, "unit.minutes", n=round(seconds / 60))
    return text(lang, "unit.hours", n=round(seconds / 3600, 1))


def size(lang: str, n: int) -> str:
    """Bytes as people read them: ``850 KB``, ``7.2 MB``."""
    if n >= 2**20:  # one decimal always, as before: "10.0 MB"
        return text(lang, "unit.megabytes", n=format_decimal(n / 2**20, format="#,##0.0", locale=lang))
    return text(lang, "unit.kilobytes", n=max(1, round(n / 1024)))


def find(locale: object | None) -> str | None:
    """The catalogue's language for a Discord locale (``ko``, ``en-US``, a ``discord.Locale``), or None."""
    if locale is None:
        return None
    code = str(getattr(locale, "value", locale)).split("-")[0].lower()
    return code if code in languages() else None


def language(locale: object | None) -> str:
    """The catalogue's language for a Discord locale, else English."""
    return find(locale) or DEFAULT


def placeholders(template: str) -> set[str]:
    """The named placeholders of a template (for the tests that compare languages)."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}

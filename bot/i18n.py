"""Every sentence a user reads, from one catalogue: gettext ``.po`` files read through Babel.

Message ids are keys (``refusal.user_limit``), not English sentences; English is
``bot/locale/en/LC_MESSAGES/stylebot.po`` like any other language, and a language is one
such file (the languages are found by listing ``bot/locale``). Placeholders are named
(``{limit}``); a message with plural forms is chosen by its ``count`` argument through the
file's ``Plural-Forms`` header. The shape is agreed in ``docs/catalogue.md``.
"""

from __future__ import annotations

import io
from functools import cache
from importlib.resources import files

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

DEFAULT = "en"
DOMAIN = "stylebot"
_LOCALE = files("bot") / "locale"


@cache
def languages() -> tuple[str, ...]:
    """The languages the catalogue has: one folder each under ``bot/locale``."""
    return tuple(sorted(
        entry.name for entry in _LOCALE.iterdir()
        if (entry / "LC_MESSAGES" / f"{DOMAIN}.po").is_file()
    ))


@cache
def _translations(lang: str) -> Translations:
    with (_LOCALE / lang / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as po:
        catalog = read_po(po, locale=lang, domain=DOMAIN)
    mo = io.BytesIO()
    write_mo(mo, catalog)
    mo.seek(0)
    return Translations(mo, domain=DOMAIN)


def text(lang: str, key: str, /, **args: object) -> str:
    """The sentence ``key`` in ``lang`` with its placeholders filled; the plural form follows ``count``."""
    translations = _translations(lang if lang in languages() else DEFAULT)
    if "count" in args:
        template = translations.ngettext(key, key, int(args["count"]))  # type: ignore[arg-type]
    else:
        template = translations.gettext(key)
    return template.format(**args)


def language(locale: object | None) -> str:
    """The catalogue's language for a Discord locale (``ko``, ``en-US``, a ``discord.Locale``), else English."""
    if locale is None:
        return DEFAULT
    code = str(getattr(locale, "value", locale)).split("-")[0].lower()
    return code if code in languages() else DEFAULT

"""The catalogue's reader: languages found by folder, plural forms by each file's header."""

from bot import i18n


def test_languages_are_the_folders_with_a_catalogue():
    assert {"en", "ko"} <= set(i18n.languages())


def test_english_plural_follows_count_and_korean_has_one_form():
    assert "1 job " in i18n.text("en", "refusal.user_limit", count=1)
    assert "3 jobs " in i18n.text("en", "refusal.user_limit", count=3)
    korean = i18n.text("ko", "refusal.user_limit", count=3)
    assert "3개" in korean and "job" not in korean


def test_a_discord_locale_picks_its_language_or_english():
    assert i18n.language("ko") == "ko"
    assert i18n.language("en-GB") == "en"
    assert i18n.language("pt-BR") == "en"
    assert i18n.language(None) == "en"
    assert i18n.text("fr", "refusal.user_limit", count=2) == i18n.text("en", "refusal.user_limit", count=2)

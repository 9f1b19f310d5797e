"""The catalogue's reader: languages found by folder, plural forms by each file's header."""

from bot.words import i18n


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


def test_arguments_are_formatted_for_the_language() -> None:
    from engine.texts import msg

    assert i18n.render("ko", msg("job.timeout", limit_s=90)) == "작업이 90초보다 오래 걸려서 멈췄어요"
    assert i18n.render("en", msg("job.result_gone", ttl_s=7200)).endswith("(results are kept 2 h)")
    assert i18n.render("ko", msg("input.too_many_bytes", size_bytes=30 * 2**20, limit_bytes=900_000)) == \
        "파일이 너무 커요(30.0MB). 879KB보다 작은 파일을 보내 주세요"
    # a message inside a message is said in the same language
    thin = msg("input.too_thin", role=msg("role.style"), width=10, height=900, ratio=4)
    assert i18n.render("ko", thin).startswith("그림의 가로세로 비율이 너무 길쭉해요") and "style" in i18n.render("en", thin)
    assert i18n.number("en", 2.5) == "2.5" and i18n.number("de", 2.5) == "2,5" and i18n.number("ko", 4096) == "4096"
    # a value far out of range (a refused `beta=1e30`) is said, not a crash
    assert i18n.number("en", 1e30) == "1E30" and i18n.number("ko", 1e-30) == "1E-30"


def test_the_server_language_setting_takes_a_catalogue_language_or_auto() -> None:
    import pytest

    from bot.core.store import parse_setting
    from engine.errors import ParamError

    assert parse_setting("language", "KO") == ("language", "ko")
    assert parse_setting("language", "auto") == ("language", None)
    with pytest.raises(ParamError, match=r"expected one of en, ko, auto, not `fr`") as info:
        parse_setting("language", "fr")
    assert i18n.render("ko", info.value.message).startswith("en, ko, auto 중 하나를 입력해 주세요")

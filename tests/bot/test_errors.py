"""The bot's one helper for Discord API calls that may fail, its counter, and the token pattern it redacts."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import discord
import pytest
from discord import app_commands
from discord.ext import commands

from bot.core.errors import DISCORD_TOKEN, discord_call
from engine.ops import logs
from tests.support.scrape import scrape

MISSING_PERMISSIONS = ("stylebot_discord_api_errors_total", (("code", "50013"), ("status", "403")))


def forbidden() -> discord.HTTPException:
    response = SimpleNamespace(status=403, reason="Forbidden")
    return discord.Forbidden(response, {"code": 50013, "message": "Missing Permissions"})


async def test_a_failed_call_is_counted_logged_and_does_not_stop_the_caller(port, caplog) -> None:
    before = scrape(port).get(MISSING_PERMISSIONS, 0.0)
    with (caplog.at_level(logging.INFO, logger="tests.bot"),
          discord_call(logging.getLogger("tests.bot"), "cannot edit status message %s", 42) as call):
        raise forbidden()
    assert isinstance(call.failed, discord.Forbidden)
    assert scrape(port)[MISSING_PERMISSIONS] == before + 1
    assert "cannot edit status message 42: 403 Forbidden (error code: 50013)" in caplog.text


def test_a_call_that_succeeds_is_not_failed_and_other_errors_go_through() -> None:
    with discord_call(logging.getLogger("tests.bot"), "fine") as call:
        pass
    assert call.failed is None
    with pytest.raises(KeyError), discord_call(logging.getLogger("tests.bot"), "a bug is not a Discord error"):
        raise KeyError("bug")


def test_anything_shaped_like_a_discord_token_is_redacted_once_main_has_set_up_logging(
        monkeypatch, capsys, tmp_path) -> None:
    """Through ``python -m bot``'s own ``main``: a token pasted anywhere (not ours) never reaches the log."""
    import bot.__main__ as entry

    pasted = "M" + "T" * 23 + "." + "Gx_9-a" + "." + "k" * 30  # in pieces: no scanner takes it for a leak
    assert DISCORD_TOKEN.fullmatch(pasted)
    monkeypatch.setattr(logs, "_patterns", [])  # nothing registered by earlier tests: main must do it
    monkeypatch.setattr(logs, "_secrets", set())
    monkeypatch.chdir(tmp_path)  # no .env of the checkout
    monkeypatch.setenv("DISCORD_TOKEN", "our-own-token")
    monkeypatch.delenv("METRICS_PORT", raising=False)

    async def run(settings: object) -> int:  # the bot itself is not this test's business
        logging.getLogger("bot").info("a user pasted %s", pasted)
        logging.getLogger("bot").info("logging in with %s", "our-own-token")
        return 0

    monkeypatch.setattr(entry, "run", run)
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        assert entry.main() == 0
    finally:
        root.handlers[:], root.level = handlers, level
        logging.captureWarnings(False)
    logged = capsys.readouterr().err
    assert f"a user pasted {logs.REDACTED}" in logged
    assert f"logging in with {logs.REDACTED}" in logged
    assert pasted not in logged and "our-own-token" not in logged


def test_a_refusal_names_an_option_as_the_reader_knows_it() -> None:
    """A Korean reader who typed 베타 is not told about `style_weight`; English keeps the engine's name."""
    from bot.core.errors import explain
    from engine.nst.params import parse_options

    with pytest.raises(Exception) as refused:
        parse_options({"style_weight": "1e30"})
    assert explain(refused.value, "ko").startswith("⚠️ `베타`에는 0에서 ")
    assert "`style_weight` must be between" in explain(refused.value, "en")
    with pytest.raises(Exception) as refused:
        parse_options({"coarse_steps": "many"})  # /style has no such option: the name typed after !style
    assert "`coarse_steps`에는 정수를 넣어 주세요" in explain(refused.value, "ko")


def test_the_style_options_the_translator_maps_are_the_engines_by_their_style_names() -> None:
    """Each /style option it names is an alias of that engine option (what !style accepts too)."""
    from bot.words.translator import STYLE_OPTIONS
    from engine.nst.params import ALIASES

    assert {field: ALIASES.get(name) for field, name in STYLE_OPTIONS.items()} == {f: f for f in STYLE_OPTIONS}


@pytest.mark.parametrize("error, korean", [
    (lambda: commands.ChannelNotFound("#art"), "채널을 찾지 못했어요: `#art`."),
    (lambda: commands.RoleNotFound("@artists"), "역할을 찾지 못했어요: `@artists`."),
    (lambda: commands.BadBoolArgument("maybe"), "yes 또는 no로 입력해 주세요(입력한 값: `maybe`)."),
    (lambda: commands.ExpectedClosingQuoteError('"'), "따옴표가 닫히지 않았거나"),
    (lambda: commands.BadArgument('Converting to "int" failed for parameter "x".'), "명령에 적은 값을 읽지 못했어요"),
    (lambda: app_commands.TransformerError("abc", discord.AppCommandOptionType.channel,
                                           app_commands.transformers.IdentityTransformer(discord.AppCommandOptionType.channel)),
     "이 옵션에 쓸 수 없는 값이에요: `abc`."),
])
def test_discord_py_s_own_refusals_are_in_the_catalogue_s_words(error, korean: str) -> None:
    from bot.core.errors import explain

    said = explain(error(), "ko")
    assert said.startswith("⚠️ ") and korean in said, said
    assert not any("a" <= c.lower() <= "z" for c in said.replace("`abc`", "").replace("`#art`", "")
                   .replace("`@artists`", "").replace("`maybe`", "").replace("yes", "").replace("no", "")
                   .replace("!stylehelp", ""))

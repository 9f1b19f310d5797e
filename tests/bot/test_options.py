"""Unit tests of bot/requests/options.py: the text after ``!style``, guild defaults and limits, the options line."""

from __future__ import annotations

import pytest

from bot.core.store import GuildConfig
from bot.requests.options import (
    animation_limits,
    options_line,
    parse_args,
    parse_request,
    read_options_line,
    resolve,
)
from engine.errors import ParamError
from engine.nst.params import parse_options

LIMITS = {"max_size": 1024, "max_steps": 500}


def test_a_request_splits_into_options_a_preset_a_grid_and_saved_style_names() -> None:
    request = parse_request('starry Bold beta=1000 grid layers="relu1_1,relu2_1" monet-2')
    assert request.options == {"preset": "bold", "style_weight": "1000", "style_layers": "relu1_1,relu2_1"}
    assert request.grid is True
    assert request.styles == ["starry", "monet-2"]


@pytest.mark.parametrize("text, says", [
    ('beta="1000', "unclosed quote"),
    ("beta=", "needs a name and a value"),
    ("=3", "needs a name and a value"),
    ("what?", "I don't understand `what?`"),
])
def test_unreadable_request_text_is_refused_with_a_hint(text: str, says: str) -> None:
    with pytest.raises(ParamError, match="e.g.|like") as info:
        parse_request(text)
    assert says in str(info.value)


def test_args_take_a_bare_preset_but_refuse_any_other_bare_word() -> None:
    assert parse_args("gentle size=256") == {"preset": "gentle", "size": "256"}
    with pytest.raises(ParamError, match="I don't understand `starry`"):
        parse_args("starry size=256")


def test_guild_defaults_fill_what_the_user_left_out_and_never_override_a_choice() -> None:
    guild = GuildConfig(preset="bold", size=384)
    chosen, params = resolve({"size": "256"}, guild, **LIMITS)
    assert chosen == {"size": "256", "preset": "bold"}
    assert (params.preset, params.size) == ("bold", 256)


def test_operator_only_options_cannot_be_chosen_in_a_command() -> None:
    with pytest.raises(ParamError, match="`device` is set by the bot's operator"):
        resolve({"device": "cuda:1"}, GuildConfig(), **LIMITS)


def test_the_guild_limits_replace_the_bot_wide_ones() -> None:
    resolve({"size": "1024"}, GuildConfig(), **LIMITS)  # the bot's limit
    with pytest.raises(ParamError, match="`size` may be at most 512 on this server, not 1024"):
        resolve({"size": "1024"}, GuildConfig(max_size=512), **LIMITS)
    with pytest.raises(ParamError, match="`steps` may be at most 100 on this server, not 101"):
        resolve({"steps": "101"}, GuildConfig(max_steps=100), **LIMITS)


def test_the_style_image_may_not_be_scaled_past_the_size_limit() -> None:
    with pytest.raises(ParamError, match="`size` × `style_scale` may be at most 1024"):
        resolve({"size": "1024", "style_scale": "2"}, GuildConfig(), **LIMITS)


def test_a_guild_may_lower_the_animation_limits_but_not_raise_them() -> None:
    def limits(guild: GuildConfig) -> tuple[int, float]:
        chosen = animation_limits(guild, 48, 10.0)
        return chosen.frames, chosen.seconds

    assert limits(GuildConfig(max_frames=12, max_duration=3.0)) == (12, 3.0)
    assert limits(GuildConfig(max_frames=100, max_duration=60.0)) == (48, 10.0)
    assert limits(GuildConfig()) == (48, 10.0)


def test_the_options_line_of_a_result_reads_back_to_the_same_params() -> None:
    params = parse_options({"preset": "bold", "size": "300", "beta": "1234.5", "layers": "relu1_1,relu2_1"})
    line = options_line(params)
    assert line.startswith("preset=bold size=300 ")
    assert parse_options(read_options_line(f"options: {line}")) == params


def test_a_footer_that_is_not_an_options_line_is_refused() -> None:
    with pytest.raises(ParamError, match="no style options I can read"):
        read_options_line("made with love")

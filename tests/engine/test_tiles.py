"""Labelled tiles: every tile can be cut out again from its box, even from a shrunk copy of the sheet."""

from __future__ import annotations

import numpy as np
from PIL import Image

from engine.tiles import BACKGROUND, compose, crop

COLOURS = [(220, 30, 30), (30, 200, 30), (30, 30, 220), (240, 240, 20)]


def test_each_box_crops_back_its_tile_and_the_captions_sit_below() -> None:
    tiles = [Image.new("RGB", (60, 40), c) for c in COLOURS]
    sheet = compose(tiles, ["one", "two", "three", "four"], columns=2)
    for tile, box in zip(tiles, sheet.boxes):
        assert np.array_equal(np.asarray(crop(sheet.image, box)), np.asarray(tile))
    below = crop(sheet.image, (sheet.boxes[0][0], sheet.boxes[0][3], sheet.boxes[0][2], sheet.boxes[2][1]))
    pixels = np.asarray(below).reshape(-1, 3)
    assert (pixels.min(axis=1) > 180).any()  # light caption text on the dark band
    assert sheet.boxes[1][0] > sheet.boxes[0][2] and sheet.boxes[2][1] > sheet.boxes[0][3]  # 2 x 2


def test_boxes_are_fractions_so_a_shrunk_sheet_crops_the_same_tiles() -> None:
    tiles = [Image.new("RGB", (80, 60), c) for c in COLOURS]
    sheet = compose(tiles, ["a", "b", "c", "d"], columns=2)
    half = sheet.image.resize((sheet.image.width // 2, sheet.image.height // 2))
    for colour, box in zip(COLOURS, sheet.boxes):
        cut = crop(half, box)
        assert abs(cut.width - 40) <= 1 and abs(cut.height - 30) <= 1
        assert np.abs(np.asarray(cut)[2:-2, 2:-2] - np.array(colour)).max() < 8


def test_an_empty_tile_is_background_and_small_images_are_centred_in_fixed_cells() -> None:
    sheet = compose([Image.new("RGB", (20, 10), "white"), None], ["x", "y"], columns=2, cell=(40, 40))
    empty = np.asarray(crop(sheet.image, sheet.boxes[1]))
    assert (empty == BACKGROUND).all() and empty.shape[:2] == (40, 40)
    left, top, right, bottom = sheet.boxes[0]
    assert round((right - left) * sheet.image.width) == 20 and round((bottom - top) * sheet.image.height) == 10


def test_a_box_beyond_the_picture_crops_no_more_than_the_picture() -> None:
    image = Image.new("RGB", (64, 48), "white")
    assert crop(image, (0.0, 0.0, 100.0, 100.0)).size == (64, 48)  # not 6400 x 4800
    assert crop(image, (-5.0, -5.0, 0.5, 0.5)).size == (32, 24)

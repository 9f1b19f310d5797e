"""Engine vs the naive reference script (``--naive``), side by side, same device, one run.

The engine is run the way a user runs it - the CLI with ``--preset classic`` and no
``--steps`` - and its output file is scored with the naive script's fp32 ``evaluate``
at the same size. "Reached" means the engine's loss is at or below the naive run's.

    python -m bench.compare --device cpu --size 256            # naive: 300 iterations
    python -m bench.compare --device cuda --size 512 1024      # naive: 500 iterations, fp32 and bf16
    python -m bench.compare --size 256 --bf16 off              # the engine with fp32 convolutions only

``--bf16`` runs the engine once per choice (default: ``off`` and, on a CPU that does bf16 natively,
``auto`` too): ``off`` stands in for the common AVX2-only CPU. The naive script is always fp32 on a CPU.
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# The public-domain photos and paintings and the naive reference script: STYLEBOT_SHARED names their folder
# (images/, bench/); by default the folder "shared" beside the checkout.
SHARED = Path(os.environ.get("STYLEBOT_SHARED") or Path(__file__).resolve().parents[2] / "shared")


def load_naive(path: Path):
    spec = importlib.util.spec_from_file_location("naive_gatys", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_engine(content: Path, style: Path, size: int, device: str, out: Path, compile_mode: str = "off",
               bf16: str = "auto", options: str = "", conv: str = "auto") -> dict:
    report = out.with_suffix(".json")
    cmd = [sys.executable, "-m", "engine", "stylize", str(content), str(style), "-o", str(out),
           "--size", str(size), "--preset", "classic", "--device", device, "--report", str(report), "--quiet",
           "--compile", compile_mode, "--bf16", bf16, "--conv", conv]
    for option in filter(None, options.split(",")):  # e.g. "levels=2,coarse_steps=50,steps=60"
        name, value = option.split("=", 1)
        cmd += [f"--{name.strip().replace('_', '-')}", value.strip()]
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t
    return {"wall_s": wall, **json.loads(report.read_text())}


def score(naive, net, names, image_path: Path, content: Path, style: Path, size: int, device: str) -> float:
    x = naive.load(image_path, size).to(device)
    return naive.evaluate(net, names, x, naive.load(content, size).to(device), naive.load(style, size).to(device))


def _cpu_has_bf16() -> bool:
    import torch

    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def _rows(device: str, size: int, compile_mode: str, bf16: str, engine: dict, refs: dict, iters: int) -> list[dict]:
    """One row per naive mode (or one engine-only row), printed as JSON as they come."""
    base = {"device": device, "size": size, "bf16": bf16, "engine_bf16": engine.get("bf16"), "engine_conv": engine.get("conv"), "compile": compile_mode,
            "engine_wall_s": round(engine["wall_s"], 2), "engine_opt_s": engine["seconds"],
            "engine_load_s": engine["model_load_seconds"], "engine_steps": engine["steps"],
            "engine_schedule": engine.get("schedule"), "engine_loss": engine["loss"],
            "engine_peak_gb": engine.get("peak_gpu_gb")}
    rows = []
    for mode, ref in refs.items() or [(None, None)]:
        row = dict(base)
        if ref is not None:
            row.update({"naive_mode": mode, "naive_iters": iters, "naive_s": ref["seconds"],
                        "naive_ms_per_iter": ref["ms_per_iter"], "naive_loss": ref["final_loss_fp32"],
                        "reached": engine["loss"] <= ref["final_loss_fp32"],
                        "loss_vs_naive": round(engine["loss"] / ref["final_loss_fp32"] - 1, 4),
                        "speedup_opt": round(ref["seconds"] / engine["seconds"], 2),
                        "speedup_wall": round(ref["seconds"] / engine["wall_s"], 2), "naive_peak_gb": ref["peak_mem_gb"]})
        print(json.dumps(row), flush=True)
        rows.append(row)
    return rows


def _table(rows: list[dict]) -> None:
    print(f"\n{'device':8} {'size':>5} {'bf16':>5} {'naive':>14} {'naive s':>8} {'naive loss':>11} "
          f"{'engine s (opt/wall)':>20} {'engine loss':>11} {'reached':>8} {'speed-up opt/wall':>18}  schedule")
    for r in rows:
        bf16 = r["bf16"].split(" ")[0] + ("" if r["engine_bf16"] is None else ("+" if r["engine_bf16"] else "-"))
        if "naive_mode" not in r:
            print(f"{r['device']:8} {r['size']:>5} {bf16:>5} {'-':>14} {'-':>8} {'-':>11} {r['engine_opt_s']:>9.1f} / "
                  f"{r['engine_wall_s']:<8.1f} {r['engine_loss']:>11.4g}   (engine only; peak {r['engine_peak_gb']} GB)")
            continue
        print(f"{r['device']:8} {r['size']:>5} {bf16:>5} {r['naive_mode'] + ' x' + str(r['naive_iters']):>14} "
              f"{r['naive_s']:>8.1f} {r['naive_loss']:>11.4g} {r['engine_opt_s']:>9.1f} / {r['engine_wall_s']:<8.1f} "
              f"{r['engine_loss']:>11.4g} {r['reached']!s:>8} {r['speedup_opt']:>7.1f}x / {r['speedup_wall']:.1f}x     "
              f"{r['engine_schedule']} {' '.join(r['bf16'].split(' ')[1:])}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--size", type=int, nargs="+", default=[256])
    ap.add_argument("--iters", type=int, help="naive iterations (default: 300 on cpu, 500 on cuda)")
    ap.add_argument("--modes", nargs="+", help="naive modes (default: fp32 on cpu; fp32 bf16 on cuda)")
    ap.add_argument("--content", type=Path, default=SHARED / "images" / "tubingen.jpg")
    ap.add_argument("--style", type=Path, default=SHARED / "images" / "starry_night.jpg")
    ap.add_argument("--naive", type=Path, default=SHARED / "bench" / "naive_gatys.py")
    ap.add_argument("--json", type=Path, help="also write the rows here")
    ap.add_argument("--keep", type=Path, help="keep the pictures in this folder (to look at side by side)")
    ap.add_argument("--compile", default="off", help="the engine's --compile mode (default: off)")
    ap.add_argument("--bf16", nargs="+", choices=("auto", "on", "off"),
                    help="the engine's bf16 choice(s), one engine run each (default: off, and auto where the CPU has bf16)")
    ap.add_argument("--variant", action="append", default=[],
                    help="also run the engine with these options, e.g. levels=2,coarse_steps=50,steps=60 "
                         "(e.g. an older default schedule), once per --bf16 choice")
    ap.add_argument("--conv", nargs="+", default=["auto"], choices=("auto", "winograd", "direct"),
                    help="the engine's CPU convolutions, one engine run each (default: auto)")
    ap.add_argument("--no-naive", action="store_true", help="the engine only (e.g. 2048 px, where naive takes minutes)")
    a = ap.parse_args()
    cuda = a.device.startswith("cuda")
    iters = a.iters or (500 if cuda else 300)
    modes = [] if a.no_naive else a.modes or (["fp32", "bf16"] if cuda else ["fp32"])
    bf16_runs = a.bf16 or (["off", "auto"] if cuda or _cpu_has_bf16() else ["off"])
    if a.keep:
        a.keep.mkdir(parents=True, exist_ok=True)
    naive = load_naive(a.naive)
    net, names = naive.build()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in a.size:
            engines = {}
            for variant in ["", *a.variant]:
                for bf16, conv in itertools.product(bf16_runs, a.conv):
                    out = Path(tmp) / f"engine{size}-{bf16}-{len(engines)}.png"
                    found = run_engine(a.content, a.style, size, a.device, out, a.compile, bf16, variant, conv)
                    found["loss"] = score(naive, net, names, out, a.content, a.style, size, a.device)
                    label = bf16 + ("" if conv == "auto" else f" conv={conv}") + (f" {variant}" if variant else "")
                    engines[label] = found
                    if a.keep:
                        shutil.copy(out, a.keep / f"engine{size}-{label.replace(' ', '-')}.png")
            refs = {mode: naive.run(net, names, a.content, a.style, size, iters, mode, a.device,
                                    str(a.keep / f"naive{size}-{mode}.png") if a.keep else None) for mode in modes}
            for bf16, engine in engines.items():
                rows += _rows(a.device, size, a.compile, bf16, engine, refs, iters)
    _table(rows)
    if a.json:
        a.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()

"""How different the strength grid's four cells are: the style cost of each cell, for sets of factors.

Each factor's cell is painted once (Tübingen × The Starry Night by default, the bot's default
parameters, β = 100 × factor) and scored on the two costs the method minimises, unweighted so
that the cells can be compared: the style cost (the Gram distance to the painting, the loss
divided by β) and the content cost (the loss divided by α). Then, per candidate set of four
factors, it prints each cell's costs, the style cost of each cell over the one before it, and
the mean pixel difference between neighbouring cells (0-255): a set whose neighbours differ by
a few levels looks like four copies of one picture.

    python -m bench.grid --size 192                       # the sets below, CPU: a few minutes
    python -m bench.grid --size 160 --save docs/images    # also writes grid-spread-160.png (the chosen set)

``--extra 10,100`` paints further factors and prints their costs (where the style cost stops
falling). ``--save`` writes the grid of :data:`engine.jobs.paint.GRID_FACTORS` from the cells already
painted, labelled as the bot labels them.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from bench.compare import SHARED
from engine.jobs.paint import GRID_FACTORS, grid_caption
from engine.nst.images import decode_image, encode_image
from engine.nst.params import parse_options
from engine.nst.stylize import get_stylizer
from engine.tiles import compose

SETS = {"before": (0.5, 1.0, 2.0, 4.0), "now (GRID_FACTORS)": GRID_FACTORS}


def paint_cells(content: Path, style: Path, size: int, factors: set[float], extra: list[float]) -> dict[float, dict]:
    engine = get_stylizer()
    photo, painting = decode_image(content.read_bytes()), decode_image(style.read_bytes())
    cells = {}
    for factor in sorted(factors | set(extra)):
        params = parse_options({"size": size})
        params = params.replace(style_weight=params.style_weight * factor)
        t0 = time.perf_counter()
        image, report = engine.stylize(photo, [painting], params)
        final = report["final_loss"]
        cells[factor] = {"image": image, "seconds": round(time.perf_counter() - t0, 1),
                         "style": final["style"] / params.style_weight,
                         "content": final["content"] / params.content_weight}
        print(json.dumps({"factor": factor, "beta": params.style_weight, "seconds": cells[factor]["seconds"],
                          "style_cost": f"{cells[factor]['style']:.4g}",
                          "content_cost": f"{cells[factor]['content']:.4g}"}), flush=True)
    return cells


def difference(a, b) -> float:
    return float(np.abs(np.asarray(a, dtype=np.float32) - np.asarray(b, dtype=np.float32)).mean())


def report(cells: dict[float, dict]) -> None:
    for name, factors in SETS.items():
        print(f"\n{name}: factors {', '.join(f'{f:g}' for f in factors)}")
        print(f"  {'cell':>6} {'beta':>7} {'style cost':>11} {'/ previous':>10} {'content cost':>12} "
              f"{'pixels vs previous':>18}")
        for i, f in enumerate(factors):
            cell, prev = cells[f], cells[factors[i - 1]] if i else None
            ratio = f"{cell['style'] / prev['style']:.2f}" if prev else "-"
            diff = f"{difference(cell['image'], prev['image']):.1f}" if prev else "-"
            print(f"  x{f:<5g} {100 * f:>7g} {cell['style']:>11.4g} {ratio:>10} {cell['content']:>12.4g} {diff:>18}")
        span = cells[factors[0]]["style"] / cells[factors[-1]]["style"]
        print(f"  style cost, first cell / last cell: {span:.1f}x")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=192)
    ap.add_argument("--content", type=Path, default=SHARED / "images" / "tubingen.jpg")
    ap.add_argument("--style", type=Path, default=SHARED / "images" / "starry_night.jpg")
    ap.add_argument("--save", type=Path, help="folder for grid-spread-<size>.png (the GRID_FACTORS grid)")
    ap.add_argument("--extra", default="", help="more factors to paint and print alone, e.g. 10,100")
    a = ap.parse_args()
    extra = [float(f) for f in a.extra.split(",") if f]
    cells = paint_cells(a.content, a.style, a.size, {f for s in SETS.values() for f in s}, extra)
    report(cells)
    if a.save:
        params = parse_options({"size": a.size})
        sheet = compose([cells[f]["image"] for f in GRID_FACTORS], [grid_caption(params, f) for f in GRID_FACTORS],
                        columns=2)
        a.save.mkdir(parents=True, exist_ok=True)
        path = a.save / f"grid-spread-{a.size}.png"
        path.write_bytes(encode_image(sheet.image.quantize(128).convert("RGB"), format="PNG"))
        print(f"\nwrote {path}")


if __name__ == "__main__":
    main()

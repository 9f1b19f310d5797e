"""bench.grid's table: each cell's costs, its style cost over the previous cell's, and the pixel change."""

from __future__ import annotations

from PIL import Image

from bench.grid import SETS, report
from engine.jobs.paint import GRID_FACTORS


def test_the_table_compares_each_cell_with_the_one_before(capsys) -> None:
    factors = {f for s in SETS.values() for f in s}
    # style cost 1e4/f; a red channel of 20 f, so neighbours differ by 20 (f - f_prev) / 3 on average
    cells = {f: {"image": Image.new("RGB", (8, 8), (round(20 * f), 0, 0)), "style": 1e4 / f, "content": 1e5 * f}
             for f in factors}
    report(cells)
    before, now = capsys.readouterr().out.split("\nnow (GRID_FACTORS)")
    assert SETS["now (GRID_FACTORS)"] == GRID_FACTORS
    rows = {line.split()[0]: line.split() for line in now.splitlines() if line.strip().startswith("x")}
    assert rows["x1"][3] == f"{GRID_FACTORS[1] / 1.0:.2f}"  # style cost over the previous cell's
    assert rows["x4"][-1] == f"{20 * (4 - 1) / 3:.1f}"  # mean pixel change from the x1 cell
    assert f"first cell / last cell: {GRID_FACTORS[-1] / GRID_FACTORS[0]:.1f}x" in now
    assert "first cell / last cell: 8.0x" in before  # x1/2 ... x4

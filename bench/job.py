"""The default job as the bot runs it, today's code against another checkout, in one run. Not a test.

Each tree (a checkout of this repository: ``--before`` and ``--after``, default this one) runs
the same job in its own process, alternately: the job path of the bot minus Discord
(``engine.jobs.runtime.run``, previews on as the bot has them), with no size named but
``--size`` (default 512, the bot's default job), after a warm-up job that loads the weights, as
the bot's start-up does. Printed per run: seconds from submission to the result, to the first
preview, and the result's naive fp32 loss (the naive reference script's ``evaluate``, ``--naive``).

    git worktree add /tmp/before e260a5f
    python -m bench.job --before /tmp/before --size 512
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.compare import SHARED, load_naive

HERE = Path(__file__).resolve().parents[1]

ONE_JOB = """
import json, sys, time
from engine.jobs import JobSpec
from engine.jobs.runtime import Control, run
content, style, size, out = open(sys.argv[1], "rb").read(), open(sys.argv[2], "rb").read(), int(sys.argv[3]), sys.argv[4]
run(JobSpec(content, (style,), {"size": 32, "steps": 1, "levels": 1}), Control(), preview_every=0)  # weights, warm-up
previews = []
class Timed(Control):
    def on_progress(self, progress):
        if progress.preview is not None:
            previews.append(time.perf_counter() - t0)
        super().on_progress(progress)
t0 = time.perf_counter()
outcome = run(JobSpec(content, (style,), {"size": size}), Timed(), preview_every=10)
seconds = time.perf_counter() - t0
open(out, "wb").write(outcome.result.image)
report = outcome.result.report
report = report if isinstance(report, dict) else report.to_dict()  # a typed JobReport since the house
print(json.dumps({"seconds": round(seconds, 2), "first_preview_s": round(previews[0], 2) if previews else None,
                  "schedule": report["schedule"], "first_look": report.get("first_look")}))
"""


def one(tree: Path, content: Path, style: Path, size: int, out: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run([sys.executable, "-c", ONE_JOB, str(content), str(style), str(size), str(out)],
                          cwd=tree, env=env, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before", type=Path, required=True, help="a checkout of the code to compare with")
    ap.add_argument("--after", type=Path, default=HERE)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--content", type=Path, default=SHARED / "images" / "tubingen.jpg")
    ap.add_argument("--style", type=Path, default=SHARED / "images" / "starry_night.jpg")
    ap.add_argument("--naive", type=Path, default=SHARED / "bench" / "naive_gatys.py")
    ap.add_argument("--keep", type=Path, help="keep the results here")
    a = ap.parse_args()
    naive = load_naive(a.naive)
    net, names = naive.build()
    c, s = naive.load(a.content, a.size), naive.load(a.style, a.size)
    with tempfile.TemporaryDirectory() as tmp:
        folder = a.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        for r in range(a.rounds):
            for name, tree in (("before", a.before), ("after", a.after)):
                out = folder / f"job{a.size}-{name}-{r}.png"
                load = os.getloadavg()[0]
                t = time.perf_counter()
                row = one(tree.resolve(), a.content, a.style, a.size, out)
                loss = naive.evaluate(net, names, naive.load(out, a.size), c, s)
                print(json.dumps({"tree": name, "round": r, "size": a.size, **row, "naive_loss": loss,
                                  "process_s": round(time.perf_counter() - t, 1), "load_1min": load}), flush=True)


if __name__ == "__main__":
    main()

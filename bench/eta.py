"""ETA error of the default job: what the user is told at submission against how long the job really took.

The jobs go through the bot's own path minus Discord: a calibrated local queue (the warm-up the bot
runs at start-up), each job naming no size, so :func:`bot.requests.sizing.fit_size` picks the largest ladder
size predicted to fit ``--target`` (the bot's TARGET_JOB_S); the ETA is the queued status's, as the
status message shows it, and the real time runs from submission to the result. One job at a time, so
each ETA is that job's own prediction. The photos and paintings rotate over the shared images folder.

    python -m bench.eta --jobs 10                  # bf16 as the CPU comes
    STYLEBOT_BF16=off python -m bench.eta --jobs 10
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from pathlib import Path

from bench.compare import SHARED
from bot.requests.sizing import fit_size
from engine.jobs import JobSpec
from engine.jobs.local import LocalJobQueue
from engine.jobs.settings import QueueSettings, RunnerSettings

PAIRS = [("tubingen.jpg", "starry_night.jpg"), ("golden_gate.jpg", "the_scream.jpg"),
         ("hoovertowernight.jpg", "shipwreck.jpg"), ("brad_pitt.jpg", "picasso_selfport1907.jpg"),
         ("tubingen.jpg", "woman-with-hat-matisse.jpg")]


async def run(jobs: int, target_s: float, max_size: int, device: str) -> list[dict]:
    queue = LocalJobQueue(QueueSettings(_env_file=None), RunnerSettings(_env_file=None, device=device),
                          calibrate=True)
    t = time.perf_counter()
    await queue.start()
    print(json.dumps({"calibration_s": round(time.perf_counter() - t, 2), "a": queue.timing.a, "b": queue.timing.b}),
          flush=True)
    rows = []
    try:
        for i in range(jobs):
            content, style = (Path(SHARED / "images" / name).read_bytes() for name in PAIRS[i % len(PAIRS)])
            options = await fit_size(queue, {}, content, max_size=max_size, target_s=target_s)
            start = time.perf_counter()
            handle = await queue.submit(JobSpec(content, (style,), options, user_id=i))
            eta = (await handle.status()).eta_s
            await handle.result()
            real = time.perf_counter() - start
            rows.append({"job": i + 1, "pair": PAIRS[i % len(PAIRS)][0], "size": options["size"], "eta_s": eta,
                         "real_s": round(real, 2), "error": round((eta - real) / real, 3) if eta else None})
            print(json.dumps(rows[-1]), flush=True)
    finally:
        await queue.close()
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--jobs", type=int, default=10)
    ap.add_argument("--target", type=float, default=60.0, help="TARGET_JOB_S (default 60)")
    ap.add_argument("--max-size", type=int, default=1024)
    ap.add_argument("--device", default="cpu")
    a = ap.parse_args()
    rows = asyncio.run(run(a.jobs, a.target, a.max_size, a.device))
    errors = [abs(r["error"]) for r in rows if r["error"] is not None]
    if errors:
        print(f"\n{len(errors)} jobs: mean |error| {statistics.mean(errors):.1%}, worst {max(errors):.1%}, "
              f"within ±25%: {sum(e <= 0.25 for e in errors)}/{len(errors)}")


if __name__ == "__main__":
    main()

"""Jobs per minute with N jobs waiting, run one by one or as batches, through the real queues. Not a test.

N jobs of one image shape (mixed photos and paintings from the shared images, photos cropped to
4:3) are submitted at once, from N users, to the in-process queue and to a Redis worker process,
first with batches of 1 (each job alone), then with each ``--batch`` size. It prints jobs/min
(first submit to last result), submit-to-result latency p50/p95, peak memory, and each job's
final loss against the same job run alone (batch 1) - the check that batching changes nothing
but speed - and writes the batched results beside the unbatched ones with ``--save``.

    python -m bench.throughput --device cpu --size 64 --jobs 8 --batch 4          # a few minutes
    python -m bench.throughput --device cuda --size 512 --jobs 32 --batch 16 32   # bench/gpu.sh

The worker's start-up (torch, weights, warm-up job) is measured too, as "cold start": from the
process start to the worker registering itself ready in Redis.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from PIL import Image, ImageOps

from bench.compare import SHARED
from bench.throughput_redis import start_redis
from engine.jobs import JobQueue, JobSpec
from engine.jobs.local import LocalJobQueue
from engine.jobs.settings import QueueSettings, RunnerSettings
from engine.nst.images import encode_image

ROOT = Path(__file__).resolve().parents[1]
# a copy inside the checkout (the device machine gets one: bench/gpu.sh), else bench.compare.SHARED's
IMAGES = next((p for p in (ROOT / "shared" / "images", SHARED / "images") if p.is_dir()), SHARED / "images")
PHOTOS = ("tubingen.jpg", "golden_gate.jpg", "hoovertowernight.jpg", "brad_pitt.jpg")
PAINTINGS = ("starry_night.jpg", "the_scream.jpg", "shipwreck.jpg", "picasso_selfport1907.jpg",
             "woman-with-hat-matisse.jpg", "seated-nude.jpg", "escher_sphere.jpg", "frida_kahlo.jpg")


def workload(n: int, size: int) -> list[JobSpec]:
    photos = [encode_image(ImageOps.fit(Image.open(IMAGES / p).convert("RGB"), (size, size * 3 // 4))) for p in PHOTOS]
    paintings = [encode_image(ImageOps.contain(Image.open(IMAGES / p).convert("RGB"), (size, size))) for p in PAINTINGS]
    return [JobSpec(photos[i % len(photos)], (paintings[i % len(paintings)],), {"size": size}, user_id=i + 1)
            for i in range(n)]


async def through(queue: JobQueue, specs: list[JobSpec]) -> dict[str, Any]:
    """Submit every job at once; wait for all; return timings and reports."""
    start = time.perf_counter()
    handles = [await queue.submit(s) for s in specs]

    async def finish(handle: Any) -> tuple[float, dict[str, Any], bytes]:
        result = await handle.result()
        return time.perf_counter() - start, result.report, result.image

    done = await asyncio.gather(*(finish(h) for h in handles))
    wall = max(t for t, _, _ in done)
    latencies = sorted(t for t, _, _ in done)
    return {"wall_s": wall, "jobs_per_min": len(specs) / wall * 60,
            "p50_s": statistics.median(latencies), "p95_s": latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))],
            "losses": [r["final_loss"]["total"] for _, r, _ in done], "batches": [r["batch"] for _, r, _ in done],
            "images": [img for _, _, img in done]}


def peak_memory(device: str) -> float:
    """GiB: CUDA's peak allocation in this process, else this process's peak resident memory."""
    import torch

    if device.startswith("cuda"):
        return torch.cuda.max_memory_allocated() / 2**30
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def bench_settings(jobs: int, **values: Any) -> QueueSettings:
    """Room for every job of the run, and no time limit worth the name (a day)."""
    return QueueSettings(_env_file=None, per_user_limit=jobs, max_queue=jobs, job_time_limit_s=24 * 3600, **values)


async def local_run(specs: list[JobSpec], device: str, batch: int) -> dict[str, Any]:
    import torch

    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    runner = RunnerSettings(_env_file=None, device=device, max_batch=batch)
    queue = LocalJobQueue(bench_settings(len(specs)), runner, workers=1)
    await queue.start()
    try:
        row = await through(queue, specs)
    finally:
        await queue.close()
    return {**row, "peak_gb": peak_memory(device)}


async def redis_run(specs: list[JobSpec], device: str, batch: int, url: str, queue_name: str) -> dict[str, Any]:
    from engine.jobs.redis.queue import RedisJobQueue

    t0 = time.perf_counter()
    worker = subprocess.Popen([sys.executable, "-m", "engine.worker", "--redis-url", url, "--queue-name", queue_name,  # noqa: ASYNC220 - long-lived, polled
                               "--device", device, "--max-batch", str(batch), "--log-level", "WARNING"], cwd=ROOT)
    queue = RedisJobQueue(url, bench_settings(len(specs), queue_name=queue_name), poll_interval_s=0.2)
    await queue.start()
    try:
        while not await queue.workers():
            if worker.poll() is not None:
                raise RuntimeError("the worker exited before it was ready")
            await asyncio.sleep(0.05)
        cold = time.perf_counter() - t0
        row = await through(queue, specs)
        peak = _worker_peak_gb(worker.pid)
    finally:
        await queue.close()
        worker.terminate()
        worker.wait(timeout=60)
    return {**row, "cold_start_s": cold, "peak_gb": peak}


def _worker_peak_gb(pid: int) -> float:
    """The worker's peak resident memory (VmHWM); on a GPU its /metrics has the CUDA peak, not read here."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 2**20
    return float("nan")


def compare(alone: list[float], batched: list[float]) -> str:
    ratios = [b / a for a, b in zip(alone, batched)]
    return f"{min(ratios):.3f}..{max(ratios):.3f} (mean {statistics.mean(ratios):.3f})"


async def main(args: argparse.Namespace) -> None:
    specs = workload(args.jobs, args.size)
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        redis_proc, url = start_redis(tmp) if "redis" in args.queues else (None, "")
        try:
            for queue in args.queues:
                baseline = None
                for batch in [1, *args.batch]:
                    name = f"bench-{queue}-{batch}-{time.monotonic_ns()}"
                    row = await (local_run(specs, args.device, batch) if queue == "local"
                                 else redis_run(specs, args.device, batch, url, name))
                    row |= {"queue": queue, "batch": batch}
                    baseline = baseline or row
                    row["loss_vs_alone"] = compare(baseline["losses"], row["losses"])
                    if args.save and batch > 1:
                        save(args.save, queue, baseline["images"], row["images"])
                    rows.append(row)
                    print(json.dumps({k: v for k, v in row.items() if k not in ("images", "losses")}), flush=True)
        finally:
            if redis_proc is not None:
                redis_proc.terminate()
    print(f"\n{args.jobs} jobs of {args.size} px on {args.device}, default schedule")
    print(f"{'queue':6} {'batch':>5} {'jobs/min':>9} {'p50 s':>7} {'p95 s':>7} {'peak GiB':>8} {'cold s':>7}  "
          f"final loss / alone")
    for r in rows:
        cold = f"{r['cold_start_s']:.1f}" if "cold_start_s" in r else "-"
        print(f"{r['queue']:6} {r['batch']:>5} {r['jobs_per_min']:>9.1f} {r['p50_s']:>7.1f} {r['p95_s']:>7.1f} "
              f"{r['peak_gb']:>8.2f} {cold:>7}  {r['loss_vs_alone']}")
    if args.json:
        args.json.write_text(json.dumps([{k: v for k, v in r.items() if k != "images"} for r in rows], indent=2))


def save(folder: Path, queue: str, alone: list[bytes], batched: list[bytes]) -> None:
    """One strip per job pair: alone (top) and batched (bottom), to see that they look the same."""
    folder.mkdir(parents=True, exist_ok=True)
    pairs = [(Image.open(io.BytesIO(a)), Image.open(io.BytesIO(b))) for a, b in zip(alone, batched)]
    w, h = pairs[0][0].size
    sheet = Image.new("RGB", (w * len(pairs), h * 2), "white")
    for i, (a, b) in enumerate(pairs):
        sheet.paste(a, (i * w, 0))
        sheet.paste(b, (i * w, h))
    sheet.save(folder / f"batched-vs-alone-{queue}.png")


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--jobs", type=int, default=8)
    ap.add_argument("--batch", type=int, nargs="+", default=[4], help="batch sizes to compare with 1")
    ap.add_argument("--queues", nargs="+", choices=("local", "redis"), default=["local", "redis"])
    ap.add_argument("--save", type=Path, help="write alone-vs-batched image strips here")
    ap.add_argument("--json", type=Path, help="also write the rows here")
    return ap.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse_args()))

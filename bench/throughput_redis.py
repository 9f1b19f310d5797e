"""Throughput of the Redis queue with 1, 2 and 4 local worker processes. A benchmark, not a test.

Starts its own redis-server (needs ``redis-server`` on PATH), then for each worker count starts
that many ``python -m engine.worker`` processes, waits until they are ready (start-up is not
measured), submits N tiny jobs from several users at once and waits for every result:

    python -m bench.throughput_redis                                  # 24 jobs, size 32, 3 steps, CPU
    python -m bench.throughput_redis --jobs 60 --workers 1 2 4 --device cuda:0 --size 256 --steps 50

jobs/min counts from the first submit to the last result. "queue" is the wait in Redis
(submitted -> a worker started it, Redis clock); "total" is submit -> result seen by the
submitter. On a CPU box the workers share the cores (``--threads`` each), so beyond the core
count the figures show queue overhead and contention, not GPU scale-out.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from engine.jobs import JobSpec
from engine.jobs.redis.queue import RedisJobQueue
from engine.jobs.settings import QueueSettings

ROOT = Path(__file__).resolve().parents[1]


def png(seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    Image.fromarray((rng.random((96, 128, 3)) * 255).astype("uint8")).save(buf, format="PNG")
    return buf.getvalue()


def start_redis(directory: str) -> tuple[subprocess.Popen[bytes], str]:
    binary = shutil.which("redis-server")
    if binary is None:
        sys.exit("redis-server is not on PATH (apt-get install redis-server)")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", directory, "--save", "",
                             "--appendonly", "yes", "--appendfsync", "everysec"], stdout=subprocess.DEVNULL)
    for _ in range(100):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc, f"redis://127.0.0.1:{port}/0"
        time.sleep(0.05)
    sys.exit("redis-server did not start")


def start_workers(n: int, url: str, queue: str, args: argparse.Namespace) -> list[subprocess.Popen[bytes]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": str(args.threads),
           "MKL_NUM_THREADS": str(args.threads)}
    cmd = [sys.executable, "-m", "engine.worker", "--redis-url", url, "--queue-name", queue, "--device", args.device,
           "--poll-delay-s", str(args.poll_delay), "--log-level", "WARNING"]
    return [subprocess.Popen(cmd, cwd=ROOT, env=env) for _ in range(n)]


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


async def measure(n_workers: int, url: str, args: argparse.Namespace) -> dict[str, float]:
    settings = QueueSettings(_env_file=None, queue_name=f"bench-{n_workers}", per_user_limit=args.jobs,
                             max_queue=args.jobs)
    queue = RedisJobQueue(url, settings)
    await queue.start()
    procs = start_workers(n_workers, url, settings.queue_name, args)
    try:
        while len(await queue.workers()) < n_workers:  # each loads the weights and runs a warm-up job
            if any(p.poll() is not None for p in procs):
                sys.exit("a worker exited during start-up")
            await asyncio.sleep(0.2)
        options = {"size": args.size, "steps": args.steps, "levels": 1}
        content, style = png(0), png(1)
        t0 = time.monotonic()
        handles = [await queue.submit(JobSpec(content, (style,), options, user_id=i % args.users))
                   for i in range(args.jobs)]

        async def wait(h) -> tuple[float, float]:
            report = (await h.result()).report
            return report["worker"]["queued_s"], time.monotonic() - t0

        waits = await asyncio.gather(*(wait(h) for h in handles))
        wall = time.monotonic() - t0
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            p.wait(timeout=60)
        await queue.close()
    queued = [q for q, _ in waits]
    total = [t for _, t in waits]
    return {"workers": n_workers, "jobs": args.jobs, "wall_s": wall, "jobs_per_min": args.jobs / wall * 60,
            "queue_p50": pct(queued, 50), "queue_p95": pct(queued, 95),
            "total_p50": pct(total, 50), "total_p95": pct(total, 95)}


def print_table(rows: list[dict[str, float]]) -> None:
    head = ("workers", "jobs", "wall s", "jobs/min", "queue p50 s", "queue p95 s", "total p50 s", "total p95 s")
    keys = ("workers", "jobs", "wall_s", "jobs_per_min", "queue_p50", "queue_p95", "total_p50", "total_p95")
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join("---:" for _ in head) + "|")
    for r in rows:
        print("| " + " | ".join(f"{r[k]:.0f}" if k in ("workers", "jobs") else f"{r[k]:.2f}" for k in keys) + " |")


async def main_async(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-redis-") as tmp:
        server, url = start_redis(tmp)
        try:
            rows = [await measure(n, url, args) for n in args.workers]
        finally:
            server.terminate()
            server.wait()
    print(f"{args.jobs} jobs of size {args.size}, {args.steps} steps, {args.users} users, device {args.device}, "
          f"{args.threads} torch thread(s) per worker, {os.cpu_count()} CPUs")
    print_table(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--jobs", type=int, default=24)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--users", type=int, default=4, help="jobs are spread over this many users")
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=1, help="torch threads per worker process")
    ap.add_argument("--poll-delay", type=float, default=0.25, help="the workers' queue poll delay (their default)")
    asyncio.run(main_async(ap.parse_args()))


if __name__ == "__main__":
    main()

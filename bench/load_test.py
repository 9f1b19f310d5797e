"""Load benchmark of the bot (not a test): many `!style` requests from many users at once.

The real bot (real discord.py, real LocalJobQueue, real engine at a tiny setting) runs
against FakeDiscord on 127.0.0.1. The fake runs on its own event loop in a thread, so
the event-loop lag measured here is the bot's own. It records:

* that every request got exactly one answer (a result, or a clear refusal),
* the bot's event-loop lag (how late a 50 ms ``asyncio.sleep`` wakes up: max and p99),
* time per job (engine time from the result embeds, end-to-end latency, throughput).

    .venv/bin/python bench/load_test.py [--users 20] [--requests 100] [--size 32] [--steps 2]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import logging
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from bot.client import StyleBot  # noqa: E402
from bot.settings import BotSettings  # noqa: E402
from bot.store import GuildStore  # noqa: E402
from engine.jobs.local import LocalJobQueue  # noqa: E402
from tests.support.fakediscord import FakeDiscord  # noqa: E402

T = TypeVar("T")
GUILD, CHANNEL = 910000000000000001, 910000000000000002
REFUSALS = ("⚠️", "✋", "🚦", "🛑", "❌", "⛔", "Something went wrong")


def noisy_png(width: int, height: int, seed: int) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG")
    return buf.getvalue()


class FakeThread:
    """FakeDiscord on its own event loop in a daemon thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, name="fake-discord", daemon=True).start()

    async def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self.loop))

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)


async def measure_lag(lags: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        start = time.perf_counter()
        await asyncio.sleep(0.05)
        lags.append(time.perf_counter() - start - 0.05)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] if ordered else float("nan")


async def answers(fake: FakeDiscord, requests: dict[str, float]) -> dict[str, dict[str, Any]]:
    """Per request id: how many results and refusals it got (runs on the fake's loop)."""
    out: dict[str, dict[str, Any]] = {rid: {"results": 0, "refusals": 0} for rid in requests}
    for m in fake.messages(CHANNEL):
        ref = (m.get("message_reference") or {}).get("message_id")
        if ref not in out or int(m["author"]["id"]) != fake.bot_id:
            continue
        if m["attachments"] and m["embeds"]:
            out[ref]["results"] += 1
            out[ref]["engine_s"] = float(next(f["value"] for f in m["embeds"][0]["fields"]
                                              if f["name"] == "time").split()[0])
        elif m["content"].startswith(REFUSALS):
            out[ref]["refusals"] += 1
    return out


async def main(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.WARNING)
    ft = FakeThread()
    fake = FakeDiscord()
    fake.add_guild("bench", guild_id=GUILD)
    fake.add_channel(GUILD, "art", channel_id=CHANNEL)
    users = [fake.add_member(GUILD, fake.add_user(f"user{i}")) for i in range(args.users)]
    await ft.run(fake.start())
    restore = fake.point_discordpy_here()
    content, style = noisy_png(64, 48, 1), noisy_png(48, 48, 2)
    options = f"size={args.size} steps={args.steps} coarse_steps=1"
    with tempfile.TemporaryDirectory() as tmp:
        settings = BotSettings(_env_file=None, discord_token=fake.token, database_path=f"{tmp}/db.sqlite3",
                               per_user_limit=args.per_user_limit, max_queue=args.requests + 10)
        queue = LocalJobQueue(workers=1, per_user_limit=settings.per_user_limit, max_queue=settings.max_queue)
        bot = StyleBot(settings, queue, GuildStore(settings.database_path), guild_ready_timeout=0.05)
        delivered: dict[str, float] = {}

        async def on_delivered(handle: Any, message: Any) -> None:
            delivered[str(handle.meta["reply_to_id"])] = time.perf_counter()

        bot.add_listener(on_delivered, "on_style_result_delivered")
        runner = asyncio.create_task(bot.start(fake.token))
        await asyncio.wait_for(bot.wait_until_ready(), 30)

        # warm-up: the first job imports torch and loads the weights; not measured
        images = [("c.png", content, "image/png"), ("s.png", style, "image/png")]
        warm = await ft.run(fake.send_message(CHANNEL, users[0], f"!style {options}", attachments=images))
        while (await ft.run(answers(fake, {warm["id"]: 0})))[warm["id"]]["results"] == 0:
            await asyncio.sleep(0.2)

        lags: list[float] = []
        stop = asyncio.Event()
        monitor = asyncio.create_task(measure_lag(lags, stop))
        sent: dict[str, float] = {}
        start = time.perf_counter()
        for i in range(args.requests):
            user = users[i % len(users)]
            text = f"!style {options} seed={i}"
            msg = await ft.run(fake.send_message(CHANNEL, user, text, attachments=images))
            sent[msg["id"]] = time.perf_counter()
            await asyncio.sleep(args.spacing)
        deadline = time.perf_counter() + args.timeout
        while time.perf_counter() < deadline:
            got = await ft.run(answers(fake, sent))
            if all(a["results"] + a["refusals"] >= 1 for a in got.values()) and await queue.depth() == 0:
                break
            await asyncio.sleep(0.25)
        wall = time.perf_counter() - start
        await asyncio.sleep(1.0)  # a late duplicate would show up now
        got = await ft.run(answers(fake, sent))
        stop.set()
        await monitor
        await bot.close()
        await runner
    restore()
    await ft.run(fake.close())
    ft.stop()
    latency = [delivered[rid] - t for rid, t in sent.items() if rid in delivered]
    return report(args, got, lags, latency, wall)


def report(args: argparse.Namespace, got: dict[str, dict[str, Any]], lags: list[float], latency: list[float],
           wall: float) -> int:
    results = sum(a["results"] for a in got.values())
    refusals = sum(a["refusals"] for a in got.values())
    exactly_one = sum(1 for a in got.values() if a["results"] + a["refusals"] == 1)
    engine = [a["engine_s"] for a in got.values() if "engine_s" in a]
    rows = [
        ("requests / users", f"{len(got)} / {args.users}"),
        ("answered exactly once", f"{exactly_one} / {len(got)}"),
        ("results / refusals", f"{results} / {refusals}"),
        ("wall time (all answered)", f"{wall:.1f} s"),
        ("throughput", f"{results / wall * 60:.0f} jobs/min"),
        ("time per job, wall / jobs", f"{wall / max(1, results):.3f} s"),
        ("request -> result p50 / p95 / max", " / ".join(
            f"{percentile(latency, q):.1f}" for q in (0.5, 0.95, 1.0)) + " s" if latency else "-"),
        ("engine time per job p50 / max",
         f"{statistics.median(engine):.1f} / {max(engine):.1f} s" if engine else "-"),
        ("event-loop lag p99 / max", f"{percentile(lags, 0.99) * 1000:.1f} / {max(lags) * 1000:.1f} ms"),
        ("lag samples", str(len(lags))),
    ]
    width = max(len(k) for k, _ in rows)
    print(f"stylebot load test: size={args.size} steps={args.steps} coarse_steps=1, 1 CPU worker")
    for key, value in rows:
        print(f"  {key:<{width}}  {value}")
    return 0 if exactly_one == len(got) else 1


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=20)
    ap.add_argument("--requests", type=int, default=100)
    ap.add_argument("--per-user-limit", type=int, default=5, help="5 = every user's 5 requests fit at once")
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--steps", type=int, default=2)
    ap.add_argument("--spacing", type=float, default=0.01, help="seconds between two requests")
    ap.add_argument("--timeout", type=float, default=600.0)
    return ap.parse_args()


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse_args())))

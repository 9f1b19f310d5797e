"""Run one job from plain data: bytes and options in, PNG bytes and a report out.

Both queue implementations call :func:`run_job` (the local one in a worker
thread, the Redis one inside an arq worker), so a job behaves the same whichever
queue carries it.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from engine.errors import ParamError
from engine.nst.images import decode_image
from engine.jobs import JobResult
from engine.nst.params import parse_options
from engine.nst.stylize import Progress, Stylizer, get_stylizer


def run_job(
    content: bytes,
    styles: Sequence[bytes],
    options: Mapping[str, Any],
    *,
    on_progress: Callable[[Progress], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
    preview_every: int = 0,
    device: str | None = None,
    max_pixels: int | None = None,
    stylizer: Stylizer | None = None,
) -> JobResult:
    """Decode, validate, stylize, encode. Blocking: call it from a thread or a worker process.

    Raises InputError/ParamError for bad input, JobCancelled when ``should_cancel`` turns true.
    ``device`` (a worker's own device) overrides the option; ``max_pixels`` caps the output.
    """
    params = parse_options(options)
    if device is not None:
        params = params.replace(device=device)
    if max_pixels is not None and params.size * params.size > max_pixels:
        raise ParamError(f"size {params.size} is larger than this worker allows ({int(max_pixels ** 0.5)} px)")
    content_img = decode_image(content)
    style_imgs = [decode_image(s) for s in styles]
    stylizer = stylizer or get_stylizer(params.backbone)
    image, report = stylizer.stylize(
        content_img, style_imgs, params,
        on_progress=on_progress, should_cancel=should_cancel, preview_every=preview_every,
    )
    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=False)
    return JobResult(image=buf.getvalue(), report=report)

"""Sizes that fit the machine: a job that names no size gets the largest one predicted to fit TARGET_JOB_S.

The prediction is the queue's time model (:mod:`engine.jobs.timing`, calibrated at start-up and
refined by every job since); the ETA the user then sees comes from the same model. An explicit
``size=`` and a server's own ``size`` setting always win (they are in the options already).
"""

from __future__ import annotations

import logging
from typing import Any

from engine.jobs.contract import JobQueue
from engine.jobs.timing import photo_size, pick_size
from engine.nst.params import StyleParams

log = logging.getLogger(__name__)


async def fit_size(queue: JobQueue, options: dict[str, Any], params: StyleParams, content: bytes, *,
                   max_size: int, target_s: float) -> dict[str, Any]:
    """``options`` (which give ``params``) with the size that fits, unless they name one (or the model
    cannot predict yet)."""
    if "size" in options:
        return options
    predict = await queue.predictor()
    size = pick_size(params, photo_size(content), predict, target_s, max_size)
    if size is None:
        return options
    log.info("no size asked for: %d px fits %.0f s here", size, target_s)
    return {**options, "size": size}

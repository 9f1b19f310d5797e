"""The coarse-to-fine schedule of a job and the image shapes it implies (no torch here).

The queues group waiting jobs into batches by :func:`batch_key` without loading torch (a bot
in Redis mode never does), so what the key needs lives here, beside the schedule itself.
"""

from __future__ import annotations

from engine.nst.params import StyleParams

MIN_SIDE = 32


def level_shape(image_size: tuple[int, int], size: int) -> tuple[int, int]:
    """(width, height) with the longest side ``size``, but never a side under MIN_SIDE.

    VGG19 halves the image five times; below 32 px the deepest layers would be empty.
    """
    w, h = image_size
    scale = max(size / max(w, h), MIN_SIDE / min(w, h))
    return max(1, round(w * scale)), max(1, round(h * scale))


def schedule(params: StyleParams) -> list[tuple[int, int]]:
    """(size, steps) per level, coarsest first: each level is half the size of the next.

    Departure from Gatys et al., who optimise at one size: like jcjohnson's multires script and
    Gatys' own later work, coarse levels first lay out the large strokes cheaply (a half-size
    step costs a quarter), and the full-size level refines them. ``levels=1`` is the paper's way.
    """
    sizes = [max(16, round(params.size / 2 ** (params.levels - 1 - i))) for i in range(params.levels)]
    return [(s, params.steps if i == len(sizes) - 1 else params.coarse_steps) for i, s in enumerate(sizes)]


def batch_key(params: StyleParams, content_size: tuple[int, int]) -> str:
    """Jobs with the same key can share one batch: the same image shapes and steps at every rung, and the
    same layers, optimiser, backbone and device. Weights, paintings and start images may differ."""
    rungs = [(level_shape(content_size, size), steps) for size, steps in schedule(params)]
    adam = params.learning_rate if params.optimizer == "adam" else None
    return repr((rungs, params.content_layer, params.style_layers, params.optimizer, adam, params.backbone,
                 params.device))

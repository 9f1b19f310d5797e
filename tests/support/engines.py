"""Engines the tests hand to the queues (their ``stylizer`` parameter): the real one, held, paced or faulty.

Each wraps the real engine (real VGG19 weights) and changes one thing a test needs to control:
when a job may proceed, how fast it reports progress, or a fault a CPU cannot produce on demand.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import torch

from engine.errors import JobCancelled
from engine.nst.stylize import get_stylizer

TINY_OPTIONS = {"size": 32, "steps": 2, "coarse_steps": 1}


class Real:
    """The engine the queues use by default, to wrap."""

    def stylize(self, content: Any, styles: Any, params: Any, **kwargs: Any) -> Any:
        return get_stylizer(params.backbone).stylize(content, styles, params, **kwargs)

    def stylize_many(self, jobs: list[Any]) -> list[Any]:
        return get_stylizer(jobs[0].params.backbone).stylize_many(jobs)


class Tiny(Real):
    """Every job at the tiny setting (for /style, which offers no `coarse_steps`)."""

    def stylize(self, content: Any, styles: Any, params: Any, **kwargs: Any) -> Any:
        return super().stylize(content, styles, params.replace(**TINY_OPTIONS), **kwargs)


class Tap(Real):
    """Holds every job before it starts until :meth:`open` (cancellable while held), then runs it."""

    def __init__(self, inner: Real | None = None, *, is_open: bool = False) -> None:
        self.inner = inner or Real()
        self._open = threading.Event()
        if is_open:
            self._open.set()

    def open(self) -> None:
        self._open.set()

    def close(self) -> None:
        self._open.clear()

    def stylize(self, content: Any, styles: Any, params: Any, *, should_cancel: Any, **kwargs: Any) -> Any:
        while not self._open.wait(0.02):
            if should_cancel():
                raise JobCancelled("cancelled while held")
        return self.inner.stylize(content, styles, params, should_cancel=should_cancel, **kwargs)


class FirstLook(Real):
    """The real engine (or ``inner``), stopped on both sides of each job's first preview from the engine:
    before it until :meth:`show`, after it until :meth:`finish` (cancellable while held).

    A test then sees the status edits before the first look and the one that brings it, in that
    order and while the job still runs, however fast or slow the machine: it calls :meth:`show`
    once it has seen what must come before the look, :meth:`finish` once it has seen the look.
    """

    def __init__(self, inner: Real | None = None) -> None:
        self.inner = inner or Real()
        self._show, self._finish = threading.Event(), threading.Event()

    def show(self) -> None:
        self._show.set()

    def finish(self) -> None:
        self._finish.set()

    def stylize(self, content: Any, styles: Any, params: Any, *, on_progress: Any, should_cancel: Any,
                **kwargs: Any) -> Any:
        first = True

        def gated(progress: Any) -> None:
            nonlocal first
            if not (first and progress.preview is not None):
                on_progress(progress)
                return
            first = False
            _hold(self._show, should_cancel)
            on_progress(progress)
            _hold(self._finish, should_cancel)

        return self.inner.stylize(content, styles, params, on_progress=gated, should_cancel=should_cancel, **kwargs)


def _hold(gate: threading.Event, should_cancel: Any) -> None:
    while not gate.wait(0.02):
        if should_cancel():
            raise JobCancelled("cancelled while held")


class Paced(Real):
    """The real engine, held 20 ms per step, so a job lasts long enough to show progress on any CPU."""

    def stylize(self, content: Any, styles: Any, params: Any, *, on_progress: Any, **kwargs: Any) -> Any:
        def slow(progress: Any) -> None:
            time.sleep(0.02)
            on_progress(progress)

        return super().stylize(content, styles, params, on_progress=slow, **kwargs)


class OutOfMemoryAbove(Real):
    """The real engine, except that any job larger than ``limit`` px runs out of "GPU memory" as CUDA would."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.sizes: list[int] = []  # the size of every attempt, in order

    def stylize(self, content: Any, styles: Any, params: Any, **kwargs: Any) -> Any:
        self.sizes.append(params.size)
        if params.size > self.limit:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return super().stylize(content, styles, params, **kwargs)

    def stylize_many(self, jobs: list[Any]) -> list[Any]:
        """A batch needs the memory of all its jobs: here it runs out if the jobs' sizes add up past the limit."""
        self.sizes.append(sum(j.params.size for j in jobs))
        if self.sizes[-1] > self.limit:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 8.00 GiB")
        return super().stylize_many(jobs)


class Diverging(Real):
    """The real engine and loop, with a cost term that is infinite from the first step: a divergence on demand."""

    def stylize(self, content: Any, styles: Any, params: Any, **kwargs: Any) -> Any:
        return super().stylize(content, styles, params, extra_terms=_infinite, **kwargs)


def _infinite(image: torch.Tensor, targets: Any) -> dict[str, torch.Tensor]:
    return {"runaway": image.sum() * float("inf")}


class Recorded(Real):
    """The real engine, recording the shape of each photo it is given (each job here has its own)."""

    def __init__(self) -> None:
        self.photos: list[tuple[int, int]] = []

    def stylize(self, content: Any, *args: Any, **kwargs: Any) -> Any:
        self.photos.append(content.size)
        return super().stylize(content, *args, **kwargs)

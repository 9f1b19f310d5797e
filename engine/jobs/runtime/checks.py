"""What is checked before a job is queued, and before it starts again."""

from __future__ import annotations

from engine.errors import ParamError
from engine.jobs.contract import MAX_GRID_CELLS, JobSpec
from engine.jobs.runtime.outcome import Outcome
from engine.nst.media import is_animation
from engine.nst.params import StyleParams, parse_options
from engine.texts import msg

MAX_ATTEMPTS = 3  # a job whose process died this many times while running it is given up on


def check_submission(spec: JobSpec) -> StyleParams:
    """What every queue checks before queueing anything: the options parse, the style images fit them,
    and a grid's factors are usable."""
    params = parse_options(spec.options)
    params.check_styles(len(spec.styles))
    if spec.grid:
        if len(spec.grid) > MAX_GRID_CELLS or not all(0 < f < 1e6 for f in spec.grid):
            raise ParamError(msg("job.bad_grid", cells=MAX_GRID_CELLS))
        if spec.start_image is not None:
            raise ParamError(msg("job.grid_upscale"))
        parse_options({"style_weight": params.style_weight * max(spec.grid)})  # still within bounds
    if (spec.grid or spec.start_image is not None) and is_animation(spec.content):
        raise ParamError(msg("job.still_only"))
    return params


def check_attempts(attempts: int) -> Outcome | None:
    """The outcome of a job started for the ``attempts``-th time, if it must not run again."""
    if attempts > MAX_ATTEMPTS:
        return Outcome.failed("internal", msg("job.interrupted", count=attempts - 1))
    return None

"""What is checked before a job is queued, and before it starts again."""

from __future__ import annotations

from engine.errors import ParamError
from engine.jobs.contract import DRAFT_KINDS, MAX_GRID_CELLS, MAX_TRY_STYLES, JobSpec
from engine.jobs.runtime.outcome import Outcome
from engine.nst.media import is_animation
from engine.nst.params import StyleParams
from engine.texts import msg

MAX_ATTEMPTS = 3  # a job whose process died this many times while running it is given up on


def check_submission(spec: JobSpec) -> StyleParams:
    """What every queue checks before queueing anything: the options parse, the style images fit them,
    and a grid's factors are usable."""
    params = spec.params
    if spec.draft:
        check_draft(spec, params)
        return params
    params.check_styles(len(spec.styles))
    if spec.grid:
        if len(spec.grid) > MAX_GRID_CELLS or not all(0 < f < 1e6 for f in spec.grid):
            raise ParamError(msg("job.bad_grid", cells=MAX_GRID_CELLS))
        if spec.start_image is not None:
            raise ParamError(msg("job.grid_upscale"))
        params.replace(style_weight=params.style_weight * max(spec.grid))  # still within bounds
    if (spec.grid or spec.start_image is not None) and is_animation(spec.content):
        raise ParamError(msg("job.still_only"))
    return params


def check_draft(spec: JobSpec, params: StyleParams) -> None:
    """A draft job (quick, or a sheet of drafts) is one still photo and its styles, nothing else."""
    if spec.draft not in DRAFT_KINDS or spec.grid or spec.start_image is not None or is_animation(spec.content):
        raise ParamError(msg("job.draft_still"))
    if spec.draft == "try":
        if not 1 <= len(spec.styles) <= MAX_TRY_STYLES or len(spec.captions) != len(spec.styles):
            raise ParamError(msg("job.bad_try", most=MAX_TRY_STYLES))
    else:
        params.check_styles(len(spec.styles))


def check_attempts(attempts: int) -> Outcome | None:
    """The outcome of a job started for the ``attempts``-th time, if it must not run again."""
    if attempts > MAX_ATTEMPTS:
        return Outcome.failed("internal", msg("job.interrupted", count=attempts - 1))
    return None

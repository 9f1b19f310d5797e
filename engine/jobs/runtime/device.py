"""How a job runs on the device (blocking): decoded, painted, encoded, with its out-of-memory fall-backs."""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from engine.errors import ParamError
from engine.jobs.contract import JobResult, JobSpec, JobState
from engine.jobs.report import JobReport, Kind
from engine.jobs.runtime.checks import check_submission
from engine.jobs.runtime.control import Control
from engine.jobs.runtime.outcome import Outcome, failure, is_out_of_memory
from engine.nst.params import StyleParams
from engine.nst.types import Engine, Job
from engine.ops.logs import job_logger
from engine.texts import msg

if TYPE_CHECKING:
    from PIL import Image

log = logging.getLogger(__name__)

OOM_SHRINK = 0.7  # after running out of GPU memory, try once more at this fraction of the size
AUTO_BATCH_CUDA = 16  # jobs per batch on a GPU unless MAX_BATCH says otherwise (bench/throughput.py)


def run(spec: JobSpec, control: Control, *, job_id: str | None = None, device: str | None = None,
        max_pixels: int | None = None, preview_every: int = 0, stylizer: Engine | None = None,
        compile: str = "off") -> Outcome:
    """Decode, validate, stylize and encode one job (blocking); every failure becomes an Outcome. Never raises.

    ``device`` (a worker's own) overrides the option; ``max_pixels`` caps the output; ``stylizer``
    replaces the shared one of the job's backbone (tests inject faults this way); ``compile`` is the
    shared one's torch.compile mode (engine.nst.stylize.COMPILE_MODES).
    """
    jlog = job_logger(log, job_id)
    t0 = time.perf_counter()
    options, shrunk = dict(spec.options), None
    while True:
        try:
            result = _render(replace(spec, options=options), control, device, max_pixels, preview_every,
                             stylizer, compile)
        except Exception as exc:  # noqa: BLE001 - one job's failure must never reach the queue
            if not is_out_of_memory(exc):
                return failure(exc, control, jlog)
            size = replace(spec, options=options).params.size
            _free_gpu_memory()
            if shrunk is not None or size <= 16:
                jlog.warning("out of GPU memory at size %d", size)
                return Outcome.failed("oom", msg("job.oom", size=size))
            shrunk = (size, max(16, int(size * OOM_SHRINK)))
            jlog.warning("out of GPU memory at size %d; retrying at %d", *shrunk)
            options["size"] = shrunk[1]
            continue
        if shrunk is not None:
            result = replace(result, report=result.report.with_figures(
                oom_retry={"from_size": shrunk[0], "to_size": shrunk[1]}))
        return Outcome(JobState.DONE, result=result, seconds=time.perf_counter() - t0)


def run_batch(specs: list[JobSpec], controls: list[Control], *, job_ids: list[str | None] | None = None,
              device: str | None = None, max_pixels: int | None = None, preview_every: int = 0,
              stylizer: Engine | None = None, compile: str = "off") -> list[Outcome]:
    """Jobs of one :func:`engine.jobs.paint.batch_key` as one batch (blocking); each ends on its own. Never raises.

    A batch that fails as a whole (out of memory, most likely) is run again one job at a time, each
    with :func:`run`'s own retry, so no job pays for its neighbours.
    """
    alone = {"device": device, "max_pixels": max_pixels, "preview_every": preview_every, "stylizer": stylizer,
             "compile": compile}
    if len(specs) == 1:
        return [run(specs[0], controls[0], job_id=(job_ids or [None])[0], **alone)]
    ids = job_ids or [None] * len(specs)
    outcomes: dict[int, Outcome] = {}
    jobs: dict[int, Job] = {}
    for i, (spec, control) in enumerate(zip(specs, controls)):
        try:
            jobs[i] = _job(spec, control, device, max_pixels, preview_every)
        except Exception as exc:  # noqa: BLE001 - a bad job of the batch fails alone
            outcomes[i] = failure(exc, control, job_logger(log, ids[i]))
    t0 = time.perf_counter()
    try:
        engine = _engine(stylizer, next(iter(jobs.values())).params, compile) if jobs else None
        results = engine.stylize_many(list(jobs.values())) if engine is not None else []
    except Exception as exc:  # noqa: BLE001 - the batch as a whole failed: every job tries alone
        log.warning("a batch of %d failed (%s); running its jobs one by one", len(jobs), type(exc).__name__)
        _free_gpu_memory()
        for i in jobs:
            outcomes[i] = run(specs[i], controls[i], job_id=ids[i], **alone)
        return [outcomes[i] for i in range(len(specs))]
    seconds = time.perf_counter() - t0
    for i, result in zip(jobs, results):
        if isinstance(result, BaseException):
            outcomes[i] = failure(result, controls[i], job_logger(log, ids[i]))
        else:
            outcomes[i] = _done(*result, seconds)
    return [outcomes[i] for i in range(len(specs))]


def auto_batch(device: str) -> int:
    """How many waiting jobs of one shape to run as one batch on ``device`` (auto, cpu, cuda:N, ...).

    A GPU has room for many (one pass for all pays for its launch and sync overheads); on a CPU a
    step of one job already fills the cores, so jobs run one by one.
    """
    from engine.nst.stylize import resolve_device  # loads torch: call it where the engine runs

    return AUTO_BATCH_CUDA if resolve_device(device).type == "cuda" else 1


def _render(spec: JobSpec, control: Control, device: str | None, max_pixels: int | None, preview_every: int,
            stylizer: Engine | None, compile: str) -> JobResult:
    from engine.jobs.paint import render  # torch and the weights load only once a job runs

    params = _params(spec, device, max_pixels)
    if spec.draft:  # a quick draft or a sheet of them: one network pass each, no torch, no VGG19
        from engine.jobs.drafts import render_draft

        return render_draft(spec, params, on_progress=control.on_progress, should_cancel=control.should_cancel)
    if preview_every > 0:  # the first look: a draft, before the VGG19 weights (and torch) even load
        from engine.jobs.drafts import first_look

        first_look(spec, params, control.on_progress)
    return render(_engine(stylizer, params, compile), spec, params, on_progress=control.on_progress,
                  should_cancel=control.should_cancel, preview_every=preview_every)


def _params(spec: JobSpec, device: str | None, max_pixels: int | None) -> StyleParams:
    """The job's parameters, checked against what this worker runs and allows."""
    params = check_submission(spec)
    if device is not None:
        params = params.replace(device=device)
    if max_pixels and params.size * params.size > max_pixels:
        raise ParamError(msg("job.too_large", size=params.size, side=int(max_pixels ** 0.5)))
    return params


def _job(spec: JobSpec, control: Control, device: str | None, max_pixels: int | None, preview_every: int) -> Job:
    """The engine's Job of one batch member: options checked against the worker, images decoded."""
    from engine.jobs.paint import batch_member

    return batch_member(spec, _params(spec, device, max_pixels), on_progress=control.on_progress,
                        should_cancel=control.should_cancel, preview_every=preview_every)


def _engine(stylizer: Engine | None, params: StyleParams, compile: str) -> Engine:
    from engine.nst.stylize import get_stylizer

    return stylizer or get_stylizer(params.backbone, compile)


def _done(image: Image.Image, report: dict[str, Any], seconds: float) -> Outcome:
    from engine.jobs.paint import result

    return Outcome(JobState.DONE, result=result(image, JobReport.from_dict(report, Kind.PAINTING)), seconds=seconds)


def _free_gpu_memory() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()

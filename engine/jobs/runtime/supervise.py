"""How a running job is supervised: its thread, its published progress, its time limit, its count."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

from engine.jobs.contract import JobSpec, JobState
from engine.jobs.runtime.checks import check_attempts
from engine.jobs.runtime.control import Control
from engine.jobs.runtime.device import run_batch
from engine.jobs.runtime.outcome import Outcome, stopped
from engine.jobs.runtime.texts import english, msg
from engine.nst.types import Progress
from engine.ops import metrics
from engine.ops.logs import JobLogAdapter, job_logger

log = logging.getLogger(__name__)

PUBLISH_EVERY_S = 0.2  # progress leaves the engine thread at most this often
STOP_GRACE_S = 30.0  # a job past its time limit that has not stopped by then is given up on

Publish = Callable[[Control], Awaitable[None]]  # awaited with the control when its progress changed


@dataclass
class Task:
    """One job handed to :func:`execute_batch`: what to run, its control, and where its progress goes."""

    spec: JobSpec
    control: Control
    job_id: str
    attempts: int = 1  # how many times it has been started, this time included
    publish: Publish | None = None  # awaited with the control when its progress changed


async def execute_batch(tasks: list[Task], *, executor: Executor | None = None, **run_options: Any) -> list[Outcome]:
    """Run jobs of one batch key as one batch in ``executor``; publish progress, enforce time limits, count them.

    Each task's ``publish`` is awaited at most every :data:`PUBLISH_EVERY_S` while its progress
    changes. A job past its time limit is stopped at its next step; one that has not stopped
    :data:`STOP_GRACE_S` later is abandoned (a thread cannot be killed) and reported as timed out,
    while the rest of its batch goes on. A job started for the ``attempts``-th time may not run at
    all (:func:`check_attempts`). ``run_options`` are :func:`run`'s.
    """
    outcomes: dict[int, Outcome] = {}
    for i, task in enumerate(tasks):
        refused = _refusal(task.spec, task.control, task.attempts)
        if refused is not None:
            _count(refused, job_logger(log, task.job_id))
            outcomes[i] = refused
    live = [i for i in range(len(tasks)) if i not in outcomes]
    if live:
        await _supervise([tasks[i] for i in live], live, outcomes, executor, run_options)
    for i in live:
        jlog = job_logger(log, tasks[i].job_id)
        if tasks[i].control.interrupted:  # not over: it runs again later, and is counted then
            jlog.info("stopped (%s); it runs again later", tasks[i].control.reason)
        else:
            _count(outcomes[i], jlog)
    return [outcomes[i] for i in range(len(tasks))]


async def _supervise(tasks: list[Task], where: list[int], outcomes: dict[int, Outcome], executor: Executor | None,
                     run_options: dict[str, Any]) -> None:
    """Run the batch's thread; meanwhile publish progress and watch the time limits."""
    for task in tasks:
        job_logger(log, task.job_id).info("started" + (f" in a batch of {len(tasks)}" if len(tasks) > 1 else ""))
        metrics.job_started()
    specs, controls = [t.spec for t in tasks], [t.control for t in tasks]
    thread = asyncio.get_running_loop().run_in_executor(
        executor, lambda: run_batch(specs, controls, job_ids=[t.job_id for t in tasks], **run_options))
    sent: list[Progress | None] = [None] * len(tasks)
    while True:
        done, _ = await asyncio.wait({thread}, timeout=PUBLISH_EVERY_S)
        if done:
            for i, outcome in zip(where, thread.result()):
                outcomes.setdefault(i, outcome)
            return
        for k, task in enumerate(tasks):
            if where[k] in outcomes:
                continue
            if task.publish is not None and task.control.latest is not sent[k]:
                sent[k] = task.control.latest
                await task.publish(task.control)
            task.control.should_cancel()  # a step can take long: do not wait for the engine to notice
            if task.control.overdue_by() > STOP_GRACE_S:
                job_logger(log, task.job_id).error("did not stop %g s after its time limit; abandoning it",
                                                   STOP_GRACE_S)
                outcomes[where[k]] = Outcome.failed("timeout", task.control.reason)
        if all(i in outcomes for i in where):
            return


def _refusal(spec: JobSpec, control: Control, attempts: int) -> Outcome | None:
    """The outcome of a job that must not start at all."""
    if control.stopping:  # cancelled between being taken and starting
        return stopped(control)
    if not spec.content:  # the Redis queue's inputs expired while it waited
        return Outcome.failed("input", msg("job.expired"))
    return check_attempts(attempts)


def _count(outcome: Outcome, jlog: JobLogAdapter) -> None:
    if outcome.state is JobState.DONE:
        assert outcome.result is not None
        metrics.job_finished(outcome.seconds, outcome.result.report.steps)
        jlog.info("done in %.1f s", outcome.seconds)
    else:
        metrics.job_failed(outcome.reason or "internal")
        jlog.info("%s: %s", outcome.state.value, outcome.error and english(outcome.error))

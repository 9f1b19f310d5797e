"""Settings for tests' queues: the defaults of the settings models, whatever a developer's ``.env`` says."""

from __future__ import annotations

from typing import Any

from engine.jobs.settings import QueueSettings, RunnerSettings


def queue_settings(**values: Any) -> QueueSettings:
    """``QueueSettings`` with ``values`` over its defaults; no ``.env`` file is read."""
    return QueueSettings(_env_file=None, **values)


def runner_settings(**values: Any) -> RunnerSettings:
    """``RunnerSettings`` with ``values`` over its defaults, but jobs one at a time unless ``max_batch`` is
    given: the tests that watch the fair order, or hold one job at a gate, count on it even on a GPU host."""
    return RunnerSettings(_env_file=None, **{"max_batch": 1, **values})

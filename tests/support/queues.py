"""Queue settings for tests: the defaults of :class:`QueueSettings`, whatever a developer's ``.env`` says."""

from __future__ import annotations

from typing import Any

from engine.jobs.settings import QueueSettings


def queue_settings(**values: Any) -> QueueSettings:
    """``QueueSettings`` with ``values`` over its defaults; no ``.env`` file is read."""
    return QueueSettings(_env_file=None, **values)

"""A worker's settings: the queue's and the runner's (shared with the bot), and its own (Redis, lease, ...).

Its own module so that the worker and :mod:`engine.jobs.redis.runner`, which both read it, import
it without importing each other.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from engine.jobs.settings import QueueSettings, RunnerSettings
from engine.ops.settings import ProcessSettings


class WorkerSettings(ProcessSettings, QueueSettings, RunnerSettings):
    """Every setting of a worker: environment (``REDIS_URL=...``) or flags (``--redis-url ...``), flags win.

    The queue's settings are the bot's (:class:`~engine.jobs.settings.QueueSettings`): a worker reads
    ``QUEUE_NAME``, and ``JOB_TIME_LIMIT_S`` and ``RESULT_TTL_S`` for jobs queued without them; the caps
    are checked by the bot when it submits, and each job carries the bot's limit and TTL. How jobs run
    on this worker's device (``DEVICE``, ``MAX_BATCH``, ``COMPILE``) is
    :class:`~engine.jobs.settings.RunnerSettings`, as for a bot that paints itself.
    """

    model_config = SettingsConfigDict(cli_kebab_case=True, cli_prog_name="python -m engine.worker")

    redis_url: str = Field("redis://127.0.0.1:6379/0", description="Redis of the queue (REDIS_URL)")
    max_pixels: int | None = Field(None, ge=256, description="refuse jobs whose output has more pixels")
    concurrency: int = Field(1, ge=1, le=64, description="jobs at a time on this device")
    lease_s: float = Field(15.0, gt=0, description="seconds after which a vanished worker's job runs elsewhere")
    grace_s: float = Field(20.0, ge=0, description="on SIGTERM, seconds running jobs may finish before they "
                                                   "are handed back")
    poll_delay_s: float = Field(0.25, gt=0, description="seconds between polls of the queue")
    heartbeat_s: float = Field(2.0, gt=0, description="seconds between advertisements; a worker silent for "
                                                      "3 of them counts as gone")

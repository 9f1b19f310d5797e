"""The queue's settings: one model that the bot and every worker read, and both queues take whole.

Limits and lifetimes written once, so the in-process queue, the Redis queue and its workers
cannot drift apart. Process-specific settings (how many jobs a worker runs at once, its lease,
the bot's previews) stay with their process; :class:`~bot.settings.BotSettings` and
:class:`~engine.jobs.redis.worker.WorkerSettings` inherit these fields, so the variables
(``PER_USER_LIMIT``, ``MAX_QUEUE``, ``JOB_TIME_LIMIT_S``, ``QUEUE_NAME``, ...) mean the same
everywhere. Torch-free: a bot in Redis mode imports it.
"""

from __future__ import annotations

from pydantic import Field

from engine.ops.settings import EnvSettings

DAY_S = 24 * 3600


class QueueSettings(EnvSettings):
    """What a queue holds to: its name, its caps, a job's time limit, how long Redis keeps a job's data."""

    queue_name: str = Field("stylebot", min_length=1,
                            description="Redis queue: prefix of its keys; the bot and its workers must agree")
    per_user_limit: int = Field(3, ge=1, description="jobs one user may have queued or running, all guilds")
    max_queue: int = Field(50, ge=1, description="jobs queued or running in total; more are refused as busy")
    job_time_limit_s: float = Field(900.0, gt=0, description="a job running longer is stopped")
    result_ttl_s: int = Field(DAY_S, ge=60, description="Redis queue: seconds a result is kept after its job ends")
    input_ttl_s: int = Field(DAY_S, ge=60, description="Redis queue: most seconds a waiting job's images are kept")

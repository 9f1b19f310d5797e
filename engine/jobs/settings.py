"""The settings of the queues and of the processes that run their jobs, each written once.

* :class:`QueueSettings` - what a queue holds to (its name, caps, time limit, TTLs): the bot and
  every worker read it, and both queues take it whole.
* :class:`RunnerSettings` - how jobs run on this process's device (device, batches, torch.compile):
  read by whichever process paints, the bot on its local queue or a Redis worker, and taken
  whole by :class:`~engine.jobs.local.LocalJobQueue` and the worker.

:class:`~bot.core.settings.BotSettings` and :class:`~engine.jobs.redis.settings.WorkerSettings` inherit
both, so the variables (``PER_USER_LIMIT``, ``QUEUE_NAME``, ``DEVICE``, ``MAX_BATCH``, ...) mean
the same everywhere and cannot drift apart. What stays with one process stays there: how many
jobs run at once (the bot's ``WORKERS``, a worker's ``CONCURRENCY``), a worker's lease, and the
previews, which the bot asks for and each job carries to its worker. Torch-free: a bot in Redis
mode imports it.
"""

from __future__ import annotations

from typing import Literal

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


# the modes of engine.nst.stylize.COMPILE_MODES an operator may choose
CompileMode = Literal["off", "default", "reduce-overhead", "max-autotune"]


class RunnerSettings(EnvSettings):
    """How jobs run on this process's device: which device, how many in one batch, compiled or not."""

    # checked by its form here, at start and before any login (torch says later whether it exists)
    device: str = Field("auto", pattern=r"^(auto|cpu|mps|cuda(:\d+)?)$",
                        description="torch device that runs the jobs: auto (cuda > mps > cpu), cpu, cuda, cuda:N or mps")
    max_batch: int | None = Field(None, ge=1, le=256,
                                  description="waiting jobs of the same shapes run as one batch, up to this "
                                              "many (unset: 16 on CUDA, else 1)")
    compile: CompileMode = Field("off", description="torch.compile the VGG19 feature stack")

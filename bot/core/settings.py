"""Process-wide settings of the bot, read from the environment or a ``.env`` file.

Built once in :mod:`bot.__main__` and passed into constructors; nothing here is
instantiated at import time, so tests build a :class:`BotSettings` by hand. The queue's
settings (caps, time limit, queue name, TTLs) are :class:`~engine.jobs.settings.QueueSettings`
and how the local queue runs its jobs (device, batches, compile) is
:class:`~engine.jobs.settings.RunnerSettings`; the workers read both too, and a :class:`BotSettings`
is each of them, handed to the queue whole.
Per-guild settings (what server admins change) live in :mod:`bot.core.store`; the
``default_*`` values below are what a guild gets until its admins change them.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr

from engine.jobs.settings import QueueSettings, RunnerSettings
from engine.nst.params import FIELDS
from engine.ops.settings import ProcessSettings

MIB = 2**20


class BotSettings(ProcessSettings, QueueSettings, RunnerSettings):
    """Every setting, its default and meaning (mirrored in ``.env.example``); logs, metrics, the queue's
    settings and how the local queue runs its jobs (device, batches, compile) are inherited."""

    discord_token: SecretStr | None = Field(None, description="the bot token (Discord developer portal)")
    command_prefix: str = Field("!", description="prefix of the text commands (!style, !stylehelp, ...)")
    database_path: str = Field("stylebot.sqlite3",
                               description="SQLite file of per-guild settings and of the local queue's jobs")
    sync_commands: bool = Field(True, description="register the slash commands with Discord once at start")

    redis_url: str | None = Field(None, description="set: jobs run on Redis workers, not in this process")
    workers: int = Field(1, ge=1, description="jobs run at once in this process (local queue)")
    drain_timeout_s: float = Field(60.0, ge=0, description="on SIGTERM, how long running jobs may finish")

    progress_interval_s: float = Field(2.0, ge=0.5, description="least time between two status edits")
    preview: bool = Field(True, description="show a small preview image in the status message")
    preview_every: int = Field(10, ge=1, description="steps between preview images (when preview is on)")

    max_attachment_bytes: int = Field(25 * MIB, ge=1, description="largest input file (declared size)")
    max_styles: int = Field(3, ge=1, le=8, description="most style images one job may blend")
    target_job_s: float = Field(
        60.0, gt=0, description="a job that names no size (nor its server) gets the largest of 256, 384, 512, "
                                "768, 1024 px (up to max_size) predicted to take at most this long here")
    allow_dms: bool = Field(True, description="accept jobs in direct messages")
    default_library_limit: int = Field(50, ge=1, description="most saved styles per guild, for guilds that set none")
    library_max_bytes: int = Field(8 * MIB, ge=1024, description="largest painting one saved style may be")
    default_max_size: int = Field(
        1024, ge=FIELDS["size"].metadata["lo"], le=FIELDS["size"].metadata["hi"],
        description="largest output side, for guilds that set none",
    )
    default_max_steps: int = Field(
        500, ge=1, le=FIELDS["steps"].metadata["hi"],
        description="most steps per level, for guilds that set none",
    )
    # Animated content (GIF/WebP/APNG, MP4/WebM/MOV): servers may lower these, not raise them.
    max_frames: int = Field(48, ge=2, le=480, description="most frames of an animated input")
    max_duration_s: float = Field(10.0, gt=0, le=120, description="longest animated input, in seconds")
    animation_format: Literal["webp", "gif"] = Field(
        "webp", description="result format of GIF/WebP/APNG inputs unless a job asks (clips give MP4)")

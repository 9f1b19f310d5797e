"""Settings every stylebot process shares, and those of the health check (pydantic-settings).

Each process builds its settings once in its ``__main__`` and passes them in; nothing here is
instantiated at import time. Values come from the environment or a ``.env`` file (names are
case-insensitive); :class:`HealthSettings` and the worker's settings also read command-line
flags (``--metrics-port 9100``), which win over the environment.
"""

from __future__ import annotations

import sys
from typing import Any, Literal, TypeVar

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

S = TypeVar("S", bound=BaseSettings)


def load_settings(cls: type[S], **kwargs: Any) -> S:
    """``cls(**kwargs)``, or a one-line message naming the bad setting and exit status 2 (no traceback)."""
    try:
        return cls(**kwargs)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = ".".join(map(str, first["loc"])).upper()
        print(f"{cls.model_config.get('cli_prog_name') or 'stylebot'}: invalid setting {name}: {first['msg']}",
              file=sys.stderr)
        raise SystemExit(2) from None


class EnvSettings(BaseSettings):
    """The base of every settings class: the environment, then ``.env``; unknown names are ignored."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")


class ProcessSettings(EnvSettings):
    """Logs and metrics: the same variables, the same meaning, in the bot and in every worker."""

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", description="log verbosity")
    log_format: Literal["text", "json"] = Field("text", description="text lines, or JSON lines for log shippers")
    metrics_port: int | None = Field(None, ge=0, le=65535,
                                     description="serve Prometheus metrics on this port (unset: off)")

    @field_validator("log_level", mode="before")
    @classmethod
    def _any_case(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value


class HealthSettings(EnvSettings):
    """``python -m engine.ops.health``: which process to ask, and how old its heartbeat may be."""

    model_config = SettingsConfigDict(cli_kebab_case=True, cli_prog_name="python -m engine.ops.health")

    metrics_port: int | None = Field(None, ge=0, le=65535,
                                     description="metrics port of the process to check (unset: metrics off, pass)")
    max_age_s: float = Field(90.0, gt=0, description="seconds the last heartbeat may be old")

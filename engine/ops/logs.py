"""Logging for the bot and the workers: readable lines by default, JSON lines for log shippers.

Call :func:`setup_logging` once in ``__main__``. Every record then

* carries ``job_id`` (``None`` unless given) and whatever else a call site adds, shown in both
  formats::

      log.info("job %s started", job.id, extra={"job_id": job.id})
      jlog = job_logger(log, job.id, guild_id=42); jlog.info("started")   # [job=ab12 guild_id=42]

* has registered secrets (:func:`register_secret`), strings matching registered patterns
  (:func:`register_pattern`; the bot registers the shape of a Discord token) and passwords in
  URLs (``redis://:pw@host``) replaced by ``[REDACTED]``;
* never contains raw bytes: a bytes argument is shown as ``<N bytes>`` (an image
  logged by mistake must not flood the log or leak the picture).
"""

from __future__ import annotations

import datetime as dt
import json as jsonlib
import logging
import re
import sys
import threading
from collections.abc import Mapping, MutableMapping
from typing import Any, TextIO

REDACTED = "[REDACTED]"
CONTEXT_FIELDS = ("job_id",)
URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@\s/]+(?=@)", re.IGNORECASE)
MIN_SECRET_LEN = 4  # shorter "secrets" would blank out ordinary words

_secrets: set[str] = set()
_patterns: list[re.Pattern[str]] = []
_secrets_lock = threading.Lock()
_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def register_secret(value: str | None) -> None:
    """Never log ``value`` (a token, a password); values shorter than 4 characters are ignored."""
    if value and len(value) >= MIN_SECRET_LEN:
        with _secrets_lock:
            _secrets.add(value)


def register_pattern(pattern: re.Pattern[str]) -> None:
    """Never log anything matching ``pattern`` (the shape of a credential, e.g. a Discord token)."""
    with _secrets_lock:
        if pattern not in _patterns:
            _patterns.append(pattern)


def redact(text: str) -> str:
    """``text`` with registered secrets and patterns, and URL passwords, replaced by ``[REDACTED]``."""
    for secret in sorted(_secrets, key=len, reverse=True):  # longest first: a secret may contain another
        if secret in text:
            text = text.replace(secret, REDACTED)
    for pattern in _patterns:
        text = pattern.sub(REDACTED, text)
    return URL_PASSWORD.sub(lambda m: m.group("head") + REDACTED, text)


class _Bytes:
    """Stands in for a bytes argument: formats as ``<N bytes>`` under %s and %r alike."""

    def __init__(self, n: int):
        self.text = f"<{n} bytes>"

    def __str__(self) -> str:
        return self.text

    __repr__ = __str__


def _no_bytes(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return _Bytes(value.nbytes if isinstance(value, memoryview) else len(value))
    return value


class SafeRecordFilter(logging.Filter):
    """Adds the context fields and makes the message safe: no bytes, no secrets.

    The message is rendered once here and stored back without args, so every handler
    after this one (files, Sentry, pytest's capture) sees only the cleaned text.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        for name in CONTEXT_FIELDS:
            if not hasattr(record, name):
                setattr(record, name, None)
        record.msg = _no_bytes(record.msg)
        if isinstance(record.args, Mapping):
            record.args = {k: _no_bytes(v) for k, v in record.args.items()}
        elif record.args:
            record.args = tuple(_no_bytes(a) for a in record.args)
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string must not lose the record
            message = f"{record.msg!s} {record.args!r}"
        record.msg, record.args = redact(message), None
        return True


class HumanFormatter(logging.Formatter):
    """``2026-01-01 12:00:00,000 INFO engine.jobs.runtime [job=ab12 guild_id=42] started``."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(context)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        parts = [f"job={record.job_id}"] if getattr(record, "job_id", None) is not None else []
        parts += [f"{key}={_no_bytes(value)}" for key, value in _extras(record).items()]
        record.context = f" [{' '.join(parts)}]" if parts else ""
        return redact(super().format(record))  # again: tracebacks are rendered only here


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message, job_id, any extra (e.g. guild_id), exc."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in CONTEXT_FIELDS:
            entry[name] = getattr(record, name, None)
        for key, value in _extras(record).items():
            entry.setdefault(key, value)  # an extra named like a core field must not replace it
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return jsonlib.dumps(_clean(entry), ensure_ascii=False, default=lambda v: redact(str(_no_bytes(v))))


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    """Fields a call site passed in ``extra=`` beyond job_id."""
    return {key: value for key, value in vars(record).items()
            if key not in _STANDARD_ATTRS and key not in CONTEXT_FIELDS and key != "context" and not key.startswith("_")}


def _clean(value: Any) -> Any:
    """Redact strings and replace bytes at any depth (before json escapes them, so secrets still match)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return str(_no_bytes(value))
    if isinstance(value, Mapping):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


class JobLogAdapter(logging.LoggerAdapter):
    """A logger that stamps ``job_id`` (and more context) on every record, merged with any call-site ``extra``."""

    def process(self, msg: Any, kwargs: MutableMapping[str, Any]) -> tuple[Any, MutableMapping[str, Any]]:
        kwargs["extra"] = {**(self.extra or {}), **kwargs.get("extra", {})}
        return msg, kwargs


def job_logger(logger: logging.Logger | logging.LoggerAdapter, job_id: str | None, **context: Any) -> JobLogAdapter:
    """``logger`` stamping ``job_id`` and ``context`` (e.g. ``guild_id=42``) on every record."""
    return JobLogAdapter(logger, {"job_id": job_id, **{k: v for k, v in context.items() if v is not None}})


class _StylebotHandler(logging.StreamHandler):
    """Marks the handler setup_logging installed, so calling it again replaces rather than doubles it."""


def setup_logging(level: str | int = "INFO", json: bool = False, *, stream: TextIO | None = None) -> logging.Handler:
    """Send every logger's records to ``stream`` (stderr) as readable lines, or JSON lines with ``json=True``.

    Idempotent; returns the installed handler.
    """
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _StylebotHandler)]:
        root.removeHandler(old)
    handler = _StylebotHandler(stream or sys.stderr)
    handler.addFilter(SafeRecordFilter())
    handler.setFormatter(JsonFormatter() if json else HumanFormatter())
    root.addHandler(handler)
    root.setLevel(level.upper() if isinstance(level, str) else level)
    logging.captureWarnings(True)
    return handler

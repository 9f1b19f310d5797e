"""What reaches the log: context fields in both formats, and never a token, a secret or raw bytes."""

from __future__ import annotations

import io
import json
import logging
import re
import uuid

import pytest

from engine.ops.logs import REDACTED, job_logger, register_pattern, register_secret, setup_logging

# A credential of some service, and its shape (the bot registers the shape of a Discord token).
TOKEN = "sk-" + "T" * 8 + "." + "k" * 30
register_pattern(re.compile(r"sk-[A-Za-z0-9]{8}\.[A-Za-z0-9]{30}"))


@pytest.fixture
def capture():
    """setup_logging into a buffer; returns (buffer, logger) and restores the root logger afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    buffers = []

    def make(json_lines: bool = False):
        buf = io.StringIO()
        setup_logging("DEBUG", json=json_lines, stream=buf)
        buffers.append(buf)
        return buf, logging.getLogger(f"tests.ops.{uuid.uuid4().hex[:6]}")

    yield make
    root.handlers[:] = handlers
    root.setLevel(level)


def json_lines(buf: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in buf.getvalue().splitlines()]


def test_json_lines_carry_job_id_and_guild_id(capture):
    buf, log = capture(json_lines=True)
    log.info("job %s started", "ab12", extra={"job_id": "ab12", "guild_id": 42})
    job_logger(log, "cd34", guild_id=7).warning("queued at %d", 3, extra={"user_id": 9})
    first, second = json_lines(buf)
    assert (first["job_id"], first["guild_id"], first["message"]) == ("ab12", 42, "job ab12 started")
    assert (second["job_id"], second["guild_id"], second["user_id"]) == ("cd34", 7, 9)
    assert second["level"] == "WARNING" and first["ts"].endswith("+00:00")


def test_lines_without_a_job_have_null_context_in_json_and_none_shown_in_text(capture):
    buf, log = capture(json_lines=True)
    log.info("ready")
    assert json_lines(buf)[0]["job_id"] is None
    text, log = capture()
    log.info("ready")
    assert "[" not in text.getvalue() and text.getvalue().rstrip().endswith("ready")


def test_human_lines_show_the_job_and_its_context(capture):
    buf, log = capture()
    job_logger(log, "ab12", guild_id=42).info("done in %.1fs", 3.14)
    line = buf.getvalue()
    assert "[job=ab12 guild_id=42]" in line and line.rstrip().endswith("done in 3.1s")


@pytest.mark.parametrize("as_json", [False, True])
def test_registered_patterns_and_secrets_are_redacted(capture, as_json):
    secret = f"s3cr3t-{uuid.uuid4().hex}"
    register_secret(secret)
    buf, log = capture(json_lines=as_json)
    log.info("login with %s", TOKEN)
    log.info(f"inline token {TOKEN} and secret {secret}")
    log.warning("connect failed", extra={"job_id": "j1", "url": f"redis://:{secret}@redis:6379/0"})
    out = buf.getvalue()
    assert TOKEN not in out and secret not in out
    assert out.count(REDACTED) == 4


@pytest.mark.parametrize("as_json", [False, True])
def test_tracebacks_are_redacted_too(capture, as_json):
    buf, log = capture(json_lines=as_json)
    try:
        raise RuntimeError(f"401 Unauthorized for token {TOKEN}")
    except RuntimeError:
        log.exception("login failed")
    out = buf.getvalue()
    assert "RuntimeError" in out and TOKEN not in out and REDACTED in out


def test_a_secret_with_json_special_characters_is_still_redacted_in_json(capture):
    secret = f'pa"ss\\{uuid.uuid4().hex[:8]}'
    register_secret(secret)
    buf, log = capture(json_lines=True)
    log.info("password is %s", secret)
    assert json_lines(buf)[0]["message"] == f"password is {REDACTED}"


def test_short_values_are_not_registered_as_secrets(capture):
    register_secret("ab")
    buf, log = capture()
    log.info("abacus")
    assert "abacus" in buf.getvalue()


@pytest.mark.parametrize("as_json", [False, True])
def test_bytes_are_logged_as_their_length_only(capture, as_json):
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
    buf, log = capture(json_lines=as_json)
    log.info("got upload %s (%r)", png, bytearray(b"xyz"))
    log.info(b"raw bytes as the message")
    log.info("mapping %(img)s", {"img": png})
    log.info("extra", extra={"job_id": "j", "blob": png})
    out = buf.getvalue()
    assert f"<{len(png)} bytes>" in out and "<3 bytes>" in out and "<24 bytes>" in out
    assert "PNG" not in out and "x89" not in out and "xyz" not in out and "raw bytes" not in out
    assert out.count(f"<{len(png)} bytes>") == 3


def test_setup_logging_twice_replaces_its_handler_instead_of_doubling_lines(capture):
    first, log = capture()
    second, _ = capture(json_lines=True)
    log.info("once")
    assert first.getvalue() == ""
    assert len(json_lines(second)) == 1


def test_level_is_applied(capture):
    buf = io.StringIO()
    setup_logging("WARNING", stream=buf)
    logging.getLogger("tests.ops.level").info("hidden")
    logging.getLogger("tests.ops.level").warning("shown")
    assert "hidden" not in buf.getvalue() and "shown" in buf.getvalue()

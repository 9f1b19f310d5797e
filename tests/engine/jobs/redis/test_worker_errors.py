"""How the worker turns engine failures into reasons a user can read (engine call faked, no Redis).

A CPU cannot run out of GPU memory on demand, so ``run_job`` is replaced by a stand-in that
raises what CUDA would; everything else is the worker's real code.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from engine.jobs.redis import worker
from engine.errors import InputError
from engine.jobs import JobResult


def outcome_of(monkeypatch: pytest.MonkeyPatch, fake: Any, size: int = 512) -> tuple[worker._Outcome, list[int]]:
    sizes: list[int] = []

    def run_job(content: bytes, styles: Any, options: dict[str, Any], **kwargs: Any) -> JobResult:
        sizes.append(options["size"])
        return fake(options["size"])

    monkeypatch.setattr(worker, "run_job", run_job)
    w = worker.StyleWorker("redis://unused", device="cpu")
    spec = worker._Spec({"size": size, "steps": 3}, 0, 0, 60, "", b"content", [b"style"])
    return w._run_blocking(worker._Run("job-42", worker.job_logger(worker.log, "job-42")), spec), sizes


def oom(message: str = "CUDA out of memory. Tried to allocate 2.00 GiB") -> RuntimeError:
    return RuntimeError(message)


def test_out_of_memory_is_retried_once_at_a_smaller_size(monkeypatch: pytest.MonkeyPatch) -> None:
    def fake(size: int) -> JobResult:
        if size > 400:
            raise oom()
        return JobResult(b"png", {"steps": 3})

    outcome, sizes = outcome_of(monkeypatch, fake)
    assert sizes == [512, 358]
    assert outcome.state == "done"
    assert outcome.report == {"steps": 3, "oom_retry": {"from_size": 512, "to_size": 358}}


def test_out_of_memory_twice_fails_with_a_clear_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    def fake(size: int) -> JobResult:
        raise oom()

    outcome, sizes = outcome_of(monkeypatch, fake)
    assert sizes == [512, 358]
    assert (outcome.state, outcome.error) == ("failed", "the GPU ran out of memory even at size 358; "
                                                        "try a smaller size")


def test_bad_input_fails_with_the_engines_message(monkeypatch: pytest.MonkeyPatch) -> None:
    def fake(size: int) -> JobResult:
        raise InputError("that file is empty (0 bytes); please attach the image again")

    outcome, sizes = outcome_of(monkeypatch, fake)
    assert (outcome.state, outcome.error) == ("failed", "that file is empty (0 bytes); please attach the image again")
    assert sizes == [512]


def test_an_unexpected_error_is_logged_with_the_job_id_and_hidden_from_the_user(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    def fake(size: int) -> JobResult:
        raise KeyError("secret internals")

    with caplog.at_level(logging.ERROR, logger="engine.jobs.redis.worker"):
        outcome, _ = outcome_of(monkeypatch, fake)
    assert (outcome.state, outcome.error) == ("failed", "the worker hit an internal error")
    record = next(r for r in caplog.records if "job-42" in r.getMessage())
    assert record.exc_info is not None and "secret internals" in str(record.exc_info[1])

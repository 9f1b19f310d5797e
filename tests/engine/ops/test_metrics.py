"""Metrics as an operator sees them: scraped over HTTP from /metrics while real jobs run."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time

import pytest
import torch

from engine.errors import JobCancelled, JobDiverged, JobFailed, ParamError
from engine.jobs import JobSpec
from engine.jobs.local import LocalJobQueue
from engine.ops import health, metrics
from tests.support.images import noise_png
from tests.support.queues import queue_settings, runner_settings
from tests.support.scrape import (
    DEPTH,
    FINISHED,
    SECONDS_COUNT,
    STARTED,
    STEPS_COUNT,
    depth_settles_at_zero,
    failed,
    read,
    scrape,
)

TINY = {"size": 32, "steps": 2, "coarse_steps": 1}


async def run_one(queue_kwargs: dict, spec: JobSpec, **runner: str) -> None:
    queue = LocalJobQueue(queue_settings(), runner_settings(**runner), **queue_kwargs)
    await queue.start()
    try:
        handle = await queue.submit(spec)
        with pytest.raises((JobFailed, JobCancelled)):
            await handle.result()
    finally:
        await queue.close()


async def test_a_real_job_moves_started_finished_and_the_histograms_and_depth_returns_to_zero(port):
    before = await read(port)
    queue = LocalJobQueue(queue_settings(), runner_settings(device="cpu"), workers=1)
    await queue.start()
    try:
        handle = await queue.submit(JobSpec(noise_png(1), (noise_png(2),), dict(TINY), user_id=1, guild_id=7))
        assert (await read(port))[DEPTH] == 1
        result = await asyncio.wait_for(handle.result(), timeout=120)
        assert result.image.startswith(b"\x89PNG")
        assert await depth_settles_at_zero(port) == 0
    finally:
        await queue.close()
    after = await read(port)
    assert after[STARTED] == before[STARTED] + 1
    assert after[FINISHED] == before[FINISHED] + 1
    assert after[SECONDS_COUNT] == before[SECONDS_COUNT] + 1
    assert after[STEPS_COUNT] == before[STEPS_COUNT] + 1
    assert after[failed("internal")] == before[failed("internal")]


async def test_undecodable_image_bytes_count_as_an_input_failure(port):
    before = await read(port)
    await run_one({"workers": 1}, JobSpec(b"this is not an image", (noise_png(3),), dict(TINY)), device="cpu")
    after = await read(port)
    assert after[failed("input")] == before[failed("input")] + 1
    assert after[STARTED] == before[STARTED] + 1
    assert after[FINISHED] == before[FINISHED]
    assert after[DEPTH] == 0


class Failing:
    """An engine that fails the way ``error`` says (a CPU cannot run out of GPU memory on demand)."""

    def __init__(self, error: BaseException | None) -> None:
        self.error = error

    def stylize(self, *args: object, should_cancel, **kwargs: object) -> None:
        if self.error is not None:
            raise self.error
        while not should_cancel():  # hangs until cancelled or out of time
            time.sleep(0.01)
        raise JobCancelled("stopped")


@pytest.mark.parametrize(("error", "limit", "reason"), [
    (ParamError("style_blend has 2 weights for 1 style"), None, "params"),
    (torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"), None, "oom"),
    (JobDiverged(), None, "diverged"),
    (ZeroDivisionError("a bug"), None, "internal"),
    (None, 0.1, "timeout"),
])
async def test_each_failure_is_counted_under_its_reason(port, error, limit, reason):
    before = await read(port)
    await run_one({"stylizer": Failing(error)}, JobSpec(noise_png(1), (noise_png(2),), dict(TINY), time_limit_s=limit))
    after = await read(port)
    assert after[failed(reason)] == before[failed(reason)] + 1
    others = [r for r in metrics.REASONS if r != reason]
    assert [after[failed(r)] for r in others] == [before[failed(r)] for r in others]


async def test_cancelling_running_and_waiting_jobs_counts_them_cancelled(port):
    before = await read(port)
    queue = LocalJobQueue(queue_settings(), runner_settings(), stylizer=Failing(None))
    await queue.start()
    try:
        running = await queue.submit(JobSpec(noise_png(1), (noise_png(2),), dict(TINY), user_id=1))
        waiting = await queue.submit(JobSpec(noise_png(1), (noise_png(2),), dict(TINY), user_id=2))
        assert (await read(port))[DEPTH] == 2
        assert await waiting.cancel()
        assert await running.cancel()
        for handle in (running, waiting):
            with pytest.raises(JobCancelled):
                await handle.result()
        assert await depth_settles_at_zero(port) == 0
    finally:
        await queue.close()
    after = await read(port)
    assert after[failed("cancelled")] == before[failed("cancelled")] + 2
    assert after[STARTED] == before[STARTED] + 1  # the waiting one never started


def test_an_unknown_failure_reason_is_counted_as_internal_so_labels_stay_bounded(port):
    before = scrape(port)
    metrics.job_failed("user typed something odd")
    after = scrape(port)
    assert after[failed("internal")] == before[failed("internal")] + 1
    assert not [k for k in after if k[0] == "stylebot_jobs_failed_total" and dict(k[1])["reason"] not in metrics.REASONS]


def test_starting_the_server_twice_keeps_the_first(port):
    assert metrics.start_metrics_server(port, addr="127.0.0.1") == port
    assert metrics.start_metrics_server(0, addr="127.0.0.1") == port


def test_metrics_never_import_torch():
    code = ("import sys; from engine.ops import metrics; metrics.job_finished(1.0, 5); metrics.job_failed('oom'); "
            "sys.exit(1 if 'torch' in sys.modules else 0)")
    assert subprocess.run([sys.executable, "-c", code], check=False, timeout=60).returncode == 0


def test_health_check_passes_on_a_fresh_heartbeat_and_fails_on_a_stale_one_or_a_dead_port(port):
    metrics.heartbeat()
    assert health.check(port) is None
    metrics.HEARTBEAT.set(time.time() - 1000)
    try:
        assert "stuck" in health.check(port, max_age_s=90)
    finally:
        metrics.heartbeat()
    assert "did not answer" in health.check(1, timeout_s=1)
    assert health.main(["--metrics-port", "0"]) == 0
    assert health.main(["--metrics-port", str(port)]) == 0


async def test_heartbeat_task_refreshes_the_queue_depth(port):
    async def depth() -> int:
        return 5

    task = asyncio.create_task(metrics.heartbeat_forever(depth, interval=0.01))
    try:
        await asyncio.sleep(0.05)
        assert (await read(port))[DEPTH] == 5
    finally:
        task.cancel()
        metrics.set_queue_depth(0)


def test_gpu_peak_is_read_only_from_a_torch_that_already_uses_cuda(port, monkeypatch):
    from types import SimpleNamespace

    key = ("stylebot_gpu_memory_peak_bytes", (("device", "cuda:0"),))
    cuda = SimpleNamespace(is_initialized=lambda: False, device_count=lambda: 1, max_memory_allocated=lambda i: 7 << 30)
    monkeypatch.setitem(sys.modules, "torch", SimpleNamespace(cuda=cuda))
    metrics.job_finished(1.0, 2)
    assert key not in scrape(port), "CUDA not initialised: nothing to report"
    cuda.is_initialized = lambda: True
    metrics.job_failed("oom")
    assert scrape(port)[key] == 7 << 30

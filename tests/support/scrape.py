"""Reading /metrics as an operator's Prometheus would: over HTTP, parsed by prometheus_client.

Metrics are process-global (every test moves them), so tests compare a scrape taken before
with one taken after. The ``port`` fixture serves /metrics on a free port.
"""

from __future__ import annotations

import asyncio
import urllib.request
from collections.abc import Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families

from engine.ops import metrics

Sample = tuple[str, tuple]


def scrape(port: int) -> dict[Sample, float]:
    """Every sample of /metrics as {(name, sorted labels): value}."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def failed(reason: str) -> Sample:
    return "stylebot_jobs_failed_total", (("reason", reason),)


STARTED = ("stylebot_jobs_started_total", ())
FINISHED = ("stylebot_jobs_finished_total", ())
SECONDS_COUNT = ("stylebot_job_seconds_count", ())
STEPS_COUNT = ("stylebot_job_steps_per_second_count", ())
DEPTH = ("stylebot_queue_depth", ())


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    """/metrics served the way ``METRICS_PORT`` serves it (here: a free port of 127.0.0.1)."""
    bound = metrics.start_metrics_server(0, addr="127.0.0.1")
    yield bound
    metrics.stop_metrics_server()


async def read(port: int) -> dict[Sample, float]:
    return await asyncio.to_thread(scrape, port)


async def depth_settles_at_zero(port: int) -> float:
    for _ in range(100):  # the worker lowers the depth just after result() resolves
        if (await read(port))[DEPTH] == 0:
            return 0.0
        await asyncio.sleep(0.05)
    return (await read(port))[DEPTH]


def delta(before: dict[Sample, float], after: dict[Sample, float], key: Sample) -> float:
    return after.get(key, 0.0) - before.get(key, 0.0)

"""Prometheus metrics of the bot and its workers: recorded always, served only when asked.

Recording is a few in-memory counter updates, so call sites never check whether metrics
are on; :func:`start_metrics_server` (``METRICS_PORT``) is what turns them on by serving
``/metrics``. Each call site is one line::

    metrics.job_started()
    metrics.job_finished(seconds, report["steps"])
    metrics.job_failed("timeout")            # one of REASONS
    metrics.set_queue_depth(n)

Label values come from small fixed sets (failure reasons), never from users, so the number
of series stays bounded. Front ends add their own metrics to :data:`REGISTRY` (the bot counts
failed Discord API calls, see ``bot/core/errors.py``).
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
import time
from collections.abc import Awaitable, Callable

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    start_http_server,
)

log = logging.getLogger(__name__)

#: Why a job ended without a picture. ``cancelled`` counts jobs stopped by their owner, an
#: admin or a shutdown, whether they were running or still waiting.
REASONS = ("input", "params", "cancelled", "timeout", "oom", "diverged", "internal")

# Our own registry, not prometheus_client's global one: nothing a library registers leaks
# into /metrics, and tests can read exactly what this module exports.
REGISTRY = CollectorRegistry()
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)
GCCollector(registry=REGISTRY)

QUEUE_DEPTH = Gauge("stylebot_queue_depth", "Jobs queued or running", registry=REGISTRY)
JOBS_STARTED = Counter("stylebot_jobs_started", "Jobs that started running", registry=REGISTRY)
JOBS_FINISHED = Counter("stylebot_jobs_finished", "Jobs that produced a picture", registry=REGISTRY)
JOBS_FAILED = Counter("stylebot_jobs_failed", "Jobs that ended without a picture, by reason",
                      ["reason"], registry=REGISTRY)
JOB_SECONDS = Histogram("stylebot_job_seconds", "Run time of jobs that produced a picture",
                        buckets=(1, 2.5, 5, 10, 20, 30, 45, 60, 90, 120, 180, 300, 600, 900),
                        registry=REGISTRY)
STEPS_PER_SECOND = Histogram("stylebot_job_steps_per_second", "Optimiser steps per second of finished jobs",
                             buckets=(0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500), registry=REGISTRY)
GPU_MEMORY_PEAK = Gauge("stylebot_gpu_memory_peak_bytes", "Peak GPU memory allocated by torch in this process",
                        ["device"], registry=REGISTRY)
HEARTBEAT = Gauge("stylebot_heartbeat_timestamp_seconds", "Unix time the event loop last ran the heartbeat",
                  registry=REGISTRY)

for _reason in REASONS:  # every reason shows from the start, so rate() and alerts see 0 rather than nothing
    JOBS_FAILED.labels(reason=_reason)

_server_lock = threading.Lock()
_server = None  # (WSGIServer, Thread) once started


def start_metrics_server(port: int, addr: str = "0.0.0.0") -> int:
    """Serve ``/metrics`` on ``addr:port`` from a daemon thread; returns the port (useful with ``port=0``).

    Idempotent: a second call keeps the first server and returns its port.
    """
    global _server
    with _server_lock:
        if _server is None:
            _server = start_http_server(port, addr=addr, registry=REGISTRY)
            log.info("metrics on http://%s:%d/metrics", addr, _server[0].server_port)
        elif port not in (0, _server[0].server_port):
            log.warning("metrics already served on port %d; not starting another on %d",
                        _server[0].server_port, port)
        return _server[0].server_port


def stop_metrics_server() -> None:
    """Stop serving ``/metrics`` (recording goes on)."""
    global _server
    with _server_lock:
        if _server is not None:
            server, thread = _server
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)
            _server = None


def job_started() -> None:
    JOBS_STARTED.inc()


def job_finished(seconds: float, steps: int | None = None) -> None:
    """A job produced its picture after ``seconds`` of running and ``steps`` optimiser steps."""
    JOBS_FINISHED.inc()
    JOB_SECONDS.observe(seconds)
    if steps and seconds > 0:
        STEPS_PER_SECOND.observe(steps / seconds)
    _record_gpu_peak()


def job_failed(reason: str) -> None:
    """A job ended without a picture; ``reason`` is one of :data:`REASONS` (anything else counts as internal)."""
    if reason not in REASONS:
        log.debug("unknown failure reason %r counted as internal", reason)
        reason = "internal"
    JOBS_FAILED.labels(reason=reason).inc()
    _record_gpu_peak()


def set_queue_depth(n: int) -> None:
    QUEUE_DEPTH.set(n)


def heartbeat() -> None:
    """Mark the event loop alive; ``python -m engine.ops.health`` fails when this goes stale."""
    HEARTBEAT.set(time.time())


async def heartbeat_forever(depth: Callable[[], Awaitable[int]] | None = None, interval: float = 15.0) -> None:
    """Beat every ``interval`` s, refreshing the queue depth from ``depth()`` (e.g. ``queue.depth``) when given.

    Run it as a task of the bot or worker; a stuck event loop then shows as an unhealthy container.
    """
    while True:
        heartbeat()
        if depth is not None:
            try:
                set_queue_depth(await depth())
            except Exception as exc:  # noqa: BLE001 - a Redis hiccup must not stop the heartbeat
                log.warning("could not read the queue depth: %s", exc)
        await asyncio.sleep(interval)


def _record_gpu_peak() -> None:
    """Peak CUDA memory per device, if this process already uses torch with CUDA (never imports torch)."""
    torch = sys.modules.get("torch")
    if torch is None:
        return
    try:
        if not torch.cuda.is_initialized():
            return
        for index in range(torch.cuda.device_count()):
            GPU_MEMORY_PEAK.labels(device=f"cuda:{index}").set(torch.cuda.max_memory_allocated(index))
    except Exception as exc:  # noqa: BLE001 - metrics must never fail a job
        log.debug("could not read GPU memory: %s", exc)

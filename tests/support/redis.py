"""A real redis-server and real ``python -m engine.worker`` processes for the scale-out tests.

One redis-server (append-only file, fsync always, so a restart keeps everything) and a pool of
two CPU workers serve the whole session: starting a worker costs seconds (torch, weights, a
warm-up job). Tests that kill a worker get a fresh one from ``workers`` before the next test.
Workers run with short leases and heartbeats so the fault tests stay fast.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from engine.jobs import JobHandle, JobQueue, JobSpec, JobState, JobStatus
from engine.jobs.redis.queue import RedisJobQueue
from engine.jobs.redis.settings import WorkerSettings
from engine.jobs.redis.worker import StyleWorker
from tests.support.images import noise_png
from tests.support.queues import queue_settings

ROOT = Path(__file__).resolve().parents[2]
QUEUE = "scaleout"
LEASE_S = 3.0
TINY = {"size": 32, "steps": 3, "levels": 1}  # well under a second on a CPU
MEDIUM = {"size": 32, "steps": 25, "levels": 1}  # a few seconds
LONG = {"size": 32, "steps": 5000, "levels": 1}  # minutes: only ever cancelled, killed or timed out


def spec(user: int, options: dict[str, Any] = TINY, content: bytes | None = None, **kwargs: Any) -> JobSpec:
    """A job of ``user`` with images of their own (``content`` replaces the photo)."""
    photo = noise_png(user) if content is None else content
    return JobSpec(photo, (noise_png(1000 + user),), dict(options), user_id=user, **kwargs)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """redis-server on 127.0.0.1, a free port and its own directory; restartable on the same data."""

    def __init__(self, binary: str, directory: Path):
        self.binary, self.dir, self.port = binary, directory, _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.dir),
             "--save", "", "--appendonly", "yes", "--appendfsync", "always", "--logfile", "redis.log"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        deadline = time.monotonic() + 10
        while True:
            try:
                if client.ping():
                    return
            except redis.RedisError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError(f"redis-server did not start; see {self.dir / 'redis.log'}") from None
                time.sleep(0.05)
            finally:
                client.close()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()  # SIGTERM: redis flushes its append-only file and exits
            self.proc.wait(timeout=10)

    def restart(self) -> None:
        self.stop()
        self.start()

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url)


class WorkerPool:
    """``python -m engine.worker`` subprocesses on one queue, with their logs kept for failures."""

    def __init__(self, server: RedisServer, log_dir: Path, size: int, queue: str = QUEUE):
        self.server, self.log_dir, self.size, self.queue = server, log_dir, size, queue
        self.procs: list[subprocess.Popen[bytes]] = []
        self.metrics_ports: dict[int, int] = {}  # pid -> port of its /metrics
        self._spawned = 0

    def spawn(self, *extra: str) -> subprocess.Popen[bytes]:
        self._spawned += 1
        env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        log = open(self.log_dir / f"worker-{self._spawned}.log", "wb")  # noqa: SIM115 - the child owns it
        port = _free_port()
        proc = subprocess.Popen(
            [sys.executable, "-m", "engine.worker", "--redis-url", self.server.url, "--queue-name", self.queue,
             "--device", "cpu", "--lease-s", str(LEASE_S), "--grace-s", "1", "--poll-delay-s", "0.05",
             "--heartbeat-s", "0.5", "--max-pixels", str(96 * 96), "--metrics-port", str(port), *extra],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
        log.close()
        self.procs.append(proc)
        self.metrics_ports[proc.pid] = port
        return proc

    def alive(self) -> list[subprocess.Popen[bytes]]:
        self.procs = [p for p in self.procs if p.poll() is None]
        return self.procs

    def top_up(self) -> None:
        """Start replacements for dead workers (they boot while the caller goes on)."""
        while len(self.alive()) < self.size:
            self.spawn()

    def ensure(self, timeout: float = 90.0) -> None:
        """Top the pool up to ``size`` live workers and wait until each has registered in Redis."""
        self.top_up()
        self.wait_registered([p.pid for p in self.procs], timeout)

    def registered_pids(self) -> set[int]:
        with self.server.client() as r:
            ids = [w.decode() for w in r.smembers(f"{self.queue}:workers")]
            return {int(w.split(":")[1]) for w in ids if r.exists(f"{self.queue}:worker:{w}")}

    def wait_registered(self, pids: list[int], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not set(pids) <= self.registered_pids():
            dead = [p for p in self.procs if p.poll() is not None]
            if dead or time.monotonic() > deadline:
                raise AssertionError(f"workers did not come up; logs:\n{self.logs()}")
            time.sleep(0.1)

    def proc_of(self, worker_id: str) -> subprocess.Popen[bytes]:
        pid = int(worker_id.split(":")[1])
        return next(p for p in self.procs if p.pid == pid)

    def logs(self, tail: int = 3000) -> str:
        return "\n".join(f"--- {f.name}\n{f.read_text(errors='replace')[-tail:]}"
                         for f in sorted(self.log_dir.glob("worker-*.log")))

    def stop(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()


NO_REDIS_SERVER = "redis-server is not on PATH"  # how every skip for want of it begins
GET_REDIS = "apt-get install redis-server"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """After the run, say loudly how many tests were skipped for want of redis-server, and how to get it."""
    skipped = [r for r in terminalreporter.stats.get("skipped", [])
               if isinstance(r.longrepr, tuple) and NO_REDIS_SERVER in r.longrepr[2]]
    if not skipped:
        return
    plural = "s" if len(skipped) != 1 else ""
    write = terminalreporter
    write.write_sep("!", f"{len(skipped)} Redis test{plural} SKIPPED: redis-server is not installed",
                    yellow=True, bold=True)
    write.write_line("The scale-out path (RedisJobQueue, `python -m engine.worker`, the bot in Redis mode) "
                     "went untested on this machine.")
    write.write_line(f"Get redis-server (Debian/Ubuntu: sudo {GET_REDIS}; macOS: brew install redis), "
                     "then run `make test` again; with CI set, a missing redis-server fails the run instead.")


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory):
    binary = shutil.which("redis-server")
    if binary is None:
        message = f"{NO_REDIS_SERVER}; the scale-out tests need a real Redis ({GET_REDIS})"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    server = RedisServer(binary, tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def worker_pool(redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory):
    pool = WorkerPool(redis_server, tmp_path_factory.mktemp("workers"), size=2)
    yield pool
    pool.stop()


@pytest.fixture
def workers(worker_pool: WorkerPool) -> Iterator[WorkerPool]:
    """Two live, registered workers; any the test killed are replaced as soon as it ends."""
    worker_pool.ensure()
    yield worker_pool
    worker_pool.top_up()


QueueMaker = Callable[..., Awaitable[RedisJobQueue]]
WorkerMaker = Callable[..., Awaitable[StyleWorker]]


@pytest.fixture
async def inprocess_worker(redis_server: RedisServer) -> AsyncIterator[WorkerMaker]:
    """Workers running inside the test's own event loop, so a test can hand them a faulty engine.

    ``await inprocess_worker(queue_name, stylizer=...)`` returns a registered worker; all are
    stopped at the end. Fault injection is why these exist: everything else uses real processes.
    """
    running: list[tuple[StyleWorker, asyncio.Task[None]]] = []

    async def start(queue_name: str, stylizer: Any = None, **settings: Any) -> StyleWorker:
        config = WorkerSettings(redis_url=redis_server.url, queue_name=queue_name, device="cpu", lease_s=LEASE_S,
                                grace_s=1, poll_delay_s=0.05, heartbeat_s=0.5, **settings)
        worker = StyleWorker(config, stylizer=stylizer, handle_signals=False)
        running.append((worker, asyncio.create_task(worker.serve())))
        with redis_server.client() as r:
            await wait_until(lambda: _async(r.sismember(f"{queue_name}:workers", worker.worker_id)), 60,
                             "the in-process worker to start")
        return worker

    yield start
    for worker, task in running:
        await worker.stop()
        await asyncio.gather(task, return_exceptions=True)


async def _async(value: Any) -> Any:
    return value


@pytest.fixture
async def make_queue(redis_server: RedisServer) -> AsyncIterator[QueueMaker]:
    """Started RedisJobQueue instances (think: bot processes); at the end every job left is cancelled."""
    queues: list[RedisJobQueue] = []

    async def make(queue_name: str = QUEUE, preview_every: int = 0, **settings: Any) -> RedisJobQueue:
        """A queue named ``queue_name``; ``settings`` are QueueSettings fields (per_user_limit=...)."""
        q = RedisJobQueue(redis_server.url, queue_settings(queue_name=queue_name, **settings),
                          preview_every=preview_every, poll_interval_s=0.5)
        await q.start()
        queues.append(q)
        return q

    yield make
    for q in queues:
        await q.close()
    for name in {q.settings.queue_name for q in queues}:
        cleaner = RedisJobQueue(redis_server.url, queue_settings(queue_name=name))
        await cleaner.start()
        try:
            await drain(cleaner)
        finally:
            await cleaner.close()


async def drain(q: RedisJobQueue, timeout: float = 30.0) -> None:
    """Cancel and claim every job of the queue, then wait until no worker runs one of them."""
    for h in await q.undelivered():
        await h.cancel("test cleanup")
        await h.claim_delivery()
    await wait_until(lambda: depth_is(q, 0), timeout, "the queue to drain")


async def depth_is(q: JobQueue, n: int) -> bool:
    return await q.depth() == n


async def wait_until(predicate: Callable[[], Awaitable[Any]], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = await predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.05)


async def wait_running(handle: JobHandle, timeout: float = 30.0, min_step: int = 1) -> JobStatus:
    """Wait until the job runs and has made ``min_step`` steps (so it is really inside the engine)."""

    async def running() -> JobStatus | None:
        st = await handle.status()
        assert not st.state.finished, f"job ended early: {st}"
        return st if st.state is JobState.RUNNING and st.step >= min_step else None

    return await wait_until(running, timeout, f"job {handle.job_id} to run")

"""Container health check: ``python -m engine.ops.health`` exits 0 when the process in this container is alive.

It reads the process's own ``/metrics`` (``METRICS_PORT``): the endpoint must answer, and
if the process runs :func:`engine.ops.metrics.heartbeat_forever`, the last beat must be recent,
so a wedged event loop shows as unhealthy rather than only a dead process. With metrics
off there is nothing to ask, and the check passes (Docker still sees the process exit).
Settings (``METRICS_PORT``, ``MAX_AGE_S``, or ``--metrics-port``/``--max-age-s``) come from
:class:`engine.ops.settings.HealthSettings`, like every other process's.
"""

from __future__ import annotations

import sys
import time
import urllib.error
import urllib.request

from engine.ops.settings import HealthSettings, load_settings

HEARTBEAT_METRIC = "stylebot_heartbeat_timestamp_seconds"


def check(port: int, host: str = "127.0.0.1", max_age_s: float = 90.0, timeout_s: float = 3.0) -> str | None:
    """None when healthy, else a one-line reason."""
    url = f"http://{host}:{port}/metrics"
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            text = response.read().decode("utf-8", "replace")
    except (OSError, urllib.error.URLError) as exc:
        return f"{url} did not answer: {exc}"
    for line in text.splitlines():
        if line.startswith(HEARTBEAT_METRIC + " "):
            beat = float(line.split()[1])
            age = time.time() - beat
            if beat > 0 and age > max_age_s:  # 0: the process does not run the heartbeat
                return f"last heartbeat {age:.0f} s ago (limit {max_age_s:g} s): the event loop is stuck"
            return None
    return f"{url} answered without {HEARTBEAT_METRIC}: not a stylebot process?"


def main(argv: list[str] | None = None) -> int:
    settings = load_settings(HealthSettings, _cli_parse_args=argv if argv is not None else True)
    if not settings.metrics_port:
        print("metrics are off (METRICS_PORT unset): nothing to check")
        return 0
    problem = check(settings.metrics_port, max_age_s=settings.max_age_s)
    print(problem or "healthy")
    return 1 if problem else 0


if __name__ == "__main__":
    sys.exit(main())

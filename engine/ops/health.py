"""Container health check: ``python -m engine.ops.health`` exits 0 when the process in this container is alive.

It reads the process's own ``/metrics`` (``METRICS_PORT``): the endpoint must answer, and
if the process runs :func:`engine.ops.metrics.heartbeat_forever`, the last beat must be recent,
so a wedged event loop shows as unhealthy rather than only a dead process. With metrics
off there is nothing to ask, and the check passes (Docker still sees the process exit).
Standard library only, so it starts in well under a second.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import urllib.error
import urllib.request

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
    ap = argparse.ArgumentParser(prog="python -m engine.ops.health", description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=int(os.environ.get("METRICS_PORT") or 0),
                    help="metrics port of the process to check (default: $METRICS_PORT; 0 = metrics off, pass)")
    ap.add_argument("--max-age", type=float, default=90.0, help="seconds a heartbeat may be old (default: 90)")
    args = ap.parse_args(argv)
    if not args.port:
        print("metrics are off (METRICS_PORT unset): nothing to check")
        return 0
    problem = check(args.port, max_age_s=args.max_age)
    print(problem or "healthy")
    return 1 if problem else 0


if __name__ == "__main__":
    sys.exit(main())

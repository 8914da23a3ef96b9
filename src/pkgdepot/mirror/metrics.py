"""What the mirrors count: upstream fetches and their failures, for ``/+metrics`` and ``/+status``.

Every metric here has labels, so its values are made on first use: by then ``web/metrics.py``
has put prometheus-client in multi-process mode, and every worker's counts add up.

The last failure's message is kept per worker process only (a metric holds no text).
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Iterator

from prometheus_client import Counter, Gauge

from pkgdepot.errors import UpstreamUnavailable

# What was fetched: a project page, the project list, a release file or its core metadata.
PAGE, LIST, FILE = "page", "list", "file"
OK, ERROR = "ok", "error"

FETCHES = Counter(
    "pkgdepot_upstream_fetches",
    "Requests to mirror upstreams, after retries: outcome ok (any answer) or error",
    ["mirror", "kind", "outcome"],
)
LAST_OK = Gauge(
    "pkgdepot_upstream_last_ok_timestamp_seconds",
    "When an upstream last answered (Unix time)",
    ["mirror"],
    multiprocess_mode="max",
)
LAST_ERROR = Gauge(
    "pkgdepot_upstream_last_error_timestamp_seconds",
    "When an upstream last failed (Unix time)",
    ["mirror"],
    multiprocess_mode="max",
)


@dataclasses.dataclass(frozen=True)
class Failure:
    at: float
    kind: str
    message: str


_last_failures: dict[str, Failure] = {}  # mirror path -> the latest failure in this process


def last_failure(mirror: str) -> Failure | None:
    """The latest upstream failure of ``mirror`` seen by this worker process."""
    return _last_failures.get(mirror)


def record(mirror: str, kind: str, error: UpstreamUnavailable | None) -> None:
    now = time.time()
    if error is None:
        FETCHES.labels(mirror, kind, OK).inc()
        LAST_OK.labels(mirror).set(now)
    else:
        FETCHES.labels(mirror, kind, ERROR).inc()
        LAST_ERROR.labels(mirror).set(now)
        _last_failures[mirror] = Failure(now, kind, error.message)


@contextlib.contextmanager
def fetching(mirror: str, kind: str) -> Iterator[None]:
    """Count the upstream request made inside: an error if it raises ``UpstreamUnavailable``."""
    try:
        yield
    except UpstreamUnavailable as error:
        record(mirror, kind, error)
        raise
    record(mirror, kind, None)

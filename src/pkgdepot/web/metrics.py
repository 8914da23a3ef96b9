"""Prometheus metrics: the web layer's own, counting across worker processes, and ``/+metrics``.

Workers are separate processes, and a scrape reaches any one of them, so prometheus-client runs
in multi-process mode: each process writes its values to memory-mapped files under
``SERVERDIR/+metrics``, and ``/+metrics`` adds up every process's files. ``use_directory``
empties that directory before the workers start (counters begin at zero with each run).

Every metric has labels, so no value exists before its first use: by then ``use_directory``
has switched prometheus-client to the multi-process values, even in a process that imported
it earlier. The mirrors' metrics are in ``mirror/metrics.py``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Hashable
from pathlib import Path
from typing import Generic, TypeVar

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    values,
)
from prometheus_client.samples import Sample
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

DIRECTORY_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
UNMATCHED = "unmatched"  # the route label of a path no route matches (404)

REQUESTS = Counter(
    "pkgdepot_http_requests",
    "HTTP requests answered, by route template, method and status",
    ["route", "method", "status"],
)
DURATION = Histogram(
    "pkgdepot_http_request_duration_seconds",
    "From the request to the last byte of the response, by route template",
    ["route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
RESPONSE_BYTES = Counter(
    "pkgdepot_http_response_bytes",
    "Response body bytes sent, by route template (release files: the +f route)",
    ["route"],
)
PAGE_CACHE = Counter(
    "pkgdepot_page_cache_requests",
    "Simple pages served from the rendered-page cache: hit (as cached), revalidated (state "
    "read, unchanged) or rendered (a miss)",
    ["page", "result"],
)
UPSTREAM_LISTS = Counter(
    "pkgdepot_upstream_list_served",
    "Project lists of mirrors that list their upstream's names: fresh or stale",
    ["result"],
)
CACHE_ENTRIES = Gauge(
    "pkgdepot_cache_entries",
    "Entries in a cache, over the live worker processes",
    ["cache"],
    multiprocess_mode="livesum",
)
CACHE_BYTES = Gauge(
    "pkgdepot_cache_bytes",
    "Bytes held by a cache, over the live worker processes",
    ["cache"],
    multiprocess_mode="livesum",
)

M = TypeVar("M", Counter, Gauge, Histogram)


class Children(Generic[M]):
    """A metric's children by label values, looked up once: the hot paths skip ``labels()``."""

    def __init__(self, metric: M) -> None:
        self._metric: M = metric
        self._made: dict[tuple[Hashable, ...], M] = {}

    def __call__(self, *label_values: Hashable) -> M:
        child = self._made.get(label_values)
        if child is None:
            child = self._made[label_values] = self._metric.labels(*label_values)
        return child


_requests = Children(REQUESTS)
_durations = Children(DURATION)
_response_bytes = Children(RESPONSE_BYTES)
page_cache = Children(PAGE_CACHE)
upstream_lists = Children(UPSTREAM_LISTS)
cache_entries = Children(CACHE_ENTRIES)
cache_bytes = Children(CACHE_BYTES)


def observe_request(route: str, method: str, status: int, sent: int, seconds: float) -> None:
    _requests(route, method, status).inc()
    _durations(route).observe(seconds)
    if sent:
        _response_bytes(route).inc(sent)


# ---- multi-process mode -------------------------------------------------------------------


def directory_of(serverdir: Path) -> Path:
    return serverdir / "+metrics"


def use_directory(directory: Path) -> None:
    """Count in files under ``directory``, emptied now. Call before any worker starts."""
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(mode=0o700)
    os.environ[DIRECTORY_VARIABLE] = str(directory)  # inherited by the worker processes
    # prometheus-client picks its kind of values when imported, maybe before this call
    values.ValueClass = values.get_value_class()  # type: ignore[no-untyped-call]


def mark_dead(pid: int) -> None:
    """A worker process is gone: its gauges of the ``live*`` kinds stop counting."""
    if DIRECTORY_VARIABLE in os.environ:
        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]


def registry() -> CollectorRegistry:
    """Every process's values, or this process's own when not in multi-process mode."""
    if DIRECTORY_VARIABLE not in os.environ:
        return REGISTRY
    collected = CollectorRegistry()
    multiprocess.MultiProcessCollector(collected)  # type: ignore[no-untyped-call]
    return collected


def samples() -> list[Sample]:
    """Every sample of every metric, added up over the worker processes."""
    return [sample for family in registry().collect() for sample in family.samples]


async def metrics_page(request: Request) -> Response:
    body = await run_in_threadpool(generate_latest, registry())
    return Response(body, media_type=CONTENT_TYPE_LATEST)

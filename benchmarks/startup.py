"""Start-up with 100,000 projects: from process start to the first 200 of one project's simple
page, on the prepared server directory (seed_startup.py)."""

from __future__ import annotations

import time

import httpx

from benchmarks.checks import CheckFailed
from benchmarks.context import Bench
from benchmarks.seed_startup import project_names

FULL_COUNT = 100_000
QUICK_COUNT = 10_000
STARTS = 2  # the better of two starts is kept (the first may pay for cold disk caches)
PAGE_TIMEOUT = 120.0


def _first_200(client: httpx.Client, url: str) -> float:
    """Seconds until ``url`` answers 200 (the server already answers requests)."""
    began = time.perf_counter()
    deadline = time.monotonic() + PAGE_TIMEOUT
    while time.monotonic() < deadline:
        try:
            if client.get(url).status_code == 200:
                return time.perf_counter() - began
        except httpx.TransportError:
            pass
        time.sleep(0.01)
    raise CheckFailed(f"{url} did not answer 200 within {PAGE_TIMEOUT:.0f} s")


def startup(bench: Bench) -> None:
    """Each server with a prepared directory: the seconds from spawning it to its first answer
    (``startup_seconds``, measured by servers.py; devpi-server's set-up calls afterwards are not
    counted), plus the first request of one project's page on the index holding the projects."""
    count = QUICK_COUNT if bench.quick else FULL_COUNT
    workload = f"start-up, {count:,} projects"
    names = list(project_names(count))
    project = names[len(names) // 2]
    for subject in bench.subjects:
        with bench.attempt(workload, subject.name):
            try:
                server = bench.make_server(subject.name, f"startup-{count}")
            except LookupError:
                continue
            times = []
            for _ in range(1 if bench.quick else STARTS):
                try:
                    endpoints = server.start()
                    simple = endpoints.stage_simple or endpoints.mirror_simple
                    assert simple is not None
                    page = _first_200(bench.client, f"{simple}{project}/")
                    spawned = float(getattr(server, "startup_seconds", 0.0))
                    times.append(spawned + page)
                finally:
                    server.stop()
            bench.add(workload, subject.name, "s", min(times), "lower")

"""Start-up with 100,000 projects: from process start to the first 200 of one project's simple
page, on the prepared server directory."""

from __future__ import annotations

import time

import httpx

from benchmarks.checks import CheckFailed
from benchmarks.context import Bench

STARTUP_TIMEOUT = 300.0


def _first_200(client: httpx.Client, url: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            if client.get(url).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.01)
    raise CheckFailed(f"{url} did not answer 200 within {STARTUP_TIMEOUT:.0f} s")


def startup(bench: Bench) -> None:
    """Each server that has a prepared directory, started twice (the median would need more
    starts than the time allows; the better of two is kept, the first may pay for cold disk
    caches)."""
    project = bench.upstream.small_page_project
    for subject in bench.subjects:
        try:
            server = bench.make_server(subject.name, "startup")
        except LookupError:
            continue
        times = []
        for _ in range(1 if bench.quick else 2):
            began = time.perf_counter()
            try:
                endpoints = server.start()
                simple = endpoints.stage_simple or endpoints.mirror_simple
                assert simple is not None
                _first_200(bench.client, f"{simple}{project}/", time.monotonic() + STARTUP_TIMEOUT)
                times.append(time.perf_counter() - began)
            finally:
                server.stop()
        bench.add("start-up, 100,000 projects", subject.name, "s", min(times), "lower")

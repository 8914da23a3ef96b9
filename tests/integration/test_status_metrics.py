"""``/+metrics`` parses with the Prometheus text parser and its counters move with traffic:
requests by route template and status, latency histograms, the page cache's misses and hits,
bytes served, upstream fetches and errors; a two-worker server reports the totals of both.
``/+status`` keeps devpi's keys and adds storage, cache and upstream state."""

from __future__ import annotations

import hashlib
import os
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support import dists
from tests.support.client import Api, basic
from tests.support.fake_upstream import Fault, running
from tests.support.server import ROOT_PASSWORD, ServerProcess

pytestmark = pytest.mark.timeout(180)

Values = dict[tuple[str, frozenset[tuple[str, str]]], float]
FILE_ROUTE = "/{user:name}/{index:name}/+f/{rest:path}"
PAGE_ROUTE = "/{user:name}/{index:name}/+simple/{project}/"
HTML = {"Accept": "text/html"}
SIMPLE_JSON = {"Accept": "application/vnd.pypi.simple.v1+json"}
ROOT = basic("root", ROOT_PASSWORD)


def scrape(server: ServerProcess) -> Values:
    """Every sample of ``/+metrics``, read by the Prometheus text parser (a new connection)."""
    reply = httpx.get(f"{server.url}/+metrics")
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("text/plain; version=")
    values: Values = {}
    for family in text_string_to_metric_families(reply.text):
        for sample in family.samples:
            values[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return values


def value(values: Values, name: str, **labels: str) -> float:
    return values.get((name, frozenset(labels.items())), 0.0)


def status(server: ServerProcess) -> dict[str, Any]:
    reply = httpx.get(f"{server.url}/+status", headers={"Accept": "application/json"})
    assert reply.status_code == 200
    body: dict[str, Any] = reply.json()
    assert body["type"] == "status"
    result: dict[str, Any] = body["result"]
    return result


@pytest.fixture
def private(start_server: Callable[..., ServerProcess]) -> Iterator[tuple[ServerProcess, Api]]:
    """A server of its own, so that no other test's traffic moves its counters."""
    server = start_server(extra_args=["--request-timeout", "2", "--upstream-retries", "0"])
    with closing(Api(server.url)) as api:
        api.create_user("alice")
        api.create_index("alice/dev")
        yield server, api


def upload_wheel(api: Api, name: str) -> tuple[str, bytes]:
    filename, data = dists.make_wheel(name, "1.0", payload=b"# padding\n" * 500)
    reply = api.upload("alice/dev", filename, data, auth=("alice", "secret"))
    assert reply.status_code == 200, reply.text
    return filename, data


def test_requests_are_counted_by_route_template_method_and_status(
    private: tuple[ServerProcess, Api],
) -> None:
    server, api = private
    before = scrape(server)
    for _ in range(3):
        assert api.http.get("/+api").status_code == 200
    assert api.http.get("/alice/nothing-here").status_code == 404
    assert api.http.delete("/+api").status_code == 405
    after = scrape(server)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    requests = "pkgdepot_http_requests_total"
    assert moved(requests, route="/+api", method="GET", status="200") == 3
    assert moved(requests, route="/{user:name}/{index:name}", method="GET", status="404") == 1
    assert moved(requests, route="/+api", method="DELETE", status="405") == 1
    # every series is labelled by a template, never by a path that was asked for
    routes = {dict(labels)["route"] for name, labels in after if name == requests}
    assert "/alice/nothing-here" not in routes
    assert all(route.startswith("/") or route == "unmatched" for route in routes)

    latency = "pkgdepot_http_request_duration_seconds"
    assert moved(f"{latency}_count", route="/+api") == 4
    assert moved(f"{latency}_sum", route="/+api") > 0
    buckets = sorted(
        (float(dict(labels)["le"]), number)
        for (name, labels), number in after.items()
        if name == f"{latency}_bucket" and dict(labels)["route"] == "/+api"
    )
    assert [number for _, number in buckets] == sorted(number for _, number in buckets)
    assert buckets[-1] == (float("inf"), value(after, f"{latency}_count", route="/+api"))


def test_page_cache_miss_then_hit_and_bytes_served(private: tuple[ServerProcess, Api]) -> None:
    server, api = private
    filename, data = upload_wheel(api, "counted-pkg")
    before = scrape(server)
    first = api.http.get("/alice/dev/+simple/counted-pkg/", headers=HTML)
    second = api.http.get("/alice/dev/+simple/counted-pkg/", headers=HTML)
    assert first.headers["X-Pkgdepot-Cache"] == "rendered"
    assert second.headers["X-Pkgdepot-Cache"] == "hit"
    sha256 = hashlib.sha256(data).hexdigest()
    url = f"/alice/dev/+f/{sha256[:3]}/{sha256[3:16]}/{filename}"
    download = api.http.get(url, headers={"Accept": "*/*"})
    assert download.content == data
    after = scrape(server)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    cache = "pkgdepot_page_cache_requests_total"
    assert moved(cache, page="project", result="rendered") == 1
    assert moved(cache, page="project", result="hit") == 1
    assert value(after, "pkgdepot_cache_entries", cache="simple-pages") >= 1
    assert value(after, "pkgdepot_cache_bytes", cache="simple-pages") >= len(first.content)
    sent = "pkgdepot_http_response_bytes_total"
    assert moved(sent, route=FILE_ROUTE) == len(data)
    assert moved(sent, route=PAGE_ROUTE) == len(first.content) + len(second.content)

    result = status(server)
    pages = result["cache"]["simple-pages"]
    assert pages["rendered"] >= 1
    assert pages["hit"] >= 1
    assert pages["entries"] >= 1


def test_upstream_fetches_and_errors(private: tuple[ServerProcess, Api]) -> None:
    server, _ = private
    with running("json") as upstream, httpx.Client(base_url=server.url, timeout=60) as http:
        upstream.add_release("up-pkg", "1.0", sdist=False)
        config = {"type": "mirror", "mirror_url": upstream.url, "mirror_cache_expiry": 60}
        assert http.put("/root/up", json=config, headers=ROOT).status_code == 201
        before = scrape(server)
        page = http.get("/root/up/+simple/up-pkg/", headers=SIMPLE_JSON)
        assert page.status_code == 200
        link = page.json()["files"][0]["url"]
        download = http.get(str(page.url.join(link)))
        assert download.status_code == 200
        upstream.set_fault(Fault.DOWN)
        failed = http.get("/root/up/+simple/never-fetched/", headers=HTML)
        assert failed.status_code == 502
        after = scrape(server)
        result = status(server)

    def moved(**labels: str) -> float:
        name = "pkgdepot_upstream_fetches_total"
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved(mirror="root/up", kind="page", outcome="ok") == 1
    assert moved(mirror="root/up", kind="file", outcome="ok") == 1
    assert moved(mirror="root/up", kind="page", outcome="error") == 1
    assert value(after, "pkgdepot_upstream_last_ok_timestamp_seconds", mirror="root/up") > 0
    assert value(after, "pkgdepot_upstream_last_error_timestamp_seconds", mirror="root/up") > 0

    mirror = result["upstreams"]["root/up"]
    assert mirror["mirror-url"] == upstream.url
    assert (mirror["fetches"], mirror["errors"]) == (3, 1)
    assert mirror["last-ok-at"] <= mirror["last-error-at"]
    assert mirror["last-error"]["kind"] == "page"
    assert "unavailable" in mirror["last-error"]["message"]
    assert mirror["backing-off"]["projects"] == 1
    assert mirror["backing-off"]["until"] > mirror["last-error-at"]
    assert result["upstreams"]["root/pypi"]["fetches"] == 0


def test_status_keeps_devpi_keys_and_reports_storage(private: tuple[ServerProcess, Api]) -> None:
    server, api = private
    _, data = upload_wheel(api, "stored-pkg")
    result = status(server)
    assert result["serverdir"] == str(server.serverdir)
    assert result["server-code"] == "pkgdepot"
    assert result["role"] == "MASTER"
    assert set(result["versioninfo"]) == {"pkgdepot"}
    assert len(result["uuid"]) == 32
    assert result["serial"] == int(api.http.get("/+api").headers["X-Devpi-Serial"])
    assert result["uptime"] > 0
    assert result["port"] == httpx.URL(server.url).port
    storage = result["storage"]
    assert storage["serverdir"] == str(server.serverdir)
    database = server.serverdir / "db.sqlite"
    assert storage["database-bytes"] >= database.stat().st_size > 0
    blobs = storage["blobs"]
    on_disk = [p for p in (server.serverdir / "+blobs").rglob("*") if _is_blob(p)]
    assert blobs["count"] == len(on_disk) >= 1
    assert blobs["bytes"] == sum(p.stat().st_size for p in on_disk) >= len(data)


def _is_blob(path: Path) -> bool:
    return path.is_file() and "tmp" not in path.relative_to(path.parents[2]).parts


def test_two_workers_report_the_totals_of_both(
    start_server: Callable[..., ServerProcess],
) -> None:
    server = start_server(workers=2)
    answered_by: set[int] = set()
    for _ in range(400):  # each on a new connection; the workers take turns accepting
        answered_by.add(status(server)["pid"])
        if len(answered_by) == 2:
            break
    assert len(answered_by) == 2
    before = scrape(server)
    count = 0
    for _ in range(30):
        with httpx.Client(base_url=server.url) as fresh:  # a new connection each time
            assert fresh.get("/+api").status_code == 200
            count += 1
    files = {path.name for path in (server.serverdir / "+metrics").glob("counter_*.db")}
    assert len(files) == 2, files  # both worker processes counted requests
    label = {"route": "/+api", "method": "GET", "status": "200"}
    for _ in range(6):  # any worker answers a scrape with the same totals
        after = scrape(server)
        moved = value(after, "pkgdepot_http_requests_total", **label) - value(
            before, "pkgdepot_http_requests_total", **label
        )
        assert moved == count


def test_a_dead_worker_leaves_its_counts_and_drops_its_cache_size(
    start_server: Callable[..., ServerProcess],
) -> None:
    server = start_server(workers=2)
    with closing(Api(server.url)) as api:
        api.create_user("alice")
        api.create_index("alice/dev")
        upload_wheel(api, "gauged-pkg")
    metrics_dir = server.serverdir / "+metrics"
    pids: set[int] = set()
    for _ in range(400):  # until both workers have rendered the page into their caches
        page = httpx.get(f"{server.url}/alice/dev/+simple/gauged-pkg/", headers=HTML)
        assert page.status_code == 200
        pids = {int(p.stem.rsplit("_", 1)[1]) for p in metrics_dir.glob("gauge_livesum_*.db")}
        if len(pids) == 2:
            break
    assert len(pids) == 2
    label = {"route": PAGE_ROUTE, "method": "GET", "status": "200"}
    served = value(scrape(server), "pkgdepot_http_requests_total", **label)
    assert served >= 2

    victim = min(pids)
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 30  # the supervisor notices within a second or so
    while (metrics_dir / f"gauge_livesum_{victim}.db").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not (metrics_dir / f"gauge_livesum_{victim}.db").exists()
    assert (metrics_dir / f"counter_{victim}.db").exists()
    after = scrape(server)  # answered by the survivor or the replacement
    assert value(after, "pkgdepot_http_requests_total", **label) == served
    entries = value(after, "pkgdepot_cache_entries", cache="simple-pages")
    assert entries == 1  # the survivor's page only; the dead worker's no longer counts

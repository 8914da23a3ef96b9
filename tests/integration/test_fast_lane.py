"""Warm simple pages answered from kept replies (web/fastlane.py, web/direct.py), on a real
server: the same bytes and headers as the app gives, never a stale page, and counted and
logged like every other request."""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.test_access_log import wait_for_lines
from tests.support import dists
from tests.support.client import Api, basic
from tests.support.fake_upstream import FakeUpstream, running
from tests.support.server import ROOT_PASSWORD, ServerProcess

pytestmark = pytest.mark.timeout(120)

JSON = {"Accept": "application/vnd.pypi.simple.v1+json"}
HTML = {"Accept": "text/html"}
VARYING = ("date", "x-pkgdepot-cache", "x-devpi-serial")
ROUTE = "/{user:name}/{index:name}/+simple/{project}/"


@pytest.fixture
def server(start_server: Callable[..., ServerProcess]) -> ServerProcess:
    return start_server(workers=1, extra_args=["--log-level", "info"])


@pytest.fixture
def api(server: ServerProcess) -> Iterator[Api]:
    client = Api(server.url)
    client.create_user("fast")
    client.create_index("fast/dev")
    client.upload("fast/dev", *dists.make_wheel("quick", "1.0"), auth=("fast", "secret"))
    yield client
    client.close()


def steady(reply: httpx.Response) -> dict[str, str]:
    return {k: v for k, v in reply.headers.items() if k not in VARYING}


def requests_counted(server: ServerProcess) -> float:
    text = httpx.get(f"{server.url}/+metrics").text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = sample.labels
            if (
                sample.name == "pkgdepot_http_requests_total"
                and labels.get("route") == ROUTE
                and labels.get("status") == "200"
            ):
                return sample.value
    return 0.0


@pytest.mark.parametrize("accept", [JSON, HTML], ids=["json", "html"])
def test_warm_pages_are_the_bytes_and_headers_the_app_gives(
    api: Api, accept: dict[str, str]
) -> None:
    first = api.http.get("/fast/dev/+simple/quick/", headers=accept)
    warm = [api.http.get("/fast/dev/+simple/quick/", headers=accept) for _ in range(3)]
    assert first.status_code == 200
    assert first.headers["x-pkgdepot-cache"] == "rendered"
    for reply in warm:
        assert reply.status_code == 200
        assert reply.content == first.content
        assert steady(reply) == steady(first)
        assert reply.headers["x-pkgdepot-cache"] == "hit"
        assert reply.headers["x-devpi-serial"] == first.headers["x-devpi-serial"]


def test_a_new_upload_shows_at_once(api: Api) -> None:
    for _ in range(3):
        before = api.http.get("/fast/dev/+simple/quick/", headers=JSON).json()
    api.upload("fast/dev", *dists.make_wheel("quick", "2.0"), auth=("fast", "secret"))
    after = api.http.get("/fast/dev/+simple/quick/", headers=JSON)
    assert len(after.json()["files"]) == len(before["files"]) + 1
    assert after.headers["x-pkgdepot-cache"] == "rendered"
    assert int(after.headers["x-devpi-serial"]) > 0


def test_conditional_requests_get_304(api: Api) -> None:
    etag = api.http.get("/fast/dev/+simple/quick/", headers=HTML).headers["etag"]
    api.http.get("/fast/dev/+simple/quick/", headers=HTML)
    matching = api.http.get("/fast/dev/+simple/quick/", headers={"If-None-Match": etag, **HTML})
    other = api.http.get("/fast/dev/+simple/quick/", headers={"If-None-Match": '"x"', **HTML})
    assert matching.status_code == 304
    assert matching.content == b""
    assert matching.headers["etag"] == etag
    assert "content-length" not in matching.headers or matching.headers["content-length"] == "0"
    assert other.status_code == 200
    assert other.content


def test_pipelined_requests_are_answered_in_order(server: ServerProcess, api: Api) -> None:
    json_page = api.http.get("/fast/dev/+simple/quick/", headers=JSON).content
    html_page = api.http.get("/fast/dev/+simple/quick/", headers=HTML).content
    api.http.get("/fast/dev/+simple/quick/", headers=JSON)
    host, port = server.url.removeprefix("http://").split(":")
    request = "GET /fast/dev/+simple/quick/ HTTP/1.1\r\nHost: x\r\nAccept: {}\r\n\r\n"
    burst = "".join(request.format(a) for a in (JSON["Accept"], "text/html", JSON["Accept"]))
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(burst.encode())
        received = b""
        deadline = time.monotonic() + 10
        while received.count(b"HTTP/1.1 200") < 3 or not received.endswith(json_page):
            assert time.monotonic() < deadline, received[-500:]
            received += conn.recv(65536)
    bodies = [part.split(b"\r\n\r\n", 1)[1] for part in received.split(b"HTTP/1.1 200 OK")[1:]]
    assert bodies == [json_page, html_page, json_page]


def test_requests_through_a_proxy_get_the_same_page(api: Api) -> None:
    proxied = {"X-Outside-Url": "https://pkgs.example.test/prefix", **JSON}
    direct = api.http.get("/fast/dev/+simple/quick/", headers=JSON)
    replies = [api.http.get("/fast/dev/+simple/quick/", headers=proxied) for _ in range(3)]
    assert [r.content for r in replies] == [direct.content] * 3
    assert replies[-1].headers["x-pkgdepot-cache"] == "hit"
    bad = api.http.get("/fast/dev/+simple/quick/", headers={"X-Outside-Url": "ftp://x", **JSON})
    assert bad.status_code == 400  # the proxy's headers are still checked first


def test_fast_answers_are_counted_and_logged(server: ServerProcess, api: Api) -> None:
    api.http.get("/fast/dev/+simple/quick/", headers=HTML)  # kept
    before = requests_counted(server)
    agent = {"User-Agent": "fast-lane-probe", **HTML}
    for _ in range(5):
        assert api.http.get("/fast/dev/+simple/quick/", headers=agent).status_code == 200
    assert requests_counted(server) == before + 5
    lines = wait_for_lines(server, "fast-lane-probe")
    assert len(lines) == 5
    assert all('"GET /fast/dev/+simple/quick/ HTTP/1.1" 200' in line for line in lines)


def test_an_expired_mirror_page_asks_the_upstream_again(
    start_server: Callable[..., ServerProcess],
) -> None:
    with running("json") as upstream:
        upstream.add_release("expiring", "1.0")
        server = start_server(workers=1)
        with httpx.Client(base_url=server.url, timeout=30) as http:
            config = {"type": "mirror", "mirror_url": upstream.url, "mirror_cache_expiry": 1}
            root = basic("root", ROOT_PASSWORD)
            assert http.put("/root/short", json=config, headers=root).status_code == 201
            for _ in range(3):
                assert http.get("/root/short/+simple/expiring/").status_code == 200
            asked = _page_requests(upstream, "expiring")
            time.sleep(1.5)
            upstream.add_release("expiring", "2.0")
            page = http.get("/root/short/+simple/expiring/").text
        assert _page_requests(upstream, "expiring") == asked + 1
        assert "expiring-2.0" in page


def _page_requests(upstream: FakeUpstream, project: str) -> int:
    return sum(1 for r in upstream.requests if re.search(rf"/{project}/?$", r.path))

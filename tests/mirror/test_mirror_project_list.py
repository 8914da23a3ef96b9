"""A mirror's project list through a real server: fetched with its ETag, kept on disk, served
as a file, refreshed after the expiry, stale (never broken) when the upstream fails."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.mirror.mirrored import Mirror
from tests.support.api_checks import assert_error
from tests.support.client import Api, basic
from tests.support.dists import make_wheel
from tests.support.fake_upstream import FakeUpstream, Fault
from tests.support.server import ROOT_PASSWORD, ServerProcess

pytestmark = pytest.mark.timeout(120)

JSON = {"Accept": "application/vnd.pypi.simple.v1+json"}
HTML = {"Accept": "text/html"}
UPSTREAM_NAMES = ["Foo.Bar", "zope.interface", "foo_bar", "requests", "not a name!"]
SERVED_NAMES = ["foo-bar", "zope-interface", "requests"]  # normalised, each once, valid only
_ANCHOR = re.compile(r'<a href="([^"]*)/">([^<]*)</a>')


def names_in(reply: httpx.Response) -> list[str]:
    """The names of a project list, checking that each HTML anchor's text is its link."""
    assert reply.status_code == 200, reply.text
    if reply.headers["content-type"].startswith("application/vnd.pypi.simple.v1+json"):
        return [entry["name"] for entry in reply.json()["projects"]]
    anchors = _ANCHOR.findall(reply.text)
    assert all(href == text for href, text in anchors), anchors
    return [text for _, text in anchors]


def list_requests(upstream: FakeUpstream) -> list[dict[str, str]]:
    return [r.headers for r in upstream.requests_for("/simple/") if r.method == "GET"]


def warnings_about(server: ServerProcess, path: str, expected: int) -> list[str]:
    """The server's log lines about the list of ``path``, once ``expected`` of them arrived
    (or 5 s passed): they reach the test through a thread that reads the server's output."""
    needle = f"project list of {path} not refreshed"
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        found = [line for line in server.output if needle in line]
        if len(found) >= expected:
            break
        time.sleep(0.05)
    return [line for line in server.output if needle in line]


@pytest.fixture
def mirror(
    server: ServerProcess, upstream: FakeUpstream, unique: Callable[[str], str]
) -> Iterator[Mirror]:
    upstream.list_extra = list(UPSTREAM_NAMES)
    created = Mirror.create(server, upstream, unique("listing"))
    yield created
    created.close()


def expire(mirror: Mirror) -> None:
    """Every later request finds the stored list expired."""
    reply = mirror.http.patch(
        f"/{mirror.path}", json=["mirror_cache_expiry=0"], headers=basic("root", ROOT_PASSWORD)
    )
    assert reply.status_code == 200, reply.text


def test_the_upstream_list_is_served_in_html_and_json(mirror: Mirror) -> None:
    html = mirror.http.get(f"/{mirror.path}/+simple/", headers=HTML)
    assert names_in(html) == SERVED_NAMES
    assert html.headers["content-type"] == "text/html; charset=utf-8"
    assert html.headers["vary"] == "Accept"
    assert "cache-control" not in html.headers
    assert f"Simple index of {mirror.path}" in html.text
    as_json = mirror.http.get(f"/{mirror.path}/+simple/", headers=JSON)
    assert names_in(as_json) == SERVED_NAMES
    assert as_json.json()["meta"] == {"api-version": "1.1"}
    assert as_json.headers["content-type"] == "application/vnd.pypi.simple.v1+json"
    v1_html = mirror.http.get(
        f"/{mirror.path}/simple/", headers={"Accept": "application/vnd.pypi.simple.v1+html"}
    )
    assert v1_html.content == html.content
    assert v1_html.headers["content-type"] == "application/vnd.pypi.simple.v1+html"
    etags = {reply.headers["etag"] for reply in (html, as_json, v1_html)}
    assert len(etags) == 3
    assert len(list_requests(mirror.upstream)) == 1


def test_an_unacceptable_media_type_gets_406(mirror: Mirror) -> None:
    reply = mirror.http.get(f"/{mirror.path}/+simple/", headers={"Accept": "image/png"})
    assert_error(reply, 406, "application/vnd.pypi.simple.v1+json")
    assert list_requests(mirror.upstream) == []


def test_within_the_expiry_the_stored_list_is_served_without_asking_upstream(
    mirror: Mirror,
) -> None:
    first = mirror.http.get(f"/{mirror.path}/+simple/", headers=JSON)
    mirror.upstream.list_extra.append("newcomer")
    again = mirror.http.get(f"/{mirror.path}/+simple/", headers=JSON)
    assert names_in(again) == SERVED_NAMES
    assert again.headers["etag"] == first.headers["etag"]
    cached = mirror.http.get(
        f"/{mirror.path}/+simple/", headers={**JSON, "If-None-Match": first.headers["etag"]}
    )
    assert cached.status_code == 304
    assert cached.content == b""
    assert len(list_requests(mirror.upstream)) == 1


def test_after_the_expiry_it_revalidates_and_a_304_keeps_the_list(mirror: Mirror) -> None:
    first = mirror.http.get(f"/{mirror.path}/+simple/", headers=JSON)
    expire(mirror)
    kept = mirror.http.get(f"/{mirror.path}/+simple/", headers=JSON)
    assert names_in(kept) == SERVED_NAMES
    assert kept.headers["etag"] == first.headers["etag"]
    initial, revalidation = list_requests(mirror.upstream)
    assert "if-none-match" not in initial
    assert revalidation["if-none-match"].startswith('"')
    mirror.upstream.list_extra.append("Newcomer")
    changed = mirror.http.get(f"/{mirror.path}/+simple/", headers=JSON)
    assert names_in(changed) == [*SERVED_NAMES, "newcomer"]
    assert changed.headers["etag"] != first.headers["etag"]


@pytest.mark.parametrize("fault", [Fault.DOWN, Fault.ERROR_500, Fault.RESET, Fault.TRUNCATED])
def test_a_failing_upstream_gets_the_stored_list_marked_stale(
    server: ServerProcess, mirror: Mirror, fault: Fault
) -> None:
    good = mirror.http.get(f"/{mirror.path}/+simple/", headers=JSON)
    mirror.upstream.list_extra.append("newcomer")
    expire(mirror)
    mirror.upstream.set_fault(fault)
    stale = mirror.http.get(f"/{mirror.path}/+simple/", headers=JSON)
    assert names_in(stale) == SERVED_NAMES  # a broken body never replaces the stored list
    assert stale.headers["etag"] == good.headers["etag"]
    assert stale.headers["cache-control"] == "no-cache"
    stale_html = mirror.http.get(f"/{mirror.path}/+simple/", headers=HTML)
    assert names_in(stale_html) == SERVED_NAMES
    warnings = warnings_about(server, mirror.path, 2)
    assert len(warnings) == 2, warnings  # one line for each of the two failed refreshes
    mirror.upstream.set_fault(None)
    fresh = mirror.http.get(f"/{mirror.path}/+simple/", headers=JSON)
    assert names_in(fresh) == [*SERVED_NAMES, "newcomer"]
    assert "cache-control" not in fresh.headers


def test_without_a_stored_list_a_failing_upstream_gets_502(
    server: ServerProcess, upstream: FakeUpstream, unique: Callable[[str], str]
) -> None:
    mirror = Mirror.create(server, upstream, unique("unlisted"))
    upstream.set_fault(Fault.DOWN)
    reply = mirror.http.get(f"/{mirror.path}/+simple/", headers=JSON)
    assert_error(reply, 502, f"the project list of {mirror.path} could not be fetched")
    assert len(warnings_about(server, mirror.path, 1)) == 1
    upstream.set_fault(None)
    assert names_in(mirror.http.get(f"/{mirror.path}/+simple/", headers=JSON)) == []
    mirror.close()


def test_mirror_no_project_list_lists_the_projects_stored_here(
    server: ServerProcess, upstream: FakeUpstream, unique: Callable[[str], str]
) -> None:
    upstream.list_extra = list(UPSTREAM_NAMES)
    mirror = Mirror.create(server, upstream, unique("nolist"), mirror_no_project_list=True)
    upstream.add_release(mirror.project, "1.0")
    assert names_in(mirror.http.get(f"/{mirror.path}/+simple/", headers=JSON)) == []
    mirror.sync(mirror.project)
    reply = mirror.http.get(f"/{mirror.path}/+simple/", headers=HTML)
    assert names_in(reply) == [mirror.project]
    assert list_requests(upstream) == []
    mirror.close()


def test_offline_mode_lists_the_projects_stored_here(
    start_server: Callable[..., ServerProcess], upstream: FakeUpstream
) -> None:
    upstream.list_extra = list(UPSTREAM_NAMES)
    server = start_server(extra_args=["--offline-mode"])
    mirror = Mirror.create(server, upstream, "offline")
    upstream.add_release(mirror.project, "1.0")
    mirror.sync(mirror.project)
    reply = mirror.http.get(f"/{mirror.path}/+simple/", headers=JSON)
    assert names_in(reply) == [mirror.project]
    assert list_requests(upstream) == []
    mirror.close()


def test_a_stage_lists_its_own_names_then_the_mirrors_others(
    api: Api, mirror: Mirror, unique: Callable[[str], str]
) -> None:
    user = unique("lister")
    api.create_user(user)
    api.create_index(f"{user}/dev", bases=[mirror.path])
    for name in ("foo_bar", "private-pkg"):
        wheel, data = make_wheel(name, "1.0")
        assert api.upload(f"{user}/dev", wheel, data, auth=(user, "secret")).status_code == 200
    expected = ["foo-bar", "private-pkg", "zope-interface", "requests"]
    as_json = api.http.get(f"/{user}/dev/+simple/", headers=JSON)
    assert names_in(as_json) == expected
    html = api.http.get(f"/{user}/dev/+simple/", headers=HTML)
    assert names_in(html) == expected
    assert f"Simple index of {user}/dev" in html.text
    assert html.headers["etag"] != as_json.headers["etag"]
    etag = as_json.headers["etag"]
    again = api.http.get(f"/{user}/dev/+simple/", headers={**JSON, "If-None-Match": etag})
    assert again.status_code == 304
    wheel, data = make_wheel("another", "1.0")
    assert api.upload(f"{user}/dev", wheel, data, auth=(user, "secret")).status_code == 200
    grown = api.http.get(f"/{user}/dev/+simple/", headers={**JSON, "If-None-Match": etag})
    assert names_in(grown) == ["another", *expected]
    assert len(list_requests(mirror.upstream)) == 1


def test_concurrent_requests_share_one_fetch(
    server: ServerProcess, upstream: FakeUpstream, unique: Callable[[str], str]
) -> None:
    upstream.list_size = 50_000
    mirror = Mirror.create(server, upstream, unique("parallel"))

    def fetch(_: int) -> bytes:
        with httpx.Client(base_url=server.url, timeout=60) as client:
            reply = client.get(f"/{mirror.path}/+simple/", headers=JSON)
            assert reply.status_code == 200
            return reply.content

    with ThreadPoolExecutor(max_workers=10) as pool:
        bodies = set(pool.map(fetch, range(10)))
    (body,) = bodies
    assert body.count(b'{"name":') == 50_000
    assert len(list_requests(upstream)) == 1
    mirror.close()

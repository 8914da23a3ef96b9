"""Mirrored project pages through a real server: fetched once, kept, revalidated, not-found
cached, every page format syncing, and warm after a restart."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from tests.mirror.pages_site import ROOT, SIMPLE_JSON, Site
from tests.support.api_checks import assert_error
from tests.support.fake_upstream import FakeUpstream
from tests.support.server import ServerProcess

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def site(
    server: ServerProcess, upstream: FakeUpstream, unique: Callable[[str], str]
) -> Iterator[Site]:
    """A mirror (1 hour expiry) of a fake upstream in each flavour, on the shared server."""
    created = Site.create(server, upstream, unique("pages"), mirror_cache_expiry=3600)
    yield created
    created.close()


def test_the_first_request_fetches_the_page_and_the_next_ones_are_served_from_the_database(
    site: Site,
) -> None:
    wheel, sdist = site.upstream.add_release("hello-pkg", "1.0")
    files = site.files("hello-pkg")
    assert set(files) == {wheel.filename, sdist.filename}
    assert files[wheel.filename]["hashes"] == {"sha256": wheel.sha256}
    assert site.page_requests("hello-pkg") == 1
    for _ in range(3):
        assert set(site.files("hello-pkg")) == {wheel.filename, sdist.filename}
        html = site.http.get(f"/{site.index}/+simple/hello-pkg/")
        assert wheel.filename in html.text
    assert site.page_requests("hello-pkg") == 1
    first = site.upstream.requests_for("/simple/hello-pkg/")[0]
    assert "if-none-match" not in first.headers


def test_link_details_are_passed_through(site: Site) -> None:
    wheel, sdist = site.upstream.add_release(
        "detail-pkg", "2.0", requires_python=">=3.9", yanked="broken build"
    )
    files = site.files("detail-pkg")
    entry = files[wheel.filename]
    assert entry["requires-python"] == ">=3.9"
    assert entry["yanked"] == "broken build"
    assert entry["core-metadata"] == {"sha256": _sha256(wheel.metadata)}
    if site.upstream.flavour == "json":  # PEP 503 HTML has no size or upload time
        assert entry["size"] == len(wheel.data)
        assert entry["upload-time"] == "2024-01-02T03:04:05.000000Z"
    assert (
        "core-metadata" not in files[sdist.filename] or not files[sdist.filename]["core-metadata"]
    )
    html = site.http.get(f"/{site.index}/+simple/detail-pkg/").text
    assert 'data-requires-python="&gt;=3.9"' in html
    assert 'data-yanked="broken build"' in html


def test_every_page_format_brings_the_mirror_up_to_date(site: Site) -> None:
    site.upstream.add_release("fmt-a", "1.0")
    site.upstream.add_release("fmt-b", "1.0")
    site.upstream.add_release("fmt-c", "1.0")
    site.upstream.add_release("fmt-d", "1.0")
    pypi_json = site.http.get(f"/{site.index}/pypi/fmt-a/json")
    assert pypi_json.status_code == 200, pypi_json.text
    assert pypi_json.json()["info"]["version"] == "1.0"
    version_json = site.http.get(f"/{site.index}/pypi/fmt-b/1.0/json")
    assert version_json.status_code == 200, version_json.text
    devpi_project = site.http.get(f"/{site.index}/fmt-c", headers={"Accept": "application/json"})
    assert devpi_project.status_code == 200, devpi_project.text
    assert list(devpi_project.json()["result"]) == ["1.0"]
    devpi_version = site.http.get(
        f"/{site.index}/fmt-d/1.0", headers={"Accept": "application/json"}
    )
    assert devpi_version.status_code == 200, devpi_version.text
    assert len(devpi_version.json()["result"]["+links"]) == 2
    assert [site.page_requests(f"fmt-{x}") for x in "abcd"] == [1, 1, 1, 1]


def test_an_upstream_404_is_a_404_and_is_cached(site: Site) -> None:
    reply = site.page("no-such-pkg")
    assert_error(reply, 404, "no-such-pkg")
    assert_error(site.http.get(f"/{site.index}/pypi/no-such-pkg/json"), 404)
    assert site.page_requests("no-such-pkg") == 1


def test_a_project_that_disappears_upstream_disappears_here(
    server: ServerProcess, upstream: FakeUpstream, unique: Callable[[str], str]
) -> None:
    site = Site.create(server, upstream, unique("gone"), mirror_cache_expiry=1)
    try:
        wheel, _ = upstream.add_release("vanishing", "1.0")
        assert wheel.filename in site.files("vanishing")
        del upstream.projects["vanishing"]
        time.sleep(1.1)
        assert_error(site.page("vanishing"), 404)
        assert site.page_requests("vanishing") == 2
        file_url = f"/{site.index}/+f/{wheel.sha256[:3]}/{wheel.sha256[3:16]}/{wheel.filename}"
        assert_error(site.http.get(file_url), 410, "deleted")
    finally:
        site.close()


def test_after_the_expiry_the_page_is_revalidated_with_its_etag(
    server: ServerProcess, upstream: FakeUpstream, unique: Callable[[str], str]
) -> None:
    site = Site.create(server, upstream, unique("expiry"), mirror_cache_expiry=1)
    try:
        wheel, _ = upstream.add_release("expiring", "1.0")
        first = site.page("expiring")
        etag = upstream.requests_for("/simple/expiring/")  # the fake's ETag is in its reply
        assert len(etag) == 1
        time.sleep(1.1)
        second = site.page("expiring")
        assert second.content == first.content
        requests = upstream.requests_for("/simple/expiring/")
        assert len(requests) == 2
        assert requests[1].headers.get("if-none-match", "").startswith('"')
        # A new release upstream shows after the next expiry.
        new_wheel, _ = upstream.add_release("expiring", "2.0")
        time.sleep(1.1)
        assert {wheel.filename, new_wheel.filename} <= set(site.files("expiring"))
        assert "cache-control" not in site.page("expiring").headers
    finally:
        site.close()


def test_a_not_found_answer_is_kept_shorter_than_a_page(
    server: ServerProcess, upstream: FakeUpstream, unique: Callable[[str], str]
) -> None:
    site = Site.create(server, upstream, unique("nf"), mirror_cache_expiry=6)  # not-found: 1 s
    try:
        upstream.add_release("found-pkg", "1.0")
        assert site.page("found-pkg").status_code == 200
        assert site.page("later-pkg").status_code == 404
        upstream.add_release("later-pkg", "1.0")
        time.sleep(1.2)
        assert site.page("later-pkg").status_code == 200
        assert site.page("found-pkg").status_code == 200
        assert site.page_requests("later-pkg") == 2
        assert site.page_requests("found-pkg") == 1
    finally:
        site.close()


def test_bad_names_get_a_precise_error_and_ask_no_upstream(site: Site) -> None:
    reply = site.http.get(f"/{site.index}/+simple/bad name!/", headers=SIMPLE_JSON)
    assert_error(reply, 400, "invalid project name")
    assert_error(site.page("anything", index="root/no-such-index"), 404, "root/no-such-index")
    assert site.upstream.requests == []


def test_a_restarted_server_serves_warm_pages_without_asking_the_upstream(
    start_server: Callable[..., ServerProcess], json_upstream: FakeUpstream
) -> None:
    server = start_server()
    site = Site.create(server, json_upstream, "warm", mirror_cache_expiry=3600)
    try:
        wheel, _ = json_upstream.add_release("warm-pkg", "1.0")
        before = site.files("warm-pkg")
        assert site.page("cold-pkg").status_code == 404
        server.restart()
        site.close()
        site.http = httpx.Client(base_url=server.url, timeout=60)
        assert site.files("warm-pkg") == before
        assert site.page("cold-pkg").status_code == 404
        assert site.http.get(f"/{site.index}/pypi/warm-pkg/json").status_code == 200
        assert site.page_requests("warm-pkg") == 1
        assert site.page_requests("cold-pkg") == 1
        assert wheel.filename in before
    finally:
        site.close()


def test_workers_share_what_one_fetched_and_all_see_a_delete(
    start_server: Callable[..., ServerProcess], json_upstream: FakeUpstream
) -> None:
    """Another worker's fetch is read from the database; a delete moves the global serial,
    which makes every worker read the page's state again."""
    server = start_server(workers=2)
    site = Site.create(server, json_upstream, "shared", mirror_cache_expiry=3600)
    try:
        json_upstream.add_release("shared-pkg", "1.0")
        for _ in range(8):  # new connections: both workers answer some of them
            with httpx.Client(base_url=server.url, timeout=60) as client:
                page = client.get(f"/{site.index}/+simple/shared-pkg/", headers=SIMPLE_JSON)
                assert page.status_code == 200
        assert site.page_requests("shared-pkg") == 1
        deleted = site.http.delete(f"/{site.index}/shared-pkg", headers=ROOT)
        assert deleted.status_code == 200, deleted.text
        for _ in range(8):
            with httpx.Client(base_url=server.url, timeout=60) as client:
                page = client.get(f"/{site.index}/+simple/shared-pkg/", headers=SIMPLE_JSON)
                assert len(page.json()["files"]) == 2
        assert site.page_requests("shared-pkg") == 2
    finally:
        site.close()


def test_ignore_serial_header_accepts_an_older_serial(
    server: ServerProcess, json_upstream: FakeUpstream, unique: Callable[[str], str]
) -> None:
    from tests.support.fake_upstream import Fault

    site = Site.create(
        server,
        json_upstream,
        unique("noserial"),
        mirror_cache_expiry=1,
        mirror_ignore_serial_header=True,
    )
    try:
        json_upstream.add_release("serial-pkg", "1.0")
        site.files("serial-pkg")
        json_upstream.set_fault(Fault.OLDER_SERIAL)
        new_wheel, _ = json_upstream.add_release("serial-pkg", "2.0")
        time.sleep(1.1)
        reply = site.page("serial-pkg")
        assert "cache-control" not in reply.headers
        assert new_wheel.filename in {f["filename"] for f in reply.json()["files"]}
        assert site.log_lines("serial-pkg") == []
    finally:
        json_upstream.set_fault(None)
        site.close()


def _sha256(data: bytes | None) -> str:
    import hashlib

    assert data is not None
    return hashlib.sha256(data).hexdigest()

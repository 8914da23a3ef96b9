"""Mirrored files through a real server: fetched once, then served from disk like uploads."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator

import httpx
import pytest

from tests.mirror.mirrored import Mirror
from tests.support.api_checks import assert_error
from tests.support.fake_pages import FakeFile
from tests.support.fake_upstream import FakeUpstream, Fault, running
from tests.support.server import ServerProcess

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def mirror(
    server: ServerProcess, json_upstream: FakeUpstream, unique: Callable[[str], str]
) -> Iterator[Mirror]:
    created = Mirror.create(server, json_upstream, unique("mirror"))
    yield created
    created.close()


def read_into(received: bytearray, mirror: Mirror, url: str, size: int) -> None:
    """GET ``url``, keeping what arrived in ``received`` even when the body breaks off."""
    with mirror.http.stream("GET", url) as reply:
        assert reply.status_code == 200
        assert reply.headers["content-length"] == str(size)
        for chunk in reply.iter_bytes():
            received += chunk


def test_first_get_streams_the_file_and_the_second_comes_from_disk(mirror: Mirror) -> None:
    wheel, _ = mirror.upstream.add_release(mirror.project, "1.0")
    url = mirror.sync(mirror.project)[wheel.filename]
    first = mirror.http.get(url)
    assert first.status_code == 200
    assert first.content == wheel.data
    assert first.headers["content-length"] == str(len(wheel.data))
    assert hashlib.sha256(first.content).hexdigest() == wheel.sha256
    assert mirror.upstream.downloads_of(wheel.filename) == 1
    row = mirror.row(url)
    assert row is not None
    assert row.cached
    assert mirror.blob(wheel.sha256).read_bytes() == wheel.data
    second = mirror.http.get(url)
    assert second.content == wheel.data
    assert second.headers["etag"] == f'"{wheel.sha256}"'
    assert mirror.upstream.downloads_of(wheel.filename) == 1


def test_a_cached_mirror_file_is_served_like_an_upload(mirror: Mirror) -> None:
    wheel, _ = mirror.upstream.add_release(mirror.project, "1.0")
    url = mirror.sync(mirror.project)[wheel.filename]
    mirror.http.get(url).raise_for_status()
    head = mirror.http.head(url)
    assert head.status_code == 200
    assert head.headers["content-length"] == str(len(wheel.data))
    part = mirror.http.get(url, headers={"Range": "bytes=2-9"})
    assert part.status_code == 206
    assert part.content == wheel.data[2:10]
    assert part.headers["content-range"] == f"bytes 2-9/{len(wheel.data)}"
    etag = head.headers["etag"]
    assert mirror.http.get(url, headers={"If-None-Match": etag}).status_code == 304
    assert mirror.upstream.downloads_of(wheel.filename) == 1


def test_head_of_an_uncached_file_does_not_download_it(mirror: Mirror) -> None:
    wheel, _ = mirror.upstream.add_release(mirror.project, "1.0")
    url = mirror.sync(mirror.project)[wheel.filename]
    head = mirror.http.head(url)
    assert head.status_code == 200
    assert head.headers["content-length"] == str(len(wheel.data))
    assert head.headers["etag"] == f'"{wheel.sha256}"'
    assert mirror.upstream.downloads_of(wheel.filename) == 0
    row = mirror.row(url)
    assert row is not None
    assert not row.cached


def test_json_metadata_of_an_uncached_file(mirror: Mirror) -> None:
    wheel, _ = mirror.upstream.add_release(mirror.project, "1.0")
    url = mirror.sync(mirror.project)[wheel.filename]
    reply = mirror.http.get(url, headers={"Accept": "application/json"})
    assert reply.json()["result"]["hashes"] == {"sha256": wheel.sha256}
    assert mirror.upstream.downloads_of(wheel.filename) == 0


@pytest.mark.parametrize("fault", [Fault.TRUNCATED, Fault.ERROR_500, Fault.DOWN])
def test_an_upstream_fault_is_a_502_and_stores_nothing(mirror: Mirror, fault: Fault) -> None:
    wheel, _ = mirror.upstream.add_release(mirror.project, "1.0")
    url = mirror.sync(mirror.project)[wheel.filename]
    mirror.upstream.set_fault(fault)
    assert_error(mirror.http.get(url), 502, wheel.filename)
    row = mirror.row(url)
    assert row is not None
    assert not row.cached
    assert not mirror.blob(wheel.sha256).exists()
    mirror.upstream.set_fault(None)
    assert mirror.http.get(url).content == wheel.data


def test_a_wrong_hash_is_a_502_and_stores_nothing(mirror: Mirror) -> None:
    wheel, _ = mirror.upstream.add_release(mirror.project, "1.0")
    mirror.upstream.set_fault(Fault.WRONG_HASH)
    wrong = mirror.sync(mirror.project)[wheel.filename]
    assert_error(mirror.http.get(wrong), 502, "sha256")
    row = mirror.row(wrong)
    assert row is not None
    assert not row.cached
    assert not mirror.blob(wheel.sha256).exists()
    assert not mirror.blob(row.sha256).exists()
    mirror.upstream.set_fault(None)
    right = mirror.sync(mirror.project)[wheel.filename]
    assert mirror.http.get(right).content == wheel.data
    assert mirror.http.get(wrong).status_code == 404  # the page no longer lists it


def test_upstream_404_is_a_404(mirror: Mirror) -> None:
    wheel, _ = mirror.upstream.add_release(mirror.project, "1.0")
    url = mirror.sync(mirror.project)[wheel.filename]
    mirror.upstream.projects[mirror.project].files.remove(wheel)
    assert_error(mirror.http.get(url), 404, wheel.filename)


def test_a_large_file_cut_short_leaves_the_client_a_broken_body(mirror: Mirror) -> None:
    big = FakeFile.generated(f"{mirror.project}-1.0.tar.gz", 8 * 1024 * 1024)
    mirror.upstream.add_file(mirror.project, big)
    url = mirror.sync(mirror.project)[big.filename]
    mirror.upstream.set_fault(Fault.TRUNCATED)
    received = bytearray()
    with pytest.raises(httpx.RemoteProtocolError):
        read_into(received, mirror, url, big.size)
    assert len(received) < big.size
    row = mirror.row(url)
    assert row is not None
    assert not row.cached
    assert not mirror.blob(big.sha256).exists()
    mirror.upstream.set_fault(None)
    assert hashlib.sha256(mirror.http.get(url).content).hexdigest() == big.sha256


def test_wrong_bytes_of_a_large_file_never_reach_the_client_complete(mirror: Mirror) -> None:
    big = FakeFile.generated(f"{mirror.project}-1.0.tar.gz", 8 * 1024 * 1024)
    mirror.upstream.add_file(mirror.project, big)
    mirror.upstream.set_fault(Fault.WRONG_HASH)
    url = mirror.sync(mirror.project)[big.filename]
    received = bytearray()
    with pytest.raises(httpx.RemoteProtocolError):
        read_into(received, mirror, url, big.size)
    assert 0 < len(received) < big.size  # streamed, but the last chunk was held back
    row = mirror.row(url)
    assert row is not None
    assert not row.cached
    assert not mirror.blob(big.sha256).exists()


def test_a_cached_file_missing_on_disk_is_fetched_again(mirror: Mirror) -> None:
    _, sdist = mirror.upstream.add_release(mirror.project, "1.0")
    url = mirror.sync(mirror.project)[sdist.filename]
    mirror.http.get(url).raise_for_status()
    mirror.blob(sdist.sha256).unlink()
    again = mirror.http.get(url)
    assert again.status_code == 200
    assert again.content == sdist.data
    assert mirror.blob(sdist.sha256).read_bytes() == sdist.data
    assert mirror.upstream.downloads_of(sdist.filename) == 2


def test_a_file_announced_without_hash_is_served_under_plus_e(mirror: Mirror) -> None:
    mirror.upstream.flavour = "html"
    _, sdist = mirror.upstream.add_release(mirror.project, "1.0")
    page_html = mirror.upstream._html_page
    mirror.upstream._html_page = lambda project: page_html(project).replace(  # type: ignore[method-assign]
        f"#sha256={sdist.sha256}".encode(), b""
    )
    url = mirror.sync(mirror.project)[sdist.filename]
    assert "/+e/" in url
    assert mirror.http.head(url).status_code == 200
    reply = mirror.http.get(url)
    assert reply.content == sdist.data
    row = mirror.row(url)
    assert row is not None
    assert (row.cached, row.sha256) == (True, sdist.sha256)


@pytest.mark.parametrize("version", ["1.0+local", "1!2.0"])
def test_url_encoded_filenames_are_stored_and_served_decoded(mirror: Mirror, version: str) -> None:
    files = mirror.upstream.add_release(mirror.project, version)
    upstream_page = mirror.upstream._json_page(mirror.upstream.projects[mirror.project])
    assert b"%21" in upstream_page or b"%2B" in upstream_page
    urls = mirror.sync(mirror.project)
    for file in files:
        url = urls[file.filename]
        assert url.endswith("/" + file.filename)
        assert mirror.http.get(url).content == file.data
        row = mirror.row(url)
        assert row is not None
        assert row.filename == file.filename
        assert row.relpath.endswith("/" + file.filename)
        encoded = url.replace("!", "%21").replace("+", "%2B")
        assert mirror.http.get(encoded).content == file.data  # however it is spelled
        assert mirror.upstream.downloads_of(file.filename) == 1


def test_metadata_announced_upstream_is_fetched_and_cached(mirror: Mirror) -> None:
    wheel, _ = mirror.upstream.add_release(mirror.project, "1.0")
    assert wheel.metadata is not None
    url = mirror.sync(mirror.project)[wheel.filename]
    for _ in range(2):
        reply = mirror.http.get(url + ".metadata")
        assert reply.status_code == 200
        assert reply.content == wheel.metadata
    assert mirror.upstream.downloads_of(wheel.filename + ".metadata") == 1
    assert mirror.upstream.downloads_of(wheel.filename) == 0


def test_metadata_the_upstream_lacks_is_extracted_from_the_wheel(mirror: Mirror) -> None:
    wheel, sdist = mirror.upstream.add_release(mirror.project, "1.0")
    assert wheel.metadata is not None
    json_page = mirror.upstream._json_page
    mirror.upstream._json_page = lambda project: json_page(project).replace(  # type: ignore[method-assign]
        b'"core-metadata"', b'"no-core-metadata"'
    )
    urls = mirror.sync(mirror.project)
    row = mirror.row(urls[wheel.filename])
    assert row is not None
    assert row.core_metadata_sha256 is None
    reply = mirror.http.get(urls[wheel.filename] + ".metadata")
    assert reply.status_code == 200
    assert reply.content == wheel.metadata
    assert mirror.upstream.downloads_of(wheel.filename) == 1
    assert mirror.upstream.downloads_of(wheel.filename + ".metadata") == 0
    row = mirror.row(urls[wheel.filename])
    assert row is not None
    assert row.core_metadata_sha256 == hashlib.sha256(wheel.metadata).hexdigest()
    assert_error(mirror.http.get(urls[sdist.filename] + ".metadata"), 404, "only wheels")


def test_external_urls_redirect_to_the_upstream(
    server: ServerProcess, json_upstream: FakeUpstream, unique: Callable[[str], str]
) -> None:
    mirror = Mirror.create(server, json_upstream, unique("external"), mirror_use_external_urls=True)
    wheel, _ = mirror.upstream.add_release(mirror.project, "1.0")
    url = mirror.sync(mirror.project)[wheel.filename]
    reply = mirror.http.get(url)
    assert reply.status_code == 302
    assert reply.headers["location"] == f"{json_upstream.base}/files/{wheel.filename}"
    assert mirror.upstream.downloads_of(wheel.filename) == 0
    row = mirror.row(url)
    assert row is not None
    assert not row.cached
    mirror.close()


def test_one_warning_per_failed_download_without_credentials(
    start_server: Callable[..., ServerProcess],
) -> None:
    server = start_server()
    with running("json", credentials=("user", "pass-word-1")) as upstream:
        guarded = upstream.url_with_credentials()
        mirror = Mirror.create(server, upstream, "guarded", mirror_url=guarded)
        wheel, _ = upstream.add_release(mirror.project, "1.0")
        url = mirror.sync(mirror.project)[wheel.filename]
        upstream.set_fault(Fault.TRUNCATED)
        assert mirror.http.get(url).status_code == 502
        mirror.close()
    server.stop()
    warnings = [line for line in server.output if "download of" in line]
    assert len(warnings) == 1, server.output
    assert wheel.filename in warnings[0]
    assert "pass-word-1" not in "".join(server.output)


def test_offline_mode_serves_cached_files_and_refuses_the_others(
    start_server: Callable[..., ServerProcess], json_upstream: FakeUpstream
) -> None:
    online = start_server()
    mirror = Mirror.create(online, json_upstream, "offline")
    wheel, sdist = json_upstream.add_release(mirror.project, "1.0")
    urls = mirror.sync(mirror.project)
    mirror.http.get(urls[wheel.filename]).raise_for_status()
    mirror.close()
    online.stop()
    offline = start_server(serverdir=online.serverdir, extra_args=["--offline-mode"])
    requests_before = len(json_upstream.requests)
    with httpx.Client(base_url=offline.url, timeout=60) as client:
        assert client.get(urls[wheel.filename]).content == wheel.data
        assert client.get(urls[wheel.filename] + ".metadata").content == wheel.metadata
        for method in ("GET", "HEAD"):
            reply = client.request(method, urls[sdist.filename])
            assert reply.status_code == 502
        message = assert_error(client.get(urls[sdist.filename]), 502, "offline mode")
        assert sdist.filename in message
        assert_error(client.get(urls[sdist.filename] + ".metadata"), 404, "only wheels")
    assert len(json_upstream.requests) == requests_before


def test_pages_advertise_metadata_extracted_from_a_fetched_wheel(mirror: Mirror) -> None:
    wheel, _ = mirror.upstream.add_release(mirror.project, "1.0")
    assert wheel.metadata is not None
    json_page = mirror.upstream._json_page
    mirror.upstream._json_page = lambda project: json_page(project).replace(  # type: ignore[method-assign]
        b'"core-metadata"', b'"no-core-metadata"'
    )
    url = mirror.sync(mirror.project)[wheel.filename]
    page_url = f"/{mirror.path}/+simple/{mirror.project}/"
    accept = {"Accept": "application/vnd.pypi.simple.v1+json"}

    def advertised() -> object:
        files = mirror.http.get(page_url, headers=accept).json()["files"]
        (entry,) = [entry for entry in files if entry["filename"] == wheel.filename]
        return entry.get("core-metadata")

    assert advertised() is None
    mirror.http.get(url).raise_for_status()
    assert advertised() == {"sha256": hashlib.sha256(wheel.metadata).hexdigest()}

"""The upstream client against a fake upstream over real HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest

from pkgdepot.errors import UpstreamUnavailable
from pkgdepot.mirror.upstream import (
    Downloaded,
    NotModified,
    ProjectList,
    ProjectPage,
    UpstreamClient,
    UpstreamNotFound,
    parse_serial,
)
from tests.support.dists import make_wheel
from tests.support.fake_pages import FakeFile
from tests.support.fake_upstream import FakeUpstream, Fault, running

pytestmark = pytest.mark.timeout(60)  # a client that never gives up would hang, not pass
_T = TypeVar("_T")


def with_client(url: str, use: Callable[[UpstreamClient], Awaitable[_T]], retries: int = 1) -> _T:
    async def run() -> _T:
        async with UpstreamClient(url, timeout=1.0, retries=retries, retry_backoff=0.01) as c:
            return await use(c)

    return asyncio.run(run())


def fetch(upstream: FakeUpstream, project: str, **kwargs: object) -> object:
    return with_client(upstream.url, lambda c: c.fetch_project_page(project, **kwargs))  # type: ignore[arg-type]


def test_project_page_in_both_flavours(upstream: FakeUpstream) -> None:
    files = upstream.add_release("Hello.Pkg", "1.0", requires_python=">=3.8")
    page = fetch(upstream, "hello_pkg")
    assert isinstance(page, ProjectPage)
    assert page.url == upstream.url + "hello-pkg/"
    assert page.serial == upstream.serial_of("hello-pkg")
    assert page.etag
    by_name = {link.filename: link for link in page.links}
    assert sorted(by_name) == sorted(file.filename for file in files)
    for file in files:
        link = by_name[file.filename]
        assert link.sha256 == file.sha256
        assert link.url == f"{upstream.base}/files/{file.filename}"
        assert link.requires_python == ">=3.8"
        metadata = file.metadata
        expected = {"sha256": hashlib.sha256(metadata).hexdigest()} if metadata else False
        assert link.core_metadata == expected
    accept = upstream.requests_for("/simple/hello-pkg/")[0].headers["accept"]
    assert accept.startswith("application/vnd.pypi.simple.v1+json")


def test_yanked_in_both_flavours(upstream: FakeUpstream) -> None:
    upstream.add_release("pkg", "1.0", yanked='bad "build" <x>', sdist=False)
    upstream.add_release("pkg", "2.0", yanked=True, sdist=False)
    page = fetch(upstream, "pkg")
    assert isinstance(page, ProjectPage)
    assert [(link.yanked, link.yanked_reason) for link in page.links] == [
        (True, 'bad "build" <x>'),
        (True, None),
    ]


def test_json_extras(json_upstream: FakeUpstream) -> None:
    (wheel,) = json_upstream.add_release("pkg", "1.0", sdist=False)
    page = fetch(json_upstream, "pkg")
    assert isinstance(page, ProjectPage)
    (link,) = page.links
    assert link.size == len(wheel.data)
    assert link.upload_time == "2024-01-02T03:04:05.000000Z"


def test_percent_encoded_filenames_are_decoded(upstream: FakeUpstream) -> None:
    names = []
    for version in ("1.0+local", "1!2.0"):
        filename, data = make_wheel("enc", version)
        upstream.add_file("enc", FakeFile(filename, data))
        names.append(filename)
    page = fetch(upstream, "enc")
    assert isinstance(page, ProjectPage)
    assert [link.filename for link in page.links] == names
    assert page.links[0].url.endswith("/files/enc-1.0%2Blocal-py3-none-any.whl")
    assert page.links[1].url.endswith("/files/enc-1%212.0-py3-none-any.whl")


def test_etag_gives_not_modified_until_the_page_changes(upstream: FakeUpstream) -> None:
    upstream.add_release("pkg", "1.0")
    page = fetch(upstream, "pkg")
    assert isinstance(page, ProjectPage)
    again = fetch(upstream, "pkg", etag=page.etag)
    assert again == NotModified(etag=page.etag, serial=page.serial)
    assert upstream.requests_for("/simple/pkg/")[-1].headers["if-none-match"] == page.etag
    upstream.add_release("pkg", "2.0")
    changed = fetch(upstream, "pkg", etag=page.etag)
    assert isinstance(changed, ProjectPage)
    assert changed.serial > page.serial
    assert len(changed.links) == 4


def test_unknown_project_is_not_found(upstream: FakeUpstream) -> None:
    assert fetch(upstream, "nothing-here") == UpstreamNotFound()
    assert len(upstream.requests_for("/simple/nothing-here/")) == 1  # not retried


@pytest.mark.parametrize(
    ("value", "expected"), [("17", 17), (" 5 ", 5), (None, -1), ("", -1), ("x", -1)]
)
def test_parse_serial(value: str | None, expected: int) -> None:
    assert parse_serial(value) == expected


@pytest.mark.parametrize(
    "fault",
    [Fault.DOWN, Fault.SLOW, Fault.ERROR_500, Fault.RESET, Fault.TRUNCATED],
    ids=lambda fault: fault.value,
)
def test_each_fault_is_upstream_unavailable_after_bounded_retries(
    upstream: FakeUpstream, fault: Fault
) -> None:
    upstream.add_release("pkg", "1.0")
    upstream.set_fault(fault)
    with pytest.raises(UpstreamUnavailable, match="unavailable after 3 attempts") as caught:
        with_client(upstream.url, lambda c: c.fetch_project_page("pkg"), retries=2)
    assert caught.value.status == 502
    if fault is not Fault.DOWN:
        assert len(upstream.requests_for("/simple/pkg/")) == 3
    upstream.set_fault(None)
    assert isinstance(fetch(upstream, "pkg"), ProjectPage)  # and it recovers


def test_a_serial_going_backwards_is_a_fault(upstream: FakeUpstream) -> None:
    upstream.add_release("pkg", "1.0")
    page = fetch(upstream, "pkg")
    assert isinstance(page, ProjectPage)
    upstream.set_fault(Fault.OLDER_SERIAL)
    with pytest.raises(UpstreamUnavailable, match=f"older than {page.serial}"):
        fetch(upstream, "pkg", known_serial=page.serial)
    # Without a known serial (nothing cached yet) the older serial is simply reported.
    older = fetch(upstream, "pkg")
    assert isinstance(older, ProjectPage)
    assert older.serial < page.serial


def test_a_missing_serial_is_not_a_fault(upstream: FakeUpstream) -> None:
    upstream.add_release("pkg", "1.0")
    page = fetch(upstream, "pkg")
    assert isinstance(page, ProjectPage)
    upstream.send_serial = False
    again = fetch(upstream, "pkg", etag=page.etag, known_serial=page.serial)
    assert again == NotModified(etag=page.etag, serial=-1)
    upstream.add_release("pkg", "2.0")
    changed = fetch(upstream, "pkg", etag=page.etag, known_serial=page.serial)
    assert isinstance(changed, ProjectPage)
    assert changed.serial == -1


def test_unparsable_json_page_is_a_fault(json_upstream: FakeUpstream) -> None:
    json_upstream.add_release("pkg", "1.0")
    original = json_upstream._json_page
    json_upstream._json_page = lambda project: b"{not json"  # type: ignore[method-assign]
    try:
        with pytest.raises(UpstreamUnavailable, match="unparsable page"):
            fetch(json_upstream, "pkg")
    finally:
        json_upstream._json_page = original  # type: ignore[method-assign]


def test_credentials_go_as_basic_auth_and_never_come_back() -> None:
    user, password = "mirror user", "s3cr:et@pw"
    with running("json", credentials=(user, password)) as upstream:
        upstream.add_release("pkg", "1.0")
        url = upstream.url_with_credentials()

        async def use(client: UpstreamClient) -> list[object]:
            page = await client.fetch_project_page("pkg")
            async with client.project_list() as listing:
                assert isinstance(listing, ProjectList)
                names = [name async for name in listing.names]
            return [client.url, repr(client), page, listing.etag, names]

        results = with_client(url, use)
        assert isinstance(results[2], ProjectPage)
        assert results[4] == ["pkg"]
        assert "authorization" in upstream.requests_for("/simple/pkg/")[0].headers
        upstream.set_fault(Fault.DOWN)
        with pytest.raises(UpstreamUnavailable) as caught:
            with_client(url, lambda c: c.fetch_project_page("pkg"))
    shown = repr(results) + caught.value.message
    assert "s3cr" not in shown
    assert user not in shown
    assert "mirror%20user" not in shown


def test_wrong_credentials_are_not_retried() -> None:
    with running("json", credentials=("u", "right")) as upstream:
        upstream.add_release("pkg", "1.0")
        bad = upstream.url_with_credentials().replace("right", "wrong")
        with pytest.raises(UpstreamUnavailable, match="HTTP 401"):
            with_client(bad, lambda c: c.fetch_project_page("pkg"))
        assert len(upstream.requests_for("/simple/pkg/")) == 1


def test_proxy_from_environment_is_used(
    json_upstream: FakeUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", json_upstream.base)
    json_upstream.add_release("pkg", "1.0")
    page = with_client("http://upstream.invalid/simple/", lambda c: c.fetch_project_page("pkg"))
    assert isinstance(page, ProjectPage)
    (request,) = json_upstream.requests_for("/simple/pkg/")
    assert request.headers["host"] == "upstream.invalid"


@pytest.mark.parametrize("flavour", ["json", "html"])
def test_project_list_streams_with_etag(flavour: str) -> None:
    with running(flavour) as upstream:
        upstream.list_size = 200_000

        async def use(client: UpstreamClient) -> tuple[int, str, object]:
            count, last = 0, ""
            async with client.project_list() as listing:
                assert isinstance(listing, ProjectList)
                async for name in listing.names:
                    count, last = count + 1, name
            async with client.project_list(etag=listing.etag) as again:
                return count, last, again

        count, last, again = with_client(upstream.url, use)
    assert (count, last) == (200_000, "name-199999")
    assert isinstance(again, NotModified)


@pytest.mark.parametrize("fault", [Fault.TRUNCATED, Fault.RESET, Fault.ERROR_500])
def test_project_list_faults(json_upstream: FakeUpstream, fault: Fault) -> None:
    json_upstream.list_size = 10_000
    json_upstream.set_fault(fault)

    async def use(client: UpstreamClient) -> int:
        async with client.project_list() as listing:
            assert isinstance(listing, ProjectList)
            return len([name async for name in listing.names])

    with pytest.raises(UpstreamUnavailable):
        with_client(json_upstream.url, use)


def download(
    upstream: FakeUpstream, file: FakeFile, sha256: str | None, client_url: str | None = None
) -> tuple[object, bytes]:
    received = bytearray()

    async def write(chunk: bytes) -> None:
        received.extend(chunk)

    url = f"{upstream.base}/files/{file.filename}"
    result = with_client(
        client_url or upstream.url,
        lambda c: c.download_file(url, write, sha256=sha256, size=len(file.data)),
    )
    return result, bytes(received)


def test_download_checks_the_announced_hash(json_upstream: FakeUpstream) -> None:
    wheel, _ = json_upstream.add_release("pkg", "1.0")
    result, data = download(json_upstream, wheel, wheel.sha256)
    assert result == Downloaded(len(wheel.data), wheel.sha256, None)
    assert data == wheel.data
    with pytest.raises(UpstreamUnavailable, match="sha256"):
        download(json_upstream, wheel, "0" * 64)
    missing = FakeFile("pkg-9.0.tar.gz", b"")
    assert download(json_upstream, missing, None)[0] == UpstreamNotFound()


def test_wrong_hash_on_the_page_is_caught_by_the_download(json_upstream: FakeUpstream) -> None:
    wheel, _ = json_upstream.add_release("pkg", "1.0")
    json_upstream.set_fault(Fault.WRONG_HASH)
    page = fetch(json_upstream, "pkg")
    assert isinstance(page, ProjectPage)
    announced = next(link.sha256 for link in page.links if link.filename == wheel.filename)
    assert announced != wheel.sha256
    with pytest.raises(UpstreamUnavailable, match="sha256"):
        download(json_upstream, wheel, announced)


def test_download_sends_credentials_only_to_the_mirror_host(json_upstream: FakeUpstream) -> None:
    wheel, _ = json_upstream.add_release("pkg", "1.0")
    with running("json", credentials=("u", "pw")) as mirror:
        result, _ = download(json_upstream, wheel, wheel.sha256, mirror.url_with_credentials())
    assert isinstance(result, Downloaded)
    (request,) = json_upstream.requests_for(f"/files/{wheel.filename}")
    assert "authorization" not in request.headers

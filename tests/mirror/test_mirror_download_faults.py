"""A mirrored file whose download goes wrong midway: the upstream stops answering, or the
client that asked for it goes away. The server keeps answering everything else, stores and
serves nothing partial, and a later request gets the whole file.

(An upstream that is down, answers 500, cuts the body short or sends wrong bytes is in
``test_mirror_files_server.py``.)
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator

import httpx
import pytest

from tests.mirror.mirrored import Mirror
from tests.support.api_checks import assert_error
from tests.support.fake_pages import FakeFile
from tests.support.fake_upstream import FakeUpstream, Fault
from tests.support.server import ServerProcess, without_internal_errors
from tests.support.uploading import wait_until

pytestmark = pytest.mark.timeout(120)

REQUEST_TIMEOUT = 2  # seconds the server waits for the upstream; it stalls for 30
BIG = 8 * 1024 * 1024  # several of the server's 256 KiB chunks: the client gets some first


@pytest.fixture(scope="module")
def fault_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = ServerProcess(
        tmp_path_factory.mktemp("download-faults"),
        extra_args=["--request-timeout", str(REQUEST_TIMEOUT), "--upstream-retries", "0"],
    ).start()
    yield process
    process.stop()


@pytest.fixture
def mirror(
    fault_server: ServerProcess, json_upstream: FakeUpstream, unique: Callable[[str], str]
) -> Iterator[Mirror]:
    created = Mirror.create(fault_server, json_upstream, unique("faults"))
    with without_internal_errors(fault_server):
        yield created
    created.close()


def assert_nothing_kept(mirror: Mirror, url: str, sha256: str) -> None:
    """No row marked fetched, no blob, no temporary file, no download left under way."""
    row = mirror.row(url)
    assert row is not None
    assert not row.cached
    assert not mirror.blob(sha256).exists()
    serverdir = mirror.server.serverdir
    assert list((serverdir / "+blobs" / "tmp").iterdir()) == []
    assert list((serverdir / "+mirrors" / "fetching").iterdir()) == []


def assert_answering(mirror: Mirror, cached_url: str, cached: bytes) -> None:
    """Requests that need no upstream are answered: the API, the status, a file stored."""
    assert mirror.http.get("/+api").status_code == 200
    assert mirror.http.get("/+status").status_code == 200
    assert mirror.http.get(cached_url).content == cached


def stored_sdist(mirror: Mirror) -> tuple[str, bytes]:
    """A small file of the project, fetched and stored before anything goes wrong."""
    _, sdist = mirror.upstream.add_release(mirror.project, "0.1")
    url = mirror.sync(mirror.project)[sdist.filename]
    assert mirror.http.get(url).content == sdist.data
    return url, sdist.data


def read_into(received: bytearray, client: httpx.Client, url: str, size: int) -> None:
    """GET ``url``, keeping what arrived in ``received`` even when the body breaks off."""
    with client.stream("GET", url) as reply:
        assert reply.status_code == 200
        assert reply.headers["content-length"] == str(size)
        for chunk in reply.iter_bytes():
            received += chunk


@pytest.mark.parametrize(
    ("fault", "why"),
    [
        (Fault.SLOW, f"no complete answer within {REQUEST_TIMEOUT} s"),
        (Fault.STALLED, "ReadTimeout"),
        (Fault.RESET, "unavailable after 1 attempts: ReadError"),
    ],
    ids=["slow", "stalled", "reset"],
)
def test_a_small_file_the_upstream_fails_to_send_is_a_502(
    mirror: Mirror, fault: Fault, why: str
) -> None:
    """Nothing of a small file reaches the client before the download is complete and checked,
    so a failed one is a clean 502 that says why."""
    cached_url, cached = stored_sdist(mirror)
    wheel, _ = mirror.upstream.add_release(mirror.project, "1.0")
    url = mirror.sync(mirror.project)[wheel.filename]
    mirror.upstream.set_fault(fault)
    message = assert_error(mirror.http.get(url), 502, wheel.filename, why)
    assert message.startswith(f"upstream {mirror.upstream.base}/files/{wheel.filename}")
    assert_nothing_kept(mirror, url, wheel.sha256)
    assert_answering(mirror, cached_url, cached)
    mirror.upstream.set_fault(None)
    reply = mirror.http.get(url)
    assert reply.status_code == 200
    assert hashlib.sha256(reply.content).hexdigest() == wheel.sha256
    assert mirror.upstream.downloads_of(wheel.filename) == 2


def test_an_upstream_that_stalls_midway_leaves_clients_a_broken_body(mirror: Mirror) -> None:
    """Two clients follow one download; the upstream sends half the file and then nothing.
    Both get a body that breaks off short of its length, meanwhile every other request is
    answered, and the file is fetched whole once the upstream is well again."""
    cached_url, cached = stored_sdist(mirror)
    big = FakeFile.generated(f"{mirror.project}-2.0.tar.gz", BIG)
    mirror.upstream.add_file(mirror.project, big)
    url = mirror.sync(mirror.project)[big.filename]
    mirror.upstream.set_fault(Fault.STALLED)
    received = [bytearray(), bytearray()]
    failures: list[Exception] = []

    def follow(into: bytearray) -> None:
        with httpx.Client(base_url=mirror.server.url, timeout=60) as client:
            try:
                read_into(into, client, url, big.size)
            except Exception as error:  # checked below
                failures.append(error)

    threads = [threading.Thread(target=follow, args=(into,)) for into in received]
    for thread in threads:
        thread.start()
    wait_until(lambda: all(received))  # both are streaming what arrived before the stall
    assert_answering(mirror, cached_url, cached)
    for thread in threads:
        thread.join()
    assert len(failures) == 2
    assert all(isinstance(error, httpx.RemoteProtocolError) for error in failures), failures
    assert all(0 < len(into) < big.size for into in received)
    assert mirror.upstream.downloads_of(big.filename) == 1  # one download, both followed it
    assert_nothing_kept(mirror, url, big.sha256)
    mirror.upstream.set_fault(None)
    reply = mirror.http.get(url)
    assert reply.status_code == 200
    assert len(reply.content) == big.size
    assert hashlib.sha256(reply.content).hexdigest() == big.sha256
    assert mirror.upstream.downloads_of(big.filename) == 2


@pytest.mark.parametrize("others", [0, 1], ids=["alone", "with-another-client"])
def test_a_client_that_goes_away_midway_stops_nothing(mirror: Mirror, others: int) -> None:
    """A client hangs up while the file streams: the download goes on and is stored once,
    another client following it gets the whole file, and so does the next request, from disk."""
    cached_url, cached = stored_sdist(mirror)
    big = FakeFile.generated(f"{mirror.project}-3.0.tar.gz", BIG)
    mirror.upstream.add_file(mirror.project, big)
    url = mirror.sync(mirror.project)[big.filename]
    mirror.upstream.file_delay = 0.2  # a MiB every 0.2 s: the download takes 1.6 s
    received = [bytearray() for _ in range(others)]
    failures: list[Exception] = []

    def stay(into: bytearray) -> None:
        with httpx.Client(base_url=mirror.server.url, timeout=60) as client:
            try:
                read_into(into, client, url, big.size)
            except Exception as error:  # checked below
                failures.append(error)

    threads = [threading.Thread(target=stay, args=(into,)) for into in received]
    for thread in threads:
        thread.start()
    with (
        httpx.Client(base_url=mirror.server.url, timeout=60) as leaving,
        leaving.stream("GET", url) as reply,
    ):
        assert reply.status_code == 200
        first = next(reply.iter_raw())
        assert 0 < len(first) < big.size
    # The connection is closed now, with most of the file not sent yet.
    assert_answering(mirror, cached_url, cached)
    for thread in threads:
        thread.join()
    assert failures == []
    for into in received:
        assert len(into) == big.size
        assert hashlib.sha256(into).hexdigest() == big.sha256
    wait_until(lambda: (row := mirror.row(url)) is not None and row.cached)
    assert mirror.blob(big.sha256).stat().st_size == big.size
    mirror.upstream.file_delay = 0.0
    again = mirror.http.get(url)
    assert again.status_code == 200
    assert hashlib.sha256(again.content).hexdigest() == big.sha256
    assert again.headers["etag"] == f'"{big.sha256}"'
    assert mirror.upstream.downloads_of(big.filename) == 1
    serverdir = mirror.server.serverdir
    assert list((serverdir / "+blobs" / "tmp").iterdir()) == []
    assert list((serverdir / "+mirrors" / "fetching").iterdir()) == []

"""Large uploads stream to disk in constant memory; the size limit answers 413 and keeps nothing."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager

import httpx

from tests.support import dists
from tests.support.client import Api, basic
from tests.support.procs import peak_rss_bytes, process_tree, reset_peak_rss
from tests.support.server import ServerProcess
from tests.support.streams import (
    MIB,
    MULTIPART_TYPE,
    big_wheel,
    digest_of,
    multipart_upload,
    upload_fields,
)

PEAK_RSS_LIMIT = 200 * MIB
GROWTH_LIMIT = 64 * MIB  # above what the server held before the upload began


@contextmanager
def server_with_index(
    start_server: Callable[..., ServerProcess], *extra_args: str
) -> Iterator[tuple[ServerProcess, Api]]:
    server = start_server(workers=1, extra_args=list(extra_args))
    with closing(Api(server.url)) as api:
        api.create_user("alice")
        api.create_index("alice/dev")
        yield server, api


def serial(api: Api) -> int:
    value: int = api.http.get("/+status").json()["result"]["serial"]
    return value


def test_one_gigabyte_upload_in_constant_memory(
    start_server: Callable[..., ServerProcess],
) -> None:
    with server_with_index(start_server) as (server, api):
        assert server.process is not None
        pids = process_tree(server.process.pid)
        for pid in pids:  # forget start-up peaks (argon2 alone takes 64 MiB for a moment)
            reset_peak_rss(pid)
        at_start = {pid: peak_rss_bytes(pid) for pid in pids}
        filename, chunks = big_wheel("big-pkg", "1.0", payload_mib=1024)
        sha256, size = digest_of(chunks())
        assert size > 1024 * MIB
        body = multipart_upload(upload_fields("big-pkg", "1.0"), filename, chunks())
        reply = httpx.post(
            f"{server.url}/alice/dev/",
            content=body,  # a generator: sent chunked, never held in memory
            headers={"Content-Type": MULTIPART_TYPE, **basic("alice", "secret")},
            timeout=600,
        )
        assert reply.status_code == 200, reply.text
        page = api.http.get("/alice/dev/+simple/big-pkg/", headers={"Accept": "text/html"})
        assert f"#sha256={sha256}" in page.text
        url = f"/alice/dev/+f/{sha256[:3]}/{sha256[3:16]}/{filename}"
        downloaded = hashlib.sha256()
        received = 0
        with api.http.stream("GET", url, headers={"Accept": "*/*"}) as download:
            assert download.status_code == 200
            assert download.headers["content-length"] == str(size)
            for chunk in download.iter_bytes(MIB):
                downloaded.update(chunk)
                received += len(chunk)
        assert (received, downloaded.hexdigest()) == (size, sha256)
        peaks = {pid: peak_rss_bytes(pid) for pid in pids}
        assert max(peaks.values()) < PEAK_RSS_LIMIT, peaks
        growth = {pid: peaks[pid] - at_start[pid] for pid in pids}
        assert max(growth.values()) < GROWTH_LIMIT, (at_start, peaks)
        assert list((server.serverdir / "+blobs" / "tmp").iterdir()) == []


def assert_nothing_stored(server: ServerProcess, api: Api, serial_before: int) -> None:
    assert serial(api) == serial_before
    page = api.http.get("/alice/dev/+simple/limited/", headers={"Accept": "text/html"})
    assert page.status_code == 404
    assert list((server.serverdir / "+blobs" / "tmp").iterdir()) == []


def test_upload_with_too_large_content_length_gets_413(
    start_server: Callable[..., ServerProcess],
) -> None:
    with server_with_index(start_server, "--max-upload-size", "100000") as (server, api):
        before = serial(api)
        incompressible = random.Random(1).randbytes(150_000)
        filename, data = dists.make_wheel("limited", "1.0", payload=incompressible)
        assert len(data) > 100_000
        reply = api.upload("alice/dev", filename, data, auth=("alice", "secret"))
        assert reply.status_code == 413
        assert "larger than the limit of 100000" in reply.json()["message"]
        assert "larger than the limit of 100000" in reply.reason_phrase
        assert_nothing_stored(server, api, before)


def test_chunked_upload_that_grows_too_large_gets_413(
    start_server: Callable[..., ServerProcess],
) -> None:
    with server_with_index(start_server, "--max-upload-size", "1000000") as (server, api):
        before = serial(api)
        filename, chunks = big_wheel("limited", "1.0", payload_mib=3)

        def body() -> Iterator[bytes]:
            yield from multipart_upload(upload_fields("limited", "1.0"), filename, chunks())

        reply = httpx.post(
            f"{server.url}/alice/dev/",
            content=body(),
            headers={"Content-Type": MULTIPART_TYPE, **basic("alice", "secret")},
            timeout=60,
        )
        assert reply.status_code == 413
        assert reply.json()["message"] == "upload is larger than the limit of 1000000 bytes"
        assert reply.reason_phrase == "upload is larger than the limit of 1000000 bytes"
        assert_nothing_stored(server, api, before)
        # The connection and the server are fine afterwards, and a small upload gets through.
        filename, data = dists.make_wheel("limited", "1.0")
        assert api.upload("alice/dev", filename, data, auth=("alice", "secret")).status_code == 200

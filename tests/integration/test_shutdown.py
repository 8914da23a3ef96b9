"""SIGTERM: requests in flight finish (a slow download, a slow upload), new connections are
refused meanwhile, and the server exits with status 0; with one worker and with several.

The slow side is always the test's own client, which holds the request open until the test
has seen the server refuse new connections, so nothing here depends on timing."""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing

import httpx
import pytest

from tests.support.client import Api, basic
from tests.support.server import ServerProcess
from tests.support.streams import (
    MIB,
    MULTIPART_TYPE,
    big_wheel,
    digest_of,
    multipart_upload,
    upload_fields,
)

pytestmark = pytest.mark.timeout(180)

# Larger than what the kernel buffers on a loopback connection (a few MiB each way), so the
# server is still sending when the test stops reading.
DOWNLOAD_MIB = 64


def _address(server: ServerProcess) -> tuple[str, int]:
    url = httpx.URL(server.url)
    assert url.port is not None
    return url.host, url.port


def _wait_until_refused(server: ServerProcess, timeout: float = 30) -> None:
    """New connections are refused (the listening socket is closed) before ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(_address(server), timeout=2):
                pass
        except ConnectionRefusedError:
            return
        time.sleep(0.05)
    raise AssertionError("the server still accepts connections after SIGTERM")


def _exit_status(server: ServerProcess) -> int:
    assert server.process is not None
    return server.process.wait(timeout=60)


def _server_with_index(
    start_server: Callable[..., ServerProcess], workers: int
) -> tuple[ServerProcess, Api]:
    server = start_server(workers=workers)
    api = Api(server.url)
    api.create_user("alice")
    api.create_index("alice/dev")
    return server, api


def test_a_slow_download_finishes_after_sigterm_and_the_server_exits_0(
    start_server: Callable[..., ServerProcess],
) -> None:
    server, api = _server_with_index(start_server, workers=1)
    with closing(api):
        filename, chunks = big_wheel("slow-down", "1.0", payload_mib=DOWNLOAD_MIB)
        sha256, size = digest_of(chunks())
        body = multipart_upload(upload_fields("slow-down", "1.0"), filename, chunks())
        headers = {"Content-Type": MULTIPART_TYPE, **basic("alice", "secret")}
        reply = api.http.post("/alice/dev/", content=body, headers=headers)
        assert reply.status_code == 200, reply.text
    assert server.process is not None
    url = f"{server.url}/alice/dev/+f/{sha256[:3]}/{sha256[3:16]}/{filename}"
    received = hashlib.sha256()
    count = 0
    with httpx.stream("GET", url, timeout=60) as download:
        assert download.status_code == 200
        pieces = download.iter_bytes(MIB)
        first = next(pieces)
        received.update(first)
        count += len(first)
        os.kill(server.process.pid, signal.SIGTERM)  # the main process only, as `kill` does
        _wait_until_refused(server)
        assert server.process.poll() is None  # still sending us the rest
        for piece in pieces:
            received.update(piece)
            count += len(piece)
    assert (count, received.hexdigest()) == (size, sha256)
    assert _exit_status(server) == 0


@pytest.fixture
def paused_upload() -> Iterator[tuple[threading.Event, threading.Event]]:
    """(started, resume): the body generator sets ``started``, then waits for ``resume``."""
    started, resume = threading.Event(), threading.Event()
    yield started, resume
    resume.set()  # never leave the uploading thread waiting


def test_a_slow_upload_finishes_after_sigterm_with_two_workers(
    start_server: Callable[..., ServerProcess],
    paused_upload: tuple[threading.Event, threading.Event],
) -> None:
    started, resume = paused_upload
    server, api = _server_with_index(start_server, workers=2)
    api.close()
    filename, chunks = big_wheel("slow-up", "1.0", payload_mib=8)
    sha256, _ = digest_of(chunks())

    def paused() -> Iterator[bytes]:
        for number, chunk in enumerate(chunks()):
            if number == 2:
                started.set()
                assert resume.wait(timeout=60)
            yield chunk

    replies: list[httpx.Response] = []

    def upload() -> None:
        body = multipart_upload(upload_fields("slow-up", "1.0"), filename, paused())
        headers = {"Content-Type": MULTIPART_TYPE, **basic("alice", "secret")}
        replies.append(httpx.post(f"{server.url}/alice/dev/", content=body, headers=headers))

    thread = threading.Thread(target=upload)
    thread.start()
    assert started.wait(timeout=60)
    assert server.process is not None
    os.killpg(server.process.pid, signal.SIGTERM)  # every process, as systemd does
    _wait_until_refused(server)
    assert server.process.poll() is None  # waiting for the upload
    resume.set()
    thread.join(timeout=120)
    assert [reply.status_code for reply in replies] == [200], [r.text for r in replies]
    assert _exit_status(server) == 0

    again = start_server(serverdir=server.serverdir)
    page = httpx.get(f"{again.url}/alice/dev/+simple/slow-up/", headers={"Accept": "text/html"})
    assert f"#sha256={sha256}" in page.text

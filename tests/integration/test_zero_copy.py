"""Stored files sent by the kernel (``os.sendfile``, web/sendfile.py), checked over raw sockets:
whole files and ranges byte for byte, HEAD and 304, keep-alive and pipelined requests after a
file, HTTP/1.0 and ``Connection: close``, clients that go away or stop reading (many at once)
while others are served, and the bytes counted in the metrics and the access log.

The file is larger than what a loopback connection buffers, so the server is still sending when
a client stops reading; nothing here depends on timing.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import signal
import socket
import struct
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, closing
from pathlib import Path

import httpx
import pytest

from tests.integration.test_status_metrics import FILE_ROUTE, scrape, value
from tests.support.client import Api, basic
from tests.support.server import ServerProcess
from tests.support.streams import (
    MIB,
    MULTIPART_TYPE,
    big_wheel,
    multipart_upload,
    upload_fields,
)

pytestmark = pytest.mark.timeout(180)

SIZE_MIB = 24
STALLED = 20  # clients at once that stop reading
SMALL_BUFFER = 256 * 1024  # a stalled client's receive buffer: far smaller than the file


@dataclasses.dataclass(frozen=True)
class Big:
    server: ServerProcess
    path: str  # /USER/INDEX/+f/...
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Big]:
    """A server of its own (its counters and log lines are this module's) with a big wheel."""
    server = ServerProcess(
        tmp_path_factory.mktemp("zero-copy"), extra_args=["--log-level", "info"]
    ).start()
    try:
        with closing(Api(server.url)) as api:
            api.create_user("zc")
            api.create_index("zc/dev")
            filename, chunks = big_wheel("zero-copy", "1.0", payload_mib=SIZE_MIB)
            body = multipart_upload(upload_fields("zero-copy", "1.0"), filename, chunks())
            headers = {"Content-Type": MULTIPART_TYPE, **basic("zc", "secret")}
            reply = api.http.post("/zc/dev/", content=body, headers=headers)
            assert reply.status_code == 200, reply.text
        data = b"".join(chunks())
        sha256 = hashlib.sha256(data).hexdigest()
        yield Big(server, f"/zc/dev/+f/{sha256[:3]}/{sha256[3:16]}/{filename}", data)
    finally:
        server.stop()


# a minimal HTTP/1.x client on a socket, to see exactly what goes over the connection


def connect(server: ServerProcess, receive_buffer: int | None = None) -> socket.socket:
    url = httpx.URL(server.url)
    assert url.port is not None
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if receive_buffer is not None:  # before connecting, so the window stays small
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    sock.settimeout(60)
    sock.connect((url.host, url.port))
    return sock


def request(path: str, method: str = "GET", version: str = "1.1", **headers: str) -> bytes:
    lines = [f"{method} {path} HTTP/{version}", "Host: test"]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


@dataclasses.dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes


class Reader:
    """Replies read one after another from one connection."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""

    def _more(self) -> None:
        data = self.sock.recv(MIB)
        if not data:
            raise EOFError("the server closed the connection")
        self.buffer += data

    def _take(self, size: int) -> bytes:
        while len(self.buffer) < size:
            self._more()
        taken, self.buffer = self.buffer[:size], self.buffer[size:]
        return taken

    def reply(self, head_only: bool = False) -> Reply:
        while b"\r\n\r\n" not in self.buffer:
            self._more()
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        status_line, *lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines:
            name, _, field = line.partition(":")
            headers[name.strip().lower()] = field.strip()
        size = 0 if head_only else int(headers.get("content-length", "0"))
        return Reply(int(status_line.split()[1]), headers, self._take(size))

    def closed(self) -> bool:
        """Whether the server closed the connection once done (nothing more comes)."""
        try:
            self._more()
        except EOFError:
            return True
        return False


def get(big: Big, sock: socket.socket, path: str | None = None, **headers: str) -> Reply:
    sock.sendall(request(path or big.path, **headers))
    return Reader(sock).reply()


def healthy(big: Big) -> None:
    """The server still sends the whole file, right, and logged no error."""
    with closing(connect(big.server)) as sock:
        reply = get(big, sock)
    assert reply.status == 200
    assert hashlib.sha256(reply.body).hexdigest() == big.sha256
    noise = [line for line in big.server.output if "Traceback" in line or "ERROR" in line]
    assert noise == []


def test_the_whole_file_then_the_next_request_on_the_same_connection(big: Big) -> None:
    with closing(connect(big.server)) as sock:
        reader = Reader(sock)
        for _ in range(2):
            sock.sendall(request(big.path))
            reply = reader.reply()
            assert reply.status == 200
            assert reply.headers["content-length"] == str(len(big.data))
            assert reply.headers["etag"] == f'"{big.sha256}"'
            assert reply.body == big.data
        sock.sendall(request("/+api"))
        assert reader.reply().status == 200
        assert reader.buffer == b""


def test_pipelined_requests_are_answered_in_order(big: Big) -> None:
    with closing(connect(big.server)) as sock:
        sock.sendall(request(big.path) + request(big.path, Range="bytes=0-9") + request("/+api"))
        reader = Reader(sock)
        whole, part, api = reader.reply(), reader.reply(), reader.reply()
    assert (whole.status, part.status, api.status) == (200, 206, 200)
    assert whole.body == big.data
    assert part.body == big.data[:10]
    assert api.headers["content-type"] == "application/json"


@pytest.mark.parametrize(
    ("header", "first", "last"),  # negative: from the end
    [
        (f"bytes={5 * MIB}-{15 * MIB}", 5 * MIB, 15 * MIB),
        ("bytes=-100", -100, -1),
        ("bytes=1000-", 1000, -1),
        ("bytes=0-0", 0, 0),
    ],
)
def test_one_range(big: Big, header: str, first: int, last: int) -> None:
    size = len(big.data)
    first, last = first % size, last % size
    with closing(connect(big.server)) as sock:
        reply = get(big, sock, Range=header)
    assert reply.status == 206
    assert reply.headers["content-range"] == f"bytes {first}-{last}/{size}"
    assert reply.headers["content-length"] == str(last - first + 1)
    assert reply.body == big.data[first : last + 1]


def test_head_and_not_modified_send_no_body(big: Big) -> None:
    with closing(connect(big.server)) as sock:
        reader = Reader(sock)
        sock.sendall(request(big.path, method="HEAD"))
        head = reader.reply(head_only=True)
        sock.sendall(request(big.path, method="HEAD", Range="bytes=10-19"))
        head_range = reader.reply(head_only=True)
        sock.sendall(request(big.path, If_None_Match=f'"{big.sha256}"'))
        not_modified = reader.reply()
        sock.sendall(request("/+api"))  # the next reply starts right after those heads
        after = reader.reply()
    assert (head.status, head.headers["content-length"]) == (200, str(len(big.data)))
    assert (head_range.status, head_range.headers["content-length"]) == (206, "10")
    assert (not_modified.status, not_modified.body) == (304, b"")
    assert after.status == 200


@pytest.mark.parametrize("version", ["1.0", "1.1"])
def test_the_connection_is_closed_after_the_file_when_the_client_asks(
    big: Big, version: str
) -> None:
    headers = {"Connection": "close"} if version == "1.1" else {}
    with closing(connect(big.server)) as sock:
        sock.sendall(request(big.path, version=version, **headers))
        reader = Reader(sock)
        reply = reader.reply()
        assert reply.body == big.data
        assert reply.headers["connection"] == "close"
        assert reader.closed()


def _abort(sock: socket.socket) -> None:
    """Close with a reset (RST), as a killed client's kernel does."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


@pytest.mark.parametrize("how", ["close", "reset"])
def test_a_client_gone_mid_file_leaves_the_server_healthy(big: Big, how: str) -> None:
    sock = connect(big.server, receive_buffer=SMALL_BUFFER)
    sock.sendall(request(big.path, Range=f"bytes={MIB}-"))
    reader = Reader(sock)
    assert reader.reply(head_only=True).status == 206
    assert reader.buffer or not reader.closed()  # some of the body came
    if how == "reset":
        _abort(sock)
    else:
        sock.close()
    healthy(big)


def test_stalled_clients_block_neither_the_server_nor_other_downloads(big: Big) -> None:
    """Many stalled downloads hold no thread (web/sendfile.py), and all complete once their
    clients read again."""
    with ExitStack() as stack:
        stalled = []
        tail = 8 * MIB  # still far more than the connection buffers
        for _ in range(STALLED):
            sock = stack.enter_context(closing(connect(big.server, SMALL_BUFFER)))
            sock.sendall(request(big.path, Range=f"bytes=-{tail}"))
            stalled.append(sock)
        for _ in range(2):  # meanwhile, other clients get whole files and pages
            healthy(big)
            with closing(connect(big.server)) as sock:
                assert get(big, sock, "/+api").status == 200
        for sock in stalled:
            reply = Reader(sock).reply()
            assert reply.body == big.data[-tail:]
        gone = connect(big.server, SMALL_BUFFER)  # stalled, then reset while waiting
        gone.sendall(request(big.path))
        healthy(big)
        _abort(gone)
    healthy(big)


def _access_lines(server: ServerProcess, marker: str) -> list[str]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = [line for line in list(server.output) if marker in line]
        if found:
            return found
        time.sleep(0.05)
    return []


def test_bytes_sent_are_counted_and_logged(big: Big) -> None:
    before = scrape(big.server)
    with closing(connect(big.server)) as sock:
        reader = Reader(sock)
        sock.sendall(request(big.path + "?marker=zc-whole"))
        assert reader.reply().body == big.data
        sock.sendall(request(big.path + "?marker=zc-range", Range="bytes=100-199"))
        assert len(reader.reply().body) == 100
        sock.sendall(request(big.path + "?marker=zc-head", method="HEAD"))
        reader.reply(head_only=True)
    after = scrape(big.server)
    sent = "pkgdepot_http_response_bytes_total"
    moved = value(after, sent, route=FILE_ROUTE) - value(before, sent, route=FILE_ROUTE)
    assert moved == len(big.data) + 100
    for marker, size in (("zc-whole", len(big.data)), ("zc-range", 100), ("zc-head", 0)):
        [line] = _access_lines(big.server, marker)
        assert f' HTTP/1.1" {200 if marker != "zc-range" else 206} {size} ' in line


def test_over_a_unix_socket_with_two_workers(
    start_server: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    path = tmp_path / "s.sock"  # short: a unix socket path has at most 107 bytes
    server = start_server(workers=2, extra_args=["--unix-socket", str(path)])
    filename, chunks = big_wheel("unix-copy", "1.0", payload_mib=12)
    data = b"".join(chunks())
    sha256 = hashlib.sha256(data).hexdigest()
    with server.client(timeout=60) as http:
        assert http.put("/ux", json={"password": "pw"}).status_code == 201
        assert http.put("/ux/dev", json={}, headers=basic("ux", "pw")).status_code == 201
        body = multipart_upload(upload_fields("unix-copy", "1.0"), filename, chunks())
        headers = {"Content-Type": MULTIPART_TYPE, **basic("ux", "pw")}
        assert http.post("/ux/dev/", content=body, headers=headers).status_code == 200
        url = f"/ux/dev/+f/{sha256[:3]}/{sha256[3:16]}/{filename}"
        for _ in range(4):  # both workers, most likely
            assert http.get(url).content == data
        part = http.get(url, headers={"Range": f"bytes={MIB}-{3 * MIB - 1}"})
        assert (part.status_code, part.content) == (206, data[MIB : 3 * MIB])


def test_a_stalled_download_is_cut_off_after_the_shutdown_timeout(
    start_server: Callable[..., ServerProcess],
) -> None:
    server = start_server(extra_args=["--shutdown-timeout", "1"])
    filename, chunks = big_wheel("cut-off", "1.0", payload_mib=12)
    sha256 = hashlib.sha256(b"".join(chunks())).hexdigest()
    with closing(Api(server.url)) as api:
        api.create_user("cut")
        api.create_index("cut/dev")
        body = multipart_upload(upload_fields("cut-off", "1.0"), filename, chunks())
        headers = {"Content-Type": MULTIPART_TYPE, **basic("cut", "secret")}
        assert api.http.post("/cut/dev/", content=body, headers=headers).status_code == 200
    with closing(connect(server, SMALL_BUFFER)) as sock:
        sock.sendall(request(f"/cut/dev/+f/{sha256[:3]}/{sha256[3:16]}/{filename}"))
        reader = Reader(sock)
        head = reader.reply(head_only=True)
        assert server.process is not None
        os.kill(server.process.pid, signal.SIGTERM)
        assert server.process.wait(timeout=60) == 0  # once the download is given up
        received = len(reader.buffer)
        while data := sock.recv(MIB):
            received += len(data)
    assert received < int(head.headers["content-length"])

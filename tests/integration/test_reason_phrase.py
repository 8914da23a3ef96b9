"""Error messages travel in the HTTP reason phrase too (twine and devpi-client show it)."""

from __future__ import annotations

import socket
from collections.abc import Callable
from urllib.parse import urlsplit

from tests.support import dists
from tests.support.client import Api
from tests.support.server import ServerProcess


def status_line(url: str, request: bytes) -> bytes:
    """The raw first line of the reply to ``request``, sent over a plain socket."""
    parts = urlsplit(url)
    assert parts.hostname is not None
    assert parts.port is not None
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        sock.sendall(request)
        received = b""
        while b"\r\n" not in received:
            chunk = sock.recv(4096)
            if not chunk:
                break
            received += chunk
    return received.split(b"\r\n", 1)[0]


def test_status_line_carries_the_message(server: ServerProcess) -> None:
    request = b"GET /nobody/nothing/+simple/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    assert status_line(server.url, request) == (
        b"HTTP/1.1 404 The stage nobody/nothing could not be found."
    )


def test_success_keeps_the_standard_reason(server: ServerProcess) -> None:
    request = b"GET /+api HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    assert status_line(server.url, request) == b"HTTP/1.1 200 OK"


def test_upload_errors_in_reason_phrase_and_body(api: Api, unique: Callable[[str], str]) -> None:
    user = unique("reason")
    api.create_user(user)
    api.create_index(f"{user}/prod", volatile=False)
    filename, data = dists.make_wheel("reason-pkg", "1.0")
    anonymous = api.upload(f"{user}/prod", filename, data)
    assert anonymous.status_code == 401
    assert anonymous.reason_phrase == "Unauthorized: " + anonymous.json()["message"]
    assert anonymous.reason_phrase == "Unauthorized: authentication required to upload"
    first = api.upload(f"{user}/prod", filename, data, auth=(user, "secret"))
    assert first.status_code == 200
    assert first.reason_phrase == "OK"
    _, other = dists.make_wheel("reason-pkg", "1.0", summary="different")
    conflict = api.upload(f"{user}/prod", filename, other, auth=(user, "secret"))
    assert conflict.status_code == 409
    assert conflict.reason_phrase == conflict.json()["message"]
    assert filename in conflict.reason_phrase


def test_reason_phrase_is_one_line_of_ascii(api: Api, unique: Callable[[str], str]) -> None:
    """Control characters and non-ASCII in a message cannot break or inject into the headers."""
    user = unique("reason")
    api.create_user(user)
    api.create_index(f"{user}/dev")
    filename, data = dists.make_wheel("ok-pkg", "1.0")
    for name in ("bad\r\nX-Injected: 1", "naïve pkg"):
        reply = api.upload(
            f"{user}/dev", filename, data, auth=(user, "secret"), name=name, version="1.0"
        )
        assert reply.status_code == 400
        assert "X-Injected" not in reply.headers
        assert name in reply.json()["message"] or repr(name)[1:-1] in reply.json()["message"]
        assert reply.reason_phrase.isascii()
        assert reply.reason_phrase.isprintable()
        assert reply.reason_phrase.startswith("invalid project name")


def test_long_messages_are_cut_in_the_status_line_only(server: ServerProcess) -> None:
    long_user = "u" * 400
    request = (
        f"GET /{long_user}/nothing/+simple/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    ).encode()
    line = status_line(server.url, request)
    assert line.startswith(b"HTTP/1.1 404 The stage uuu")
    assert len(line) <= len(b"HTTP/1.1 404 ") + 300
    api = Api(server.url)
    try:
        reply = api.http.get(f"/{long_user}/nothing/+simple/", headers={"Accept": "text/html"})
        assert long_user in reply.json()["message"]
    finally:
        api.close()

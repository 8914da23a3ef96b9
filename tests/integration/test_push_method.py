"""devpi-client pushes with the request method ``PUSH``: it reaches the app as ``PUSH``, on
fresh and on kept-alive connections, and other requests on the same connection are unaffected."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from urllib.parse import urlsplit

from tests.support.client import Api, basic
from tests.support.server import ServerProcess


class Connection:
    """One kept-alive HTTP/1.1 connection, for requests written byte by byte."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        assert parts.hostname is not None
        assert parts.port is not None
        self.sock = socket.create_connection((parts.hostname, parts.port), timeout=30)
        self.buffer = b""

    def close(self) -> None:
        self.sock.close()

    def request(
        self, method: str, path: str, body: bytes = b"", auth: tuple[str, str] | None = None
    ) -> tuple[str, dict[str, str], bytes]:
        head = f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n"
        if auth is not None:
            head += f"Authorization: {basic(*auth)['Authorization']}\r\n"
        self.sock.sendall(head.encode() + b"Accept: application/json\r\n\r\n" + body)
        while b"\r\n\r\n" not in self.buffer:
            self._receive()
        raw_head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        status_line, *lines = raw_head.decode("latin-1").split("\r\n")
        headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in lines)}
        length = int(headers.get("content-length", "0"))
        while len(self.buffer) < length:
            self._receive()
        reply, self.buffer = self.buffer[:length], self.buffer[length:]
        return status_line, headers, reply

    def _receive(self) -> None:
        chunk = self.sock.recv(65536)
        assert chunk, "the server closed the connection"
        self.buffer += chunk


def test_push_reaches_the_push_handler_between_other_requests(
    server: ServerProcess, api: Api, unique: Callable[[str], str]
) -> None:
    user = unique("pusher")
    api.create_user(user, password="pw")
    api.create_index(f"{user}/dev", auth=(user, "pw"))
    connection = Connection(server.url)
    try:
        assert connection.request("GET", "/+api")[0] == "HTTP/1.1 200 OK"
        body = json.dumps({"name": "nothing-here", "version": "1.0", "targetindex": "a/b"})
        status, _, reply = connection.request("PUSH", f"/{user}/dev", body.encode())
        assert status.startswith("HTTP/1.1 404"), status
        assert "a/b" in json.loads(reply)["message"]  # the push handler looked for the target
        assert connection.request("GET", "/+api")[0] == "HTTP/1.1 200 OK"
        status, headers, _ = connection.request("PUSH", "/+api")
        assert status.startswith("HTTP/1.1 405")
        assert "PUSH" not in headers["allow"]
        assert connection.request("GET", f"/{user}/dev")[0] == "HTTP/1.1 200 OK"
    finally:
        connection.close()


def test_a_push_on_a_fresh_connection_gets_the_actionlog(
    server: ServerProcess, api: Api, unique: Callable[[str], str]
) -> None:
    user = unique("pusher")
    api.create_user(user, password="pw")
    api.create_index(f"{user}/dev", auth=(user, "pw"))
    connection = Connection(server.url)
    try:
        body = json.dumps({"name": "nothing-here", "version": "1.0", "targetindex": f"{user}/dev"})
        status, _, reply = connection.request(
            "PUSH", f"/{user}/dev", body.encode(), auth=(user, "pw")
        )
    finally:
        connection.close()
    assert status.startswith("HTTP/1.1 400"), status
    message = json.loads(reply)["message"]
    assert message == f"there are no files for nothing-here 1.0 on stage {user}/dev"

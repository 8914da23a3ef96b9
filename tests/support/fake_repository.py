"""A fake repository that takes legacy uploads (twine's API) on 127.0.0.1 and remembers them."""

from __future__ import annotations

import base64
import dataclasses
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import Message
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclasses.dataclass(frozen=True)
class Received:
    fields: dict[str, list[str]]
    files: dict[str, tuple[str, bytes]]  # field -> (filename, content)
    auth: tuple[str, str] | None


def parse_form(
    content_type: str, body: bytes
) -> tuple[dict[str, list[str]], dict[str, tuple[str, bytes]]]:
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + body)
    fields: dict[str, list[str]] = {}
    files: dict[str, tuple[str, bytes]] = {}
    for part in message.iter_parts():
        assert isinstance(part, Message)
        name = str(part.get_param("name", header="content-disposition"))
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes)
        filename = part.get_filename()
        if filename is None:
            fields.setdefault(name, []).append(payload.decode())
        else:
            files[name] = (filename, payload)
    return fields, files


class FakeRepository:
    def __init__(self, status: int, text: str) -> None:
        self.status = status
        self.text = text
        self.received: list[Received] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/legacy/"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        repository = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                fields, files = parse_form(self.headers["Content-Type"], body)
                repository.received.append(Received(fields, files, _basic(self.headers)))
                reply = repository.text.encode()
                self.send_response(repository.status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler

    def start(self) -> FakeRepository:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def _basic(headers: Message) -> tuple[str, str] | None:
    value = headers.get("Authorization")
    if value is None or not value.startswith("Basic "):
        return None
    user, _, password = base64.b64decode(value[6:]).decode().partition(":")
    return user, password


@contextmanager
def running_repository(status: int = 200, text: str = "OK") -> Iterator[FakeRepository]:
    repository = FakeRepository(status, text).start()
    try:
        yield repository
    finally:
        repository.stop()

"""A fake upstream simple index on 127.0.0.1, for mirror tests. Never touches the internet.

It serves real wheels and sdists (``tests/support/dists.py``) with their real sha256, as PEP 691
JSON or PEP 503 HTML, with ETag/304 and ``X-PyPI-Last-Serial``, a project list that can be
generated lazily for any number of names, and faults that tests switch on and off while it runs.

It is a small HTTP/1.1 server on raw asyncio sockets (not an ASGI app) so that it can refuse
connections, reset them, or cut a body short, exactly like a broken upstream would.
"""

from __future__ import annotations

import asyncio
import base64
import enum
import hashlib
import socket
import struct
import threading
from collections.abc import AsyncIterator, Coroutine, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote

import orjson
from packaging.utils import canonicalize_name

from tests.support.dists import make_sdist, make_wheel
from tests.support.fake_pages import (
    FakeFile,
    FakeProject,
    generated_list_chunks,
    html_page,
    json_page,
)

JSON_TYPE = "application/vnd.pypi.simple.v1+json"
HTML_TYPE = "application/vnd.pypi.simple.v1+html"
FIRST_SERIAL = 1000
FILE_PIECES = 8


class Fault(enum.Enum):
    DOWN = "down"  # connection refused
    SLOW = "slow"  # waits ``slow_seconds`` before answering
    ERROR_500 = "500"
    RESET = "reset"  # TCP reset instead of an answer
    TRUNCATED = "truncated"  # announces the full length, sends half, closes
    STALLED = "stalled"  # announces the full length, sends half, then nothing for slow_seconds
    WRONG_HASH = "wrong-hash"  # pages announce a sha256 that does not match the file
    OLDER_SERIAL = "older-serial"  # X-PyPI-Last-Serial lower than before


@dataclass(frozen=True)
class LoggedRequest:
    method: str
    path: str
    headers: dict[str, str]


@dataclass
class _Reply:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    stream: AsyncIterator[bytes] | None = None


_REASONS = {200: "OK", 304: "Not Modified", 401: "Unauthorized", 404: "Not Found", 500: "Error"}


class FakeUpstream:
    """Start with ``start()`` (or the ``running()`` context manager); ``url`` is its index."""

    def __init__(self, flavour: str = "json", credentials: tuple[str, str] | None = None) -> None:
        assert flavour in ("json", "html")
        self.flavour = flavour
        self.credentials = credentials
        self.projects: dict[str, FakeProject] = {}
        self.requests: list[LoggedRequest] = []
        self.slow_seconds = 30.0
        self.list_size: int | None = None  # generate this many extra names in the project list
        self.list_extra: list[str] = []  # more names in the (not generated) project list
        self.send_serial = True  # False: no X-PyPI-Last-Serial header at all
        self.file_delay = 0.0  # > 0: file bodies come in pieces this far apart (``file_body``)
        self.port = 0
        self._serial = FIRST_SERIAL
        self._fault: Fault | None = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    # ---- life cycle -------------------------------------------------------------------

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """The simple index URL, for ``mirror_url``."""
        return f"{self.base}/simple/"

    def url_with_credentials(self) -> str:
        assert self.credentials
        user, password = (quote(part, safe="") for part in self.credentials)
        return f"http://{user}:{password}@127.0.0.1:{self.port}/simple/"

    def start(self) -> FakeUpstream:
        self._thread.start()
        self._call(self._listen())
        return self

    def stop(self) -> None:
        self._call(self._shutdown())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    @property
    def fault(self) -> Fault | None:
        return self._fault

    def set_fault(self, fault: Fault | None) -> None:
        """Switch a fault on (or all off with None); DOWN closes the port until switched off."""
        if fault is Fault.DOWN and self._fault is not Fault.DOWN:
            self._call(self._close_listener())
        elif fault is not Fault.DOWN and self._fault is Fault.DOWN:
            self._call(self._listen())
        self._fault = fault

    def _call(self, coroutine: Coroutine[Any, Any, None]) -> None:
        asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=10)

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(
            self._serve_connection, "127.0.0.1", self.port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def _close_listener(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()

    async def _shutdown(self) -> None:
        await self._close_listener()
        current = asyncio.current_task()
        tasks = [task for task in asyncio.all_tasks() if task is not current]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # ---- content ----------------------------------------------------------------------

    def add_release(
        self,
        name: str,
        version: str,
        *,
        requires: Sequence[str] = (),
        requires_python: str | None = None,
        yanked: bool | str = False,
        sdist: bool = True,
    ) -> list[FakeFile]:
        """Add a wheel (and an sdist) of ``name`` ``version``; bumps the project's serial."""
        self._serial += 1
        project = self.projects.setdefault(
            canonicalize_name(name), FakeProject(name=name, serial=self._serial)
        )
        project.serial = self._serial
        built = [make_wheel(name, version, requires=requires, requires_python=requires_python)]
        if sdist:
            built.append(make_sdist(name, version, requires_python=requires_python))
        added = [FakeFile(f, data, requires_python, yanked) for f, data in built]
        project.files += added
        return added

    def add_file(self, project_name: str, file: FakeFile) -> None:
        """Add a file under any filename (e.g. with ``+`` or ``!`` that get percent-encoded)."""
        self._serial += 1
        project = self.projects.setdefault(
            canonicalize_name(project_name), FakeProject(name=project_name, serial=self._serial)
        )
        project.serial = self._serial
        project.files.append(file)

    def serial_of(self, name: str) -> int:
        return self.projects[canonicalize_name(name)].serial

    def requests_for(self, path: str) -> list[LoggedRequest]:
        return [request for request in self.requests if request.path == path]

    def downloads_of(self, filename: str) -> int:
        """How many times the file's bytes were asked for (GET)."""
        path = f"/files/{filename}"
        return sum(1 for r in self.requests if r.method == "GET" and unquote(r.path) == path)

    # ---- HTTP -------------------------------------------------------------------------

    async def _serve_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self._writers.add(writer)
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError):
                    return
                request = self._parse_head(head)
                self.requests.append(request)
                if not await self._answer(request, writer):
                    return
        except asyncio.CancelledError:
            return  # shutting down (a SLOW reply may still be waiting)
        finally:
            self._writers.discard(writer)
            writer.transport.abort()

    @staticmethod
    def _parse_head(head: bytes) -> LoggedRequest:
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        if "://" in target:  # absolute form, as sent to a proxy
            target = "/" + target.split("://", 1)[1].split("/", 1)[1]
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                key, value = line.split(":", 1)
                headers[key.strip().lower()] = value.strip()
        return LoggedRequest(method, target.split("?", 1)[0], headers)

    async def _answer(self, request: LoggedRequest, writer: asyncio.StreamWriter) -> bool:
        """Send one reply; False when the connection must end."""
        fault = self._fault
        if fault is Fault.SLOW:
            await asyncio.sleep(self.slow_seconds)
        if fault is Fault.RESET:
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
            return False
        reply = self._route(request)
        if fault is Fault.ERROR_500:
            reply = _Reply(500, {"Content-Type": "text/plain"}, b"upstream exploded")
        status_line = f"HTTP/1.1 {reply.status} {_REASONS.get(reply.status, 'Status')}\r\n"
        headers = dict(reply.headers)
        if reply.stream is None:
            headers["Content-Length"] = str(len(reply.body))
        else:
            headers["Transfer-Encoding"] = "chunked"
        head = status_line + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        writer.write(head.encode("latin-1"))
        if request.method == "HEAD":
            await writer.drain()
            return True
        if fault in (Fault.TRUNCATED, Fault.STALLED):
            body = reply.body
            if reply.stream is not None:
                body = b"".join([chunk async for chunk in reply.stream])
                writer.write(f"{len(body):x}\r\n".encode())
            writer.write(body[: len(body) // 2])
            await writer.drain()
            if fault is Fault.STALLED:
                await asyncio.sleep(self.slow_seconds)  # the connection open, silent
            return False
        if reply.stream is None:
            writer.write(reply.body)
        else:
            async for chunk in reply.stream:
                writer.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                await writer.drain()
            writer.write(b"0\r\n\r\n")
        await writer.drain()
        return True

    def _authorized(self, request: LoggedRequest) -> bool:
        if self.credentials is None:
            return True
        token = base64.b64encode(":".join(self.credentials).encode()).decode()
        return request.headers.get("authorization") == f"Basic {token}"

    def _route(self, request: LoggedRequest) -> _Reply:
        if not self._authorized(request):
            return _Reply(401, {"WWW-Authenticate": 'Basic realm="fake"'}, b"")
        parts = request.path.strip("/").split("/")
        if parts == ["simple"]:
            return self._project_list(request)
        if len(parts) == 2 and parts[0] == "simple":
            return self._project_page(request, parts[1])
        if len(parts) == 2 and parts[0] == "files":
            return self._file(unquote(parts[1]))
        return _Reply(404, {}, b"not found")

    def _serial_header(self, serial: int) -> str:
        return str(serial - 10 if self._fault is Fault.OLDER_SERIAL else serial)

    def _with_etag(self, request: LoggedRequest, reply: _Reply, serial: int) -> _Reply:
        etag = f'"{hashlib.sha256(reply.body).hexdigest()[:20]}"'
        reply.headers["ETag"] = etag
        if self.send_serial:
            reply.headers["X-PyPI-Last-Serial"] = self._serial_header(serial)
        if request.headers.get("if-none-match") == etag:
            return _Reply(304, {k: v for k, v in reply.headers.items() if k != "Content-Type"})
        return reply

    def _announced_sha256(self, file: FakeFile) -> str:
        if self._fault is Fault.WRONG_HASH:
            return hashlib.sha256(b"not these bytes" + file.data).hexdigest()
        return file.sha256

    def _project_page(self, request: LoggedRequest, name: str) -> _Reply:
        project = self.projects.get(canonicalize_name(name))
        if project is None:
            return _Reply(404, {"Content-Type": "text/plain"}, b"no such project")
        if self.flavour == "json":
            body, content_type = self._json_page(project), JSON_TYPE
        else:
            body, content_type = self._html_page(project), f"{HTML_TYPE}; charset=utf-8"
        reply = _Reply(200, {"Content-Type": content_type}, body)
        return self._with_etag(request, reply, project.serial)

    def _json_page(self, project: FakeProject) -> bytes:
        return json_page(project, self.base, self._announced_sha256)

    def _html_page(self, project: FakeProject) -> bytes:
        return html_page(project, self._announced_sha256)

    def _file(self, filename: str) -> _Reply:
        metadata_of = filename.removesuffix(".metadata") if filename.endswith(".metadata") else None
        for project in self.projects.values():
            for file in project.files:
                if file.filename == filename:
                    return self._file_reply(file)
                if file.filename == metadata_of and file.metadata is not None:
                    return _Reply(200, {"Content-Type": "text/plain"}, file.metadata)
        return _Reply(404, {}, b"no such file")

    def _file_reply(self, file: FakeFile) -> _Reply:
        headers = {"Content-Type": "application/octet-stream"}
        if file.generated_size is None and not self.file_delay:
            return _Reply(200, headers, file.data)
        return _Reply(200, headers, stream=file_body(file, self.file_delay))

    def _project_list(self, request: LoggedRequest) -> _Reply:
        serial = self._serial
        if self.list_size is None:
            names = [project.name for project in self.projects.values()] + self.list_extra
            if self.flavour == "json":
                body = orjson.dumps(
                    {"meta": {"api-version": "1.1"}, "projects": [{"name": n} for n in names]}
                )
                reply = _Reply(200, {"Content-Type": JSON_TYPE}, body)
            else:
                anchors = "".join(f'<a href="{canonicalize_name(n)}/">{n}</a>\n' for n in names)
                reply = _Reply(200, {"Content-Type": HTML_TYPE}, f"<html>{anchors}</html>".encode())
            return self._with_etag(request, reply, serial)
        content_type = JSON_TYPE if self.flavour == "json" else HTML_TYPE
        headers = {
            "Content-Type": content_type,
            "ETag": f'"generated-{self.list_size}"',
            "X-PyPI-Last-Serial": self._serial_header(serial),
        }
        if request.headers.get("if-none-match") == headers["ETag"]:
            return _Reply(304, headers)
        return _Reply(200, headers, stream=generated_list(self.list_size, self.flavour))


async def file_body(file: FakeFile, delay: float) -> AsyncIterator[bytes]:
    """A file's bytes as they are made; with ``delay``, each piece (a MiB of a generated file,
    an eighth of another) comes that long after the one before."""
    if file.generated_size is not None:
        for chunk in file.chunks():
            if delay:
                await asyncio.sleep(delay)
            yield chunk
        return
    piece = -(-len(file.data) // FILE_PIECES)
    for start in range(0, len(file.data), piece):
        await asyncio.sleep(delay)
        yield file.data[start : start + piece]


async def generated_list(count: int, flavour: str) -> AsyncIterator[bytes]:
    for chunk in generated_list_chunks(count, flavour):
        yield chunk


@contextmanager
def running(
    flavour: str = "json", credentials: tuple[str, str] | None = None
) -> Iterator[FakeUpstream]:
    upstream = FakeUpstream(flavour, credentials).start()
    try:
        yield upstream
    finally:
        upstream.stop()

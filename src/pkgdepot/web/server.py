"""Running the app under uvicorn: a pre-bound socket (TCP or unix), workers, logging, shutdown,
custom reason phrases, ``PUSH``, files sent by the kernel.

twine and devpi-client show the HTTP reason phrase of a failed upload, and ASGI has no field
for it, so handlers put it in a private header that this protocol turns into the status line.

devpi-client pushes with the request method ``PUSH``, which the HTTP parser (llhttp) refuses as
unknown. A request that starts with it is fed to the parser as ``POST`` and handed to the app as
``PUSH`` again.

On plain connections (TCP or unix, no TLS) the protocol offers the ASGI zero-copy send extension
(web/zerocopy.py): stored files then go from the page cache to the socket by ``os.sendfile``.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import ctypes
import errno
import os
import socket
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import uvicorn
import uvicorn.config
from starlette.types import Message
from uvicorn.protocols.http import httptools_impl
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle
from uvicorn.supervisors import Multiprocess

from pkgdepot.config import Settings
from pkgdepot.web import metrics
from pkgdepot.web.direct import DirectPages
from pkgdepot.web.responses import REASON_HEADER
from pkgdepot.web.sendfile import AVAILABLE as ZERO_COPY_AVAILABLE
from pkgdepot.web.zerocopy import ZERO_COPY, SendBody, send_zero_copy

_REASON = REASON_HEADER.encode()
M_ARENA_MAX = -8  # mallopt parameter, from glibc's malloc.h


def _status_line(status: int, reason: bytes) -> bytes:
    return b"HTTP/1.1 %d %s\r\n" % (status, reason)


class ReasonPhraseProtocol(DirectPages, HttpToolsProtocol):
    _between_requests = True  # the next bytes received start a request line
    _pushing = False  # the request being parsed was sent as PUSH
    _zero_copy = False  # a plain socket: the app may have files sent by the kernel

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        socket_ = transport.get_extra_info("socket")
        self._zero_copy = ZERO_COPY_AVAILABLE and self.scheme == "http" and socket_ is not None

    def data_received(self, data: bytes) -> None:
        if self._between_requests and data.startswith(b"PUSH "):
            data = b"POST" + data[4:]
            self._pushing = True
        super().data_received(data)

    def on_message_begin(self) -> None:
        self._between_requests = False
        super().on_message_begin()
        if self._zero_copy:
            self.scope["extensions"] = {ZERO_COPY: {}}

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        if self._pushing:
            self._pushing = False
            # The request's task is scheduled but not started, and shares this scope.
            self.scope["method"] = "PUSH"

    def on_message_complete(self) -> None:
        self._between_requests = True
        super().on_message_complete()

    def _start_asgi_task(self, cycle: RequestResponseCycle, app: Any) -> None:
        original = cycle.send

        async def send(message: Any) -> None:
            kind = message["type"]
            if kind == "http.response.start":
                await _start_response(cycle, original, message)
            elif kind == ZERO_COPY:
                await send_zero_copy(cycle, original, message)
            else:
                await original(message)

        cycle.send = send  # type: ignore[method-assign]
        super()._start_asgi_task(cycle, app)


async def _start_response(cycle: RequestResponseCycle, send: SendBody, message: Message) -> None:
    """The status line with the reason phrase the app gave in its private header, if any."""
    headers = list(message.get("headers", []))
    reason = next((value for name, value in headers if name.lower() == _REASON), None)
    if reason is None:
        await send(message)
        return
    message = {**message, "headers": [h for h in headers if h[0].lower() != _REASON]}
    if cycle.flow.write_paused and not cycle.disconnected:
        await cycle.flow.drain()
    status = message["status"]
    lines = httptools_impl.STATUS_LINE
    saved = lines[status]
    # Nothing awaits between here and the restore: the status line is written at once.
    lines[status] = _status_line(status, reason)
    try:
        await send(message)
    finally:
        lines[status] = saved


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def bind_unix(path: Path) -> socket.socket:
    """A unix socket at ``path``, mode 0660; a stale socket file left there is replaced."""
    _remove_stale_socket(path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(str(path))
        os.chmod(path, 0o660)
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def _remove_stale_socket(path: Path) -> None:
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(mode):
        raise OSError(errno.EEXIST, "a file that is not a socket is in the way")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(str(path))
        except (ConnectionRefusedError, FileNotFoundError):
            path.unlink(missing_ok=True)  # nobody listens: left by a server that is gone
            return
    raise OSError(errno.EADDRINUSE, "another server listens on it")


def socket_file_id(path: Path) -> tuple[int, int]:
    found = path.stat()
    return found.st_dev, found.st_ino


def remove_socket_file(path: Path, bound: tuple[int, int]) -> None:
    """After serving: remove the socket file bound (``socket_file_id``), unless replaced."""
    try:
        if socket_file_id(path) == bound:
            path.unlink()
    except OSError:
        pass


def logging_config(log_level: str, log_format: str = "text") -> dict[str, Any]:
    """uvicorn's logging and pkgdepot's loggers on stderr at the same level; with
    ``log_format`` json, every line is a JSON object. The access log's level is set here too;
    its lines go to stdout through ``web/accesslog.py``'s own writer."""
    config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    level = log_level.upper()
    if log_format == "json":
        json_formatter = {"()": "pkgdepot.web.accesslog.JsonFormatter"}
        config["formatters"] = {name: dict(json_formatter) for name in config["formatters"]}
    config["loggers"]["pkgdepot"] = {"handlers": ["default"], "level": level, "propagate": False}
    config["loggers"]["pkgdepot.access"] = {
        "handlers": [],
        "level": level,
        "propagate": False,
    }
    return config


class Server(uvicorn.Server):
    """uvicorn's server, ending normally (exit status 0) after a shutdown asked for by SIGTERM
    or SIGINT: uvicorn would raise the signal again once done, and so die of it."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        with super().capture_signals():
            yield
            self._captured_signals.clear()


class Workers(Multiprocess):
    """uvicorn's worker supervisor, which also closes its copy of the listening socket when it
    stops (so new connections are refused while the workers finish theirs) and tells the
    metrics when a worker it replaced is gone."""

    def terminate_all(self) -> None:
        for sock in self.sockets:
            sock.close()
        super().terminate_all()

    def keep_subprocess_alive(self) -> None:
        with self._marking_replaced():
            super().keep_subprocess_alive()

    def restart_all(self) -> None:
        with self._marking_replaced():
            super().restart_all()

    @contextlib.contextmanager
    def _marking_replaced(self) -> Iterator[None]:
        before = {process.pid for process in self.processes}
        try:
            yield
        finally:
            for pid in before - {process.pid for process in self.processes}:
                if pid is not None:
                    metrics.mark_dead(pid)


def one_malloc_arena() -> None:
    """glibc gives each thread that allocates its own malloc arena, and freed memory stays
    scattered over them: the worker threads that store and render a page of thousands of files
    left the process 9 MB larger than one arena does. Python holds the GIL while it
    allocates, so one arena costs no contention worth having."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc
        return
    libc.mallopt(M_ARENA_MAX, 1)


def run(sock: socket.socket, settings: Settings) -> None:
    """Serve on ``sock`` until SIGTERM or SIGINT, then let requests in flight finish (for at
    most ``shutdown_timeout`` seconds) and return."""
    config = uvicorn.Config(
        "pkgdepot.app:create_app_from_environment",
        factory=True,
        http=ReasonPhraseProtocol,
        ws="none",  # no websockets: their library is not even imported (2 MB)
        loop="uvloop",
        workers=settings.workers,
        log_level=settings.log_level,
        # applied in every worker process
        log_config=logging_config(settings.log_level, settings.log_format),
        access_log=False,  # ours: web/observe.py
        proxy_headers=False,  # forwarded headers: web/outside.py, from --trusted-proxy only
        server_header=False,
        timeout_graceful_shutdown=int(settings.shutdown_timeout),
    )
    if settings.workers > 1:
        Workers(config, sockets=[sock]).run()
    else:
        Server(config).run(sockets=[sock])

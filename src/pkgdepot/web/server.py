"""Running the app under uvicorn: a pre-bound socket, workers, custom reason phrases, ``PUSH``.

twine and devpi-client show the HTTP reason phrase of a failed upload, and ASGI has no field
for it, so handlers put it in a private header that this protocol turns into the status line.

devpi-client pushes with the request method ``PUSH``, which the HTTP parser (llhttp) refuses as
unknown. A request that starts with it is fed to the parser as ``POST`` and handed to the app as
``PUSH`` again.
"""

from __future__ import annotations

import copy
import socket
from typing import Any

import uvicorn
import uvicorn.config
from uvicorn.protocols.http import httptools_impl
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle
from uvicorn.supervisors import Multiprocess

from pkgdepot.web.responses import REASON_HEADER

_REASON = REASON_HEADER.encode()


def _status_line(status: int, reason: bytes) -> bytes:
    return b"HTTP/1.1 %d %s\r\n" % (status, reason)


class ReasonPhraseProtocol(HttpToolsProtocol):
    _between_requests = True  # the next bytes received start a request line
    _pushing = False  # the request being parsed was sent as PUSH

    def data_received(self, data: bytes) -> None:
        if self._between_requests and data.startswith(b"PUSH "):
            data = b"POST" + data[4:]
            self._pushing = True
        super().data_received(data)

    def on_message_begin(self) -> None:
        self._between_requests = False
        super().on_message_begin()

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
            if message["type"] != "http.response.start":
                await original(message)
                return
            headers = list(message.get("headers", []))
            reason = next((value for name, value in headers if name.lower() == _REASON), None)
            if reason is None:
                await original(message)
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
                await original(message)
            finally:
                lines[status] = saved

        cycle.send = send  # type: ignore[method-assign]
        super()._start_asgi_task(cycle, app)


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def logging_config(log_level: str) -> dict[str, Any]:
    """uvicorn's logging, plus pkgdepot's own loggers on stderr at the same level."""
    config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    config["loggers"]["pkgdepot"] = {
        "handlers": ["default"],
        "level": log_level.upper(),
        "propagate": False,
    }
    return config


def run(sock: socket.socket, workers: int, log_level: str) -> None:
    config = uvicorn.Config(
        "pkgdepot.app:create_app_from_environment",
        factory=True,
        http=ReasonPhraseProtocol,
        loop="uvloop",
        workers=workers,
        log_level=log_level,
        log_config=logging_config(log_level),  # applied in every worker process
        access_log=False,
        proxy_headers=False,  # forwarded headers: web/outside.py, from --trusted-proxy only
        server_header=False,
        timeout_graceful_shutdown=10,
    )
    server = uvicorn.Server(config)
    if workers > 1:
        Multiprocess(config, sockets=[sock]).run()
    else:
        server.run(sockets=[sock])

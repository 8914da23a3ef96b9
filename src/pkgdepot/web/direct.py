"""Warm simple pages answered by the HTTP protocol itself, for requests straight from clients.

A reply kept in ``web/fastlane.py``'s ``Replies`` is whole: its header lines are ready, so a
plain ``GET`` for it is answered as soon as its headers are parsed, with one write and no ASGI
task, request scope or middleware. Only a request that could be answered differently through
the app is passed on: anything but a keep-alive HTTP/1.1 GET without a body or query, one that
carries the headers ``OutsideUrl`` reads (from a proxy), one behind a response still being sent
on the connection, or one arriving while the client is not reading what it was sent.
"""

from __future__ import annotations

import time
from typing import Any

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from pkgdepot.web.fastlane import Replies

_PASS_ON = frozenset(
    {
        b"x-outside-url",
        b"x-forwarded-proto",
        b"x-forwarded-host",
        b"x-forwarded-for",
        b"content-length",
        b"transfer-encoding",
        b"expect",
        b"connection",
        b"upgrade",
    }
)
_LARGE = 64 * 1024  # bodies from this size are written beside the head, not joined to it


class DirectPages(HttpToolsProtocol):
    """Mixed into the server's protocol class, before uvicorn's ``HttpToolsProtocol``."""

    _answered = False  # the request being parsed was answered here

    def on_headers_complete(self) -> None:
        if self._answer():
            self._answered = True
            return
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        if self._answered:
            self._answered = False
            return
        super().on_message_complete()

    def _replies(self) -> Replies | None:
        state = getattr(self.app, "state", None)
        replies = getattr(state, "fast_replies", None)
        return replies if isinstance(replies, Replies) else None

    def _answer(self) -> bool:
        parser = self.parser
        if (
            parser.get_method() != b"GET"
            or parser.get_http_version() != "1.1"
            or not parser.should_keep_alive()
            or (self.cycle is not None and not self.cycle.response_complete)
            or self.pipeline
            or self.flow.write_paused
        ):
            return False
        replies = self._replies()
        if replies is None or b"?" in self.url or b"%" in self.url:
            return False
        accept = if_none_match = None
        for name, value in self.headers:
            if name == b"accept":
                accept = value
            elif name == b"if-none-match":
                if_none_match = value
            elif name in _PASS_ON:
                return False
        path = self.url.decode("ascii", "replace")
        reply = replies.get(self.root_path + path, accept)
        if reply is None:
            return False
        started = time.perf_counter()
        if reply.not_modified(if_none_match):
            status, head, body = 304, reply.head_304, b""
        else:
            status, head, body = 200, reply.head, reply.body
        lines = [
            STATUS_LINE[status],
            *_date_lines(self.server_state.default_headers),
            head,
            b"\r\n",
        ]
        if len(body) < _LARGE:
            self.transport.write(b"".join((*lines, body)))
        else:
            self.transport.writelines([b"".join(lines), body])
        self._finish()
        scope: dict[str, Any] = {**self.scope, "method": "GET", "query_string": b""}
        scope.update(path=self.root_path + path, raw_path=self.url)
        reply.record(scope, status, len(body), time.perf_counter() - started)
        return True

    def _finish(self) -> None:
        """What uvicorn does once a response is complete: count it, wait for the next."""
        self.server_state.total_requests += 1
        self._unset_keepalive_if_required()
        self.timeout_keep_alive_task = self.loop.call_later(
            self.timeout_keep_alive, self.timeout_keep_alive_handler
        )


_date_memo: tuple[Any, tuple[bytes, ...]] = (None, ())


def _date_lines(default_headers: list[tuple[bytes, bytes]]) -> tuple[bytes, ...]:
    """uvicorn's default headers (the Date), as lines; they change once a second."""
    global _date_memo
    if _date_memo[0] is not default_headers:
        lines = tuple(name + b": " + value + b"\r\n" for name, value in default_headers)
        _date_memo = (default_headers, lines)
    return _date_memo[1]

"""Warm simple pages answered before routing: the reply the app last gave, kept whole.

Installers ask for the same pages over and over, and a warm page is the same bytes each time
(``web/simple.py``). When a simple view answers 200 with a page it knows to be current, it marks
the request (``mark``) with the global serial at which the page was current and, for pages that
merge a mirror, the time until which no upstream needs asking. ``FastLane`` keeps that reply in
``Replies``, keyed by path and ``Accept`` header. The next identical request is answered from
there while the serial has not moved and the time has not passed: by the HTTP protocol itself
when the request came straight from a client (``web/direct.py``: no task, no app, one write),
or by ``FastLane`` when it came through a proxy (no routing, no view). ``If-None-Match`` gets its
304 there too. Anything else (another method, a query, a stale or changed page) goes through
the app as usual.

``FastLane`` sits inside ``OutsideUrl`` (a request's outside URL is applied first; simple pages
are the same bytes under any outside URL) and outside ``Observe``, so replies it or the
protocol give are counted and logged here, under the route the app matched when kept.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Sequence

from prometheus_client import Counter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pkgdepot.storage.serial import SharedSerial
from pkgdepot.web import metrics
from pkgdepot.web.accesslog import ACCESS, log_request
from pkgdepot.web.conditional import etag_matches
from pkgdepot.web.metrics import observe_request

MARK = "pkgdepot.fastlane"  # the scope key a view sets: a Freshness
MAX_BYTES = 64 * 1024 * 1024  # per worker; replies mostly share their bytes with the page cache
CACHE_HEADER = b"x-pkgdepot-cache"
_NOT_IN_304 = (b"content-length", b"content-type")

Headers = list[tuple[bytes, bytes]]
Key = tuple[str, bytes | None]  # path, Accept header


@dataclasses.dataclass(frozen=True, slots=True)
class Freshness:
    """What a view knows of the page it answered with."""

    serial: int  # the global serial at which the page was current
    fresh_until: float  # time.time() after which a mirror of the page must be asked again
    kind: str  # "project" or "list", for the page-cache metrics


@dataclasses.dataclass(frozen=True, slots=True)
class Reply:
    serial: int
    fresh_until: float
    etag: str
    body: bytes
    headers: Headers  # as the app sent them (outer middleware adds the X-Devpi ones)
    headers_304: Headers
    head: bytes  # every header line as the server sends it, Date excepted
    head_304: bytes
    route: str  # the route template the app matched, for the metrics
    hit: Counter

    def not_modified(self, if_none_match: bytes | None) -> bool:
        return if_none_match is not None and etag_matches(
            if_none_match.decode("latin-1"), self.etag
        )

    def record(self, scope: Scope, status: int, sent: int, seconds: float) -> None:
        """Metrics and the access line of a reply given from here."""
        self.hit.inc()
        observe_request(self.route, "GET", status, sent, seconds)
        if ACCESS.isEnabledFor(logging.INFO):
            log_request(scope, status, sent, seconds)


def mark(scope: Scope, freshness: Freshness) -> None:
    scope[MARK] = freshness


def header_lines(headers: Sequence[tuple[bytes, bytes]]) -> bytes:
    return b"".join(name + b": " + value + b"\r\n" for name, value in headers)


class Replies:
    """The kept replies of one worker, within a byte budget (emptied when full: only a
    shortcut, so starting again beats tracking use)."""

    def __init__(
        self,
        serial: SharedSerial,
        server_headers: Headers,
        max_bytes: int = MAX_BYTES,
    ) -> None:
        self.serial = serial
        self.server_headers = server_headers  # added to every reply by outer middleware
        self.max_bytes = max_bytes
        self._replies: dict[Key, Reply] = {}
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._replies)

    def get(self, path: str, accept: bytes | None) -> Reply | None:
        """The kept reply for this request, if it is still current."""
        reply = self._replies.get((path, accept))
        if reply is None or reply.serial != self.serial.get() or time.time() >= reply.fresh_until:
            return None
        return reply

    def keep(
        self, key: Key, freshness: Freshness, headers: Headers, body: bytes, route: str
    ) -> None:
        etag = next((value for name, value in headers if name == b"etag"), None)
        if etag is None:
            return
        served = [(name, value) for name, value in headers if name != CACHE_HEADER]
        served.append((CACHE_HEADER, b"hit"))
        served_304 = [(name, value) for name, value in served if name not in _NOT_IN_304]
        added = [*self.server_headers, (b"x-devpi-serial", str(freshness.serial).encode())]
        reply = Reply(
            serial=freshness.serial,
            fresh_until=freshness.fresh_until,
            etag=etag.decode("latin-1"),
            body=body,
            headers=served,
            headers_304=served_304,
            head=header_lines(served + added),
            head_304=header_lines(served_304 + added),
            route=route,
            hit=metrics.page_cache(freshness.kind, "hit"),
        )
        old = self._replies.pop(key, None)
        if old is not None:
            self._bytes -= len(old.body)
        if self._bytes + len(body) > self.max_bytes:
            self._replies.clear()
            self._bytes = 0
            if len(body) > self.max_bytes:
                return
        self._replies[key] = reply
        self._bytes += len(body)


class FastLane:
    """Pure ASGI middleware: answers from ``replies``, and keeps the replies views mark."""

    def __init__(self, app: ASGIApp, replies: Replies) -> None:
        self.app = app
        self.replies = replies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or scope["query_string"]:
            await self.app(scope, receive, send)
            return
        accept = if_none_match = None
        for name, value in scope["headers"]:
            if name == b"accept":
                accept = value
            elif name == b"if-none-match":
                if_none_match = value
        reply = self.replies.get(scope["path"], accept)
        if reply is None:
            await self._through(scope, receive, send, (scope["path"], accept))
            return
        started = time.perf_counter()
        if reply.not_modified(if_none_match):
            status, body, headers = 304, b"", reply.headers_304
        else:
            status, body, headers = 200, reply.body, reply.headers
        # A new message each time: middleware outside may change the one it is given.
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        reply.record(scope, status, len(body), time.perf_counter() - started)

    async def _through(self, scope: Scope, receive: Receive, send: Send, key: Key) -> None:
        headers: Headers = []
        status = 0

        async def keeping(message: Message) -> None:
            nonlocal headers, status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", ()))  # before outer middleware adds more
            elif (
                status == 200
                and message["type"] == "http.response.body"
                and not message.get("more_body", False)
            ):
                freshness, route = scope.get(MARK), scope.get("route")
                if isinstance(freshness, Freshness) and route is not None:
                    body = message.get("body", b"")
                    self.replies.keep(key, freshness, headers, body, getattr(route, "path", ""))
            await send(message)

        await self.app(scope, receive, keeping)

"""Pure ASGI middleware: per request, the metrics of ``web/metrics.py`` and one access line.

It must be the innermost middleware (last in the app's list): the router writes the matched
route into the scope it is given, and this middleware reads the route's path template from
there afterwards. Labelling by template (``/{user:name}/{index:name}/+f/{rest:path}``), never by
the path requested, keeps the number of series bounded.

Per request it costs a counter increment, a histogram observation and a byte counter; the
access line only when ``pkgdepot.access`` logs at info level.
"""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pkgdepot.web.accesslog import ACCESS, log_request
from pkgdepot.web.metrics import UNMATCHED, observe_request
from pkgdepot.web.zerocopy import ZERO_COPY


class Observe:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # if the app fails before it answers, the server error handler sends 500
        sent = 0

        async def observed(message: Message) -> None:
            nonlocal status, sent
            if message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            elif message["type"] == ZERO_COPY:  # a file sent by the kernel (web/zerocopy.py)
                sent += message.get("count", 0)
            elif message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, observed)
        finally:
            seconds = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", UNMATCHED) if route is not None else UNMATCHED
            observe_request(template, scope["method"], status, sent, seconds)
            if ACCESS.isEnabledFor(logging.INFO):
                log_request(scope, status, sent, seconds)

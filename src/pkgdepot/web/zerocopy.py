"""The ASGI zero-copy send extension (``http.response.zerocopysend``,
https://asgi.readthedocs.io/en/latest/extensions.html): web/server.py offers it on plain
connections and serves its messages on uvicorn's request-response cycle; web/files.py's
``BlobResponse`` uses it. The bytes go by ``os.sendfile`` (web/sendfile.py).
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.types import Message
from uvicorn.protocols.http.httptools_impl import RequestResponseCycle

from pkgdepot.web.sendfile import send_file

ZERO_COPY = "http.response.zerocopysend"

SendBody = Callable[[Any], Awaitable[None]]  # uvicorn's send (typed by its own TypedDicts)


async def send_zero_copy(
    cycle: RequestResponseCycle, send_body: SendBody, message: Message
) -> None:
    """One ``http.response.zerocopysend`` message, after the response's start (which gave its
    ``Content-Length``); ``send_body`` is uvicorn's own send, which ends the response."""
    if cycle.disconnected:
        return  # as uvicorn does for any message
    if not cycle.response_started or cycle.response_complete:
        raise RuntimeError(f"Unexpected ASGI message {ZERO_COPY!r} outside a response body.")
    if cycle.chunked_encoding:
        raise RuntimeError(f"ASGI message {ZERO_COPY!r} needs a Content-Length.")
    file_fd = message["file"].fileno()
    offset: int | None = message.get("offset")
    start = os.lseek(file_fd, 0, os.SEEK_CUR) if offset is None else offset
    count: int | None = message.get("count")
    if count is None:
        count = os.fstat(file_fd).st_size - start
    if cycle.scope["method"] != "HEAD" and count > 0:
        if count > cycle.expected_content_length:
            raise RuntimeError("Response content longer than Content-Length")
        await _flushed(cycle)  # the status line and headers go first
        if cycle.disconnected:
            return
        out_fd = cycle.transport.get_extra_info("socket").fileno()
        try:
            await send_file(out_fd, file_fd, start, count)
        except (ConnectionError, TimeoutError):  # the client is gone: no noise, just close
            cycle.disconnected = True
            cycle.transport.close()
            return
        cycle.expected_content_length -= count
        if offset is None:
            os.lseek(file_fd, start + count, os.SEEK_SET)
    more_body = bool(message.get("more_body", False))
    await send_body({"type": "http.response.body", "body": b"", "more_body": more_body})


async def _flushed(cycle: RequestResponseCycle) -> None:
    """Until the transport has handed everything written so far to the socket."""
    transport = cycle.transport
    if transport.is_closing() or transport.get_write_buffer_size() == 0:
        return
    low, high = transport.get_write_buffer_limits()
    transport.set_write_buffer_limits(high=0)  # pauses writing now, resumes once empty
    try:
        await cycle.flow.drain()  # also returns when the connection is lost
    finally:
        if not transport.is_closing():
            transport.set_write_buffer_limits(high=high, low=low)

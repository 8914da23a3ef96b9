"""Sending a file's bytes to a connection with ``os.sendfile``: the kernel copies them from the
page cache to the socket, never through Python.

A small file usually goes at once, from the event loop. Otherwise the copying runs in a worker
thread (the GIL is released: the loop goes on meanwhile). A client that reads slowly fills its
socket buffer: the thread then waits a little for room, and if there is still none it hands the
wait to the event loop and is free for other downloads. Threads write to a duplicate of the
connection's descriptor, so its number can never be taken by another connection meanwhile.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import os
import select
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.types import Message
from uvicorn.protocols.http.httptools_impl import RequestResponseCycle

# How long a thread waits for room in a socket's buffer before giving the wait to the loop.
_THREAD_WAIT_MS = 50
THREADS = 16  # at most this many downloads are copied at once, per worker
INLINE = 256 * 1024  # up to this size, a file is first tried at once from the event loop

_pool: concurrent.futures.ThreadPoolExecutor | None = None


def _threads() -> concurrent.futures.ThreadPoolExecutor:
    global _pool
    if _pool is None:
        _pool = concurrent.futures.ThreadPoolExecutor(THREADS, thread_name_prefix="sendfile")
    return _pool


class FileTooShort(Exception):
    """The file ended before the bytes to send did (it changed on disk)."""


@dataclasses.dataclass
class _Transfer:
    out_fd: int  # the duplicated, non-blocking socket
    in_fd: int
    offset: int
    count: int
    stopped: bool = False  # set by the loop: the thread must give up at its next step

    def send_some(self) -> bool:
        """In a thread: send until done (True), or until the client takes nothing (False)."""
        poller = select.poll()
        poller.register(self.out_fd, select.POLLOUT)
        while self.count > 0 and not self.stopped:
            try:
                sent = os.sendfile(self.out_fd, self.in_fd, self.offset, self.count)
            except BlockingIOError:
                if not poller.poll(_THREAD_WAIT_MS):
                    return False
                continue
            if sent == 0:
                raise FileTooShort(f"{self.count} bytes missing at offset {self.offset}")
            self.offset += sent
            self.count -= sent
        return True


async def send_file(out_fd: int, in_fd: int, offset: int, count: int) -> None:
    """Send ``count`` bytes of ``in_fd`` from ``offset`` on the connection's non-blocking
    socket ``out_fd``. A client gone raises ``ConnectionError``."""
    if count <= INLINE:  # most files: at once, from the loop, as a write would be
        try:
            sent = os.sendfile(out_fd, in_fd, offset, count)
        except BlockingIOError:
            sent = 0
        if sent == count:
            return
        offset, count = offset + sent, count - sent
    # From here on a duplicate: its number stays ours while a thread may still write to it.
    dup = os.dup(out_fd)
    loop = asyncio.get_running_loop()
    transfer = _Transfer(dup, in_fd, offset, count)
    work: concurrent.futures.Future[bool] | None = None
    try:
        while True:
            work = _threads().submit(transfer.send_some)
            if await asyncio.wrap_future(work):
                return
            await _writable(loop, dup)
    finally:
        transfer.stopped = True
        if work is None:
            os.close(dup)
        else:  # now, or when the thread is done with it (if this task was cancelled)
            work.add_done_callback(lambda _: os.close(dup))


async def _writable(loop: asyncio.AbstractEventLoop, fd: int) -> None:
    """Until the socket takes bytes again, or has failed (the next send then says how)."""
    ready = loop.create_future()

    def wake() -> None:
        if not ready.done():
            ready.set_result(None)

    loop.add_writer(fd, wake)
    try:
        await ready
    finally:
        loop.remove_writer(fd)


# The ASGI extension (https://asgi.readthedocs.io/en/latest/extensions.html), served by
# web/server.py on uvicorn's request-response cycle.

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

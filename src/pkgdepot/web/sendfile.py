"""Sending a file's bytes to a connection with ``os.sendfile``: the kernel hands them from the
page cache to the socket, never through Python.

A small file usually goes at once, from the event loop, as a write would. A larger one goes to
a sender: a thread with its own epoll that sends each of its transfers as far as the client's
socket takes it, then waits (edge-triggered) for room in any of them. So a client that reads
slowly, or not at all, holds no thread, and the event loop goes on meanwhile (the GIL is
released in the system calls). The sender writes to duplicates of the connection's socket and
of the file, so neither number can be taken by another connection or file while it works.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import itertools
import os
import select
import threading
from collections.abc import Callable, Iterator

SENDERS = 2  # threads per worker process, each sending many files
INLINE = 256 * 1024  # up to this size, a file is first tried at once from the event loop
AVAILABLE = hasattr(select, "epoll") and hasattr(os, "eventfd")  # Linux


class FileTooShort(Exception):
    """The file ended before the bytes to send did (it changed on disk)."""


@dataclasses.dataclass(eq=False)
class _Transfer:
    out_fd: int  # duplicates, closed by the sender once done
    in_fd: int
    offset: int
    count: int
    done: Callable[[BaseException | None], None]  # called by the sender, once
    stopped: bool = False  # set from the loop: give up


class _Sender:
    """One thread sending the bytes of every transfer given to it."""

    def __init__(self) -> None:
        self._epoll = select.epoll()
        self._wake = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
        self._epoll.register(self._wake, select.EPOLLIN)
        self._new: collections.deque[_Transfer] = collections.deque()
        self._waiting: dict[int, _Transfer] = {}  # by socket: for room in its buffer
        threading.Thread(target=self._run, name="sendfile", daemon=True).start()

    def submit(self, transfer: _Transfer) -> None:
        self._new.append(transfer)
        self.wake()

    def wake(self) -> None:
        os.eventfd_write(self._wake, 1)

    def _run(self) -> None:
        while True:
            for fd, _ in self._epoll.poll():
                if fd == self._wake:
                    with contextlib.suppress(BlockingIOError):
                        os.eventfd_read(self._wake)
                    while self._new:
                        self._send(self._new.popleft())
                    for stopped in [t for t in self._waiting.values() if t.stopped]:
                        self._finish(stopped, None)
                elif (transfer := self._waiting.get(fd)) is not None:
                    self._send(transfer)

    def _send(self, transfer: _Transfer) -> None:
        try:
            complete = _send_some(transfer)
            if not complete and transfer.out_fd not in self._waiting:
                # told of every change from now on (edge-triggered)
                self._epoll.register(transfer.out_fd, select.EPOLLOUT | select.EPOLLET)
                self._waiting[transfer.out_fd] = transfer
        except Exception as error:  # raised in the request's task; this thread goes on
            self._finish(transfer, error)
            return
        if complete:
            self._finish(transfer, None)

    def _finish(self, transfer: _Transfer, error: Exception | None) -> None:
        with contextlib.suppress(OSError):
            if self._waiting.pop(transfer.out_fd, None) is not None:
                self._epoll.unregister(transfer.out_fd)
        os.close(transfer.out_fd)
        os.close(transfer.in_fd)
        transfer.done(error)


def _send_some(transfer: _Transfer) -> bool:
    """As far as the socket takes it: whether all is sent (or the transfer stopped)."""
    try:
        while transfer.count > 0 and not transfer.stopped:
            sent = os.sendfile(transfer.out_fd, transfer.in_fd, transfer.offset, transfer.count)
            if sent == 0:
                raise FileTooShort(f"{transfer.count} bytes missing at {transfer.offset}")
            transfer.offset += sent
            transfer.count -= sent
    except BlockingIOError:
        return False
    return True


_senders: Iterator[_Sender] | None = None


def _next_sender() -> _Sender:
    global _senders
    if _senders is None:
        _senders = itertools.cycle([_Sender() for _ in range(SENDERS)])
    return next(_senders)


async def send_file(out_fd: int, in_fd: int, offset: int, count: int) -> None:
    """Send ``count`` bytes of ``in_fd`` from ``offset`` on the connection's non-blocking
    socket ``out_fd``. A client gone raises ``ConnectionError``."""
    if count <= INLINE:
        try:
            sent = os.sendfile(out_fd, in_fd, offset, count)
        except BlockingIOError:
            sent = 0
        if sent == count:
            return
        offset, count = offset + sent, count - sent
    loop = asyncio.get_running_loop()
    finished: asyncio.Future[None] = loop.create_future()

    def done(error: BaseException | None) -> None:  # in the sender's thread
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
            loop.call_soon_threadsafe(_settle, finished, error)

    sender = _next_sender()
    transfer = _Transfer(os.dup(out_fd), os.dup(in_fd), offset, count, done)
    sender.submit(transfer)
    try:
        await finished
    except asyncio.CancelledError:  # the sender drops it
        transfer.stopped = True
        sender.wake()
        raise


def _settle(finished: asyncio.Future[None], error: BaseException | None) -> None:
    if finished.done():
        return
    if error is None:
        finished.set_result(None)
    else:
        finished.set_exception(error)

"""One download per file, shared by every request of every worker process (single-flight).

The first request to take the file's lock (``KEY.lock``, an exclusive ``flock``) leads: it
downloads into a blob writer, whose temporary file ``KEY.part`` links to. Every request, the
leader's own included, follows that part file: it reads what is there, waits for more, and
stops once the leader is done. A follower in the leader's process learns the outcome from the
leader's task; one in another process sees the lock free again and must then check the
database for the outcome (``MirrorFiles`` does).

The kernel drops a ``flock`` when its process dies, so a killed leader never blocks a later
request; the next leader removes what it left. The leader unlinks the lock file while still
holding it, and a new leader only keeps a lock on the file that is at the path, so two leaders
never overlap.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import hashlib
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

from pkgdepot.errors import PkgdepotError, UpstreamUnavailable
from pkgdepot.storage.blobs import BlobStore, BlobWriter

READ_SIZE = 256 * 1024  # what a follower reads (and holds) at a time
FLUSH_SIZE = 256 * 1024  # what a leader buffers before writing to the part file


class PartWriter:
    """What a leader writes the download into: buffered, written by a worker thread, and
    flushed so that followers in any process see the bytes."""

    def __init__(self, blob: BlobWriter, wake: Callable[[], None]) -> None:
        self.blob = blob
        self._wake = wake
        self._buffer = bytearray()

    async def write(self, chunk: bytes) -> None:
        self._buffer += chunk
        if len(self._buffer) >= FLUSH_SIZE:
            await self.flush()

    async def flush(self) -> None:
        if self._buffer:
            data, self._buffer = bytes(self._buffer), bytearray()
            await asyncio.to_thread(self._write_through, data)
            self._wake()

    def _write_through(self, data: bytes) -> None:
        self.blob.write(data)
        self.blob.staged_path()  # flushes to the file


Lead = Callable[[PartWriter], Awaitable[None]]  # downloads and commits; raises on failure


class Follower:
    """Reads a part file while it grows, hashing what it read."""

    def __init__(
        self,
        fd: int,
        done: Callable[[], bool],
        failure: Callable[[], BaseException | None],
        wait: Callable[[], Awaitable[object]],
        stall_timeout: float,
        also_close: tuple[int, ...] = (),
    ) -> None:
        self._fd = fd
        self._done = done
        self._failure = failure
        self._wait = wait
        self._stall_timeout = stall_timeout
        self._fds = (fd, *also_close)
        self._digest = hashlib.sha256()
        self.size = 0

    @property
    def sha256(self) -> str:
        return self._digest.hexdigest()

    def close(self) -> None:
        fds, self._fds = self._fds, ()
        for fd in fds:
            os.close(fd)

    def _read(self) -> bytes:
        data = os.pread(self._fd, READ_SIZE, self.size)
        self._digest.update(data)
        self.size += len(data)
        return data

    async def chunks(self) -> AsyncIterator[bytes]:
        """Every byte the leader wrote; raises when the leader in this process failed."""
        idle_since = time.monotonic()
        while True:
            finished = self._done()  # asked before reading: a read after it sees every byte
            data = await asyncio.to_thread(self._read)
            if data:
                idle_since = time.monotonic()
                yield data
                continue
            if finished:
                error = self._failure()
                if isinstance(error, PkgdepotError):
                    raise type(error)(error.message)
                if error is not None:
                    raise UpstreamUnavailable(f"the download failed: {error!r}")
                return
            if time.monotonic() - idle_since > self._stall_timeout:
                raise UpstreamUnavailable(
                    f"the download made no progress for {self._stall_timeout:g} s"
                )
            await self._wait()


class _Local:
    """A download this process leads."""

    def __init__(self, part: Path) -> None:
        self.part = part
        self.progress = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        self.progress.set()  # wakes every follower waiting now
        self.progress.clear()

    async def wait(self, seconds: float) -> None:
        """Until the leader wrote more, or ``seconds`` passed."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self.progress.wait()

    def done(self) -> bool:
        return self.task is not None and self.task.done()

    def failure(self) -> BaseException | None:
        if self.task is None or not self.task.done():
            return None
        if self.task.cancelled():
            return UpstreamUnavailable("the download was cancelled")
        return self.task.exception()


def _lock_is_free(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError as error:
        if error.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
            return False
        raise
    fcntl.flock(fd, fcntl.LOCK_UN)
    return True


def _try_lock(path: Path) -> int | None:
    """An fd holding the exclusive lock on ``path``; None if someone else holds it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        # Its last holder may have unlinked the file between our open and our lock.
        if os.stat(path).st_ino == os.fstat(fd).st_ino:
            return fd
    except (BlockingIOError, FileNotFoundError):
        pass
    os.close(fd)
    return None


def _unlock(path: Path, fd: int) -> None:
    """Unlinked while still held: whoever locks the path next gets a new file."""
    path.unlink(missing_ok=True)
    os.close(fd)


def _remove_leftover(part: Path) -> None:
    """What a leader that was killed left: its part link and the temporary file behind it."""
    with contextlib.suppress(FileNotFoundError):
        target = Path(os.readlink(part))
        target.unlink(missing_ok=True)
    part.unlink(missing_ok=True)


class Flights:
    def __init__(
        self,
        workdir: Path,
        blobs: BlobStore,
        *,
        poll_interval: float = 0.05,
        stall_timeout: float = 60.0,
    ) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self._workdir = workdir
        self._blobs = blobs
        self._poll = poll_interval
        self._stall_timeout = stall_timeout
        self._local: dict[str, _Local] = {}

    def _paths(self, key: str) -> tuple[Path, Path]:
        return self._workdir / f"{key}.lock", self._workdir / f"{key}.part"

    async def follow(
        self, key: str, lead: Lead, needed: Callable[[], Awaitable[bool]]
    ) -> Follower | None:
        """Follow the download of ``key``, leading it with ``lead`` if none is under way.

        None when this request took the lead but ``needed`` says the file is here by now.
        """
        deadline = time.monotonic() + self._stall_timeout
        lock_path, _ = self._paths(key)
        while True:
            local = self._local.get(key)
            if local is not None:
                follower = self._follow_local(local)
            else:
                lock = _try_lock(lock_path)
                if lock is None:
                    follower = self._follow_other_process(key)
                else:
                    try:
                        started = self._lead(key, lock, lead) if await needed() else None
                    except BaseException:
                        _unlock(lock_path, lock)
                        raise
                    if started is None:
                        _unlock(lock_path, lock)
                        return None
                    follower = self._follow_local(started)
            if follower is not None:
                return follower
            if time.monotonic() > deadline:
                raise UpstreamUnavailable("timed out waiting for another download of this file")
            await asyncio.sleep(self._poll)

    def _lead(self, key: str, lock: int, lead: Lead) -> _Local:
        lock_path, part_path = self._paths(key)
        _remove_leftover(part_path)
        blob = self._blobs.writer()
        local = _Local(blob.staged_path())
        try:
            os.symlink(local.part, part_path)
        except BaseException:
            blob.abort()
            raise

        async def run() -> None:
            try:
                await lead(PartWriter(blob, local.wake))
            finally:
                blob.abort()  # nothing happens once committed
                part_path.unlink(missing_ok=True)
                _unlock(lock_path, lock)
                del self._local[key]
                local.wake()

        local.task = asyncio.create_task(run())
        local.task.add_done_callback(_retrieve)
        self._local[key] = local
        return local

    def _follow_local(self, local: _Local) -> Follower | None:
        try:
            fd = os.open(local.part, os.O_RDONLY)
        except FileNotFoundError:
            return None  # committed (renamed) this instant: the next round finds it stored
        return Follower(
            fd, local.done, local.failure, lambda: local.wait(self._poll), self._stall_timeout
        )

    def _follow_other_process(self, key: str) -> Follower | None:
        lock_path, part_path = self._paths(key)
        try:
            lock = os.open(lock_path, os.O_RDONLY)
        except FileNotFoundError:
            return None
        try:
            fd = os.open(part_path, os.O_RDONLY)
        except FileNotFoundError:
            os.close(lock)
            return None  # the leader is just starting, or has just finished
        if _lock_is_free(lock):  # a leader that died: the next round takes over
            os.close(fd)
            os.close(lock)
            return None
        return Follower(
            fd,
            lambda: _lock_is_free(lock),
            lambda: None,
            lambda: asyncio.sleep(self._poll),
            self._stall_timeout,
            also_close=(lock,),
        )


def _retrieve(task: asyncio.Task[None]) -> None:
    """Followers report a leader's failure; this keeps asyncio from logging it again."""
    if not task.cancelled():
        task.exception()

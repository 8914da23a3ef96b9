"""The global serial, shared by every worker process through a memory-mapped file.

Reading it costs no system call, so every request can ask whether anything changed since a
cached page was rendered. The database stays the truth: the file is rewritten from it at start.

A second number beside it is the serial of the last write that changed an index (created,
modified or deleted one), so the in-memory catalog of indexes is reloaded only then, not after
every upload.
"""

from __future__ import annotations

import fcntl
import mmap
import os
import struct
import threading
from pathlib import Path

_FORMAT = "<q"
_SIZE = struct.calcsize(_FORMAT)
_INDEXES_AT = _SIZE  # offset of the serial of the last change to an index
_FILE_SIZE = 2 * _SIZE


class SharedSerial:
    def __init__(self, path: Path) -> None:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            size = os.fstat(fd).st_size
            if size < _FILE_SIZE:
                os.pwrite(fd, b"\0" * (_FILE_SIZE - size), size)
            self._map = mmap.mmap(fd, _FILE_SIZE)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        # flock excludes other processes only: threads share this descriptor's lock.
        self._thread_lock = threading.Lock()

    def get(self) -> int:
        value: int = struct.unpack_from(_FORMAT, self._map)[0]
        return value

    def indexes_changed(self) -> int:
        """The serial of the last write that changed an index (or a later one)."""
        value: int = struct.unpack_from(_FORMAT, self._map, _INDEXES_AT)[0]
        return value

    def advance(self, serial: int, *, indexes: bool = True) -> None:
        """Record a committed serial; never moves backwards, whatever order writers finish in.
        ``indexes``: whether that write may have changed an index."""
        with self._thread_lock:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            try:
                # the index serial first: a reader that sees the new serial sees it too
                if indexes and serial > self.indexes_changed():
                    struct.pack_into(_FORMAT, self._map, _INDEXES_AT, serial)
                if serial > self.get():
                    struct.pack_into(_FORMAT, self._map, 0, serial)
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)

    def reset(self, serial: int) -> None:
        """Set the serial from the database at start-up (it may be behind, or ahead if the
        database was restored from a backup)."""
        with self._thread_lock:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            try:
                struct.pack_into(_FORMAT, self._map, _INDEXES_AT, serial)
                struct.pack_into(_FORMAT, self._map, 0, serial)
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        self._map.close()
        os.close(self._fd)

"""The global serial, shared by every worker process through a memory-mapped file.

Reading it costs no system call, so every request can ask whether anything changed since a
cached page was rendered. The database stays the truth: the file is rewritten from it at start.
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


class SharedSerial:
    def __init__(self, path: Path) -> None:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            if os.fstat(fd).st_size < _SIZE:
                os.pwrite(fd, b"\0" * _SIZE, 0)
            self._map = mmap.mmap(fd, _SIZE)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        # flock excludes other processes only: threads share this descriptor's lock.
        self._thread_lock = threading.Lock()

    def get(self) -> int:
        value: int = struct.unpack_from(_FORMAT, self._map)[0]
        return value

    def advance(self, serial: int) -> None:
        """Record a committed serial; never moves backwards, whatever order writers finish in."""
        with self._thread_lock:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            try:
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
                struct.pack_into(_FORMAT, self._map, 0, serial)
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        self._map.close()
        os.close(self._fd)

"""Blobs as files under ``SERVERDIR/+blobs/ab/cd/<sha256>``: temp file, fsync, atomic rename."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from pkgdepot.errors import InvalidInput
from pkgdepot.storage.blobs import SHA256_HEX, Digests


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class FsBlobWriter:
    def __init__(self, store: FsBlobStore) -> None:
        self._store = store
        fd, name = tempfile.mkstemp(dir=store.tmpdir, prefix="upload-")
        self._file = os.fdopen(fd, "wb")
        self._tmp = Path(name)
        self.digests = Digests()
        self._done = False

    def write(self, chunk: bytes) -> None:
        self.digests.update(chunk)
        self._file.write(chunk)

    def staged_path(self) -> Path:
        self._file.flush()
        return self._tmp

    def commit(self, expected_sha256: str | None = None) -> str:
        """Make the blob durable and visible; refuses content whose hash is not the expected."""
        sha256 = self.digests.sha256.hexdigest()
        if expected_sha256 is not None and expected_sha256 != sha256:
            self.abort()
            raise InvalidInput(f"sha256 mismatch: expected {expected_sha256}, got {sha256}")
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        final = self._store.path(sha256)
        if final.exists():
            self._tmp.unlink()
        else:
            final.parent.mkdir(parents=True, exist_ok=True)
            os.chmod(self._tmp, 0o644)
            os.replace(self._tmp, final)
            _fsync_dir(final.parent)
        self._done = True
        return sha256

    def abort(self) -> None:
        if not self._done:
            self._done = True
            self._file.close()
            self._tmp.unlink(missing_ok=True)


class FsBlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.tmpdir = root / "tmp"
        self.tmpdir.mkdir(parents=True, exist_ok=True)

    def clean_temporary(self) -> None:
        """Remove what interrupted writes left behind (called at start-up only)."""
        for leftover in self.tmpdir.iterdir():
            leftover.unlink(missing_ok=True)

    def writer(self) -> FsBlobWriter:
        return FsBlobWriter(self)

    def put_bytes(self, data: bytes) -> str:
        writer = self.writer()
        try:
            writer.write(data)
            return writer.commit()
        except BaseException:
            writer.abort()
            raise

    def path(self, sha256: str) -> Path:
        if not SHA256_HEX.match(sha256):
            raise ValueError(f"not a sha256 hex digest: {sha256!r}")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def read_bytes(self, sha256: str) -> bytes:
        return self.path(sha256).read_bytes()

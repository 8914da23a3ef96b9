"""Blobs as files under ``SERVERDIR/+blobs/ab/cd/<sha256>``: temp file, fsync, atomic rename."""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from pkgdepot.errors import InvalidInput
from pkgdepot.storage.blobs import SHA256_HEX, Digests


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _reuse(final: Path) -> bool:
    """Whether a copy of the blob is there; if so, marked as just used (its access time, so
    its Last-Modified stays), which tells ``FsBlobStore.discard`` to keep it."""
    try:
        mtime = final.stat().st_mtime_ns
        os.utime(final, ns=(time.time_ns(), mtime))
    except FileNotFoundError:  # none, or discarded just now
        return False
    except OSError:  # not ours to touch: still a copy
        return final.exists()
    return True


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
        if _reuse(final):
            self._tmp.unlink()
        else:
            os.chmod(self._tmp, 0o644)
            try:
                os.replace(self._tmp, final)
            except FileNotFoundError:  # the first blob in its folder (rarely: 65,536 of them)
                final.parent.mkdir(parents=True, exist_ok=True)
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

    def stored(self) -> Iterator[str]:
        for first in _subfolders(self.root):
            for second in _subfolders(first):
                prefix = first.name + second.name
                with os.scandir(second) as entries:
                    for entry in entries:
                        if _belongs(entry.name, prefix) and entry.is_file(follow_symlinks=False):
                            yield entry.name

    def set_aside(self, sha256: str, directory: Path) -> Path | None:
        directory.mkdir(mode=0o700, exist_ok=True)
        stamp = time.strftime("%Y%m%dT%H%M%S")
        target = directory / f"{sha256}.{stamp}"
        number = 1
        while target.exists():
            number += 1
            target = directory / f"{sha256}.{stamp}.{number}"
        try:
            os.replace(self.path(sha256), target)
        except FileNotFoundError:
            return None
        return target

    def discard(self, sha256: str, used_before: float) -> bool:
        """Moved aside first: a writer that finds no copy any more stores its own (``_reuse``),
        and one that reused it just before has marked it used, so it is put back."""
        path = self.path(sha256)
        aside = self.tmpdir / f"discard-{sha256}"
        try:
            os.replace(path, aside)
        except FileNotFoundError:
            return False
        found = aside.stat()
        if max(found.st_atime, found.st_mtime) >= used_before:
            with contextlib.suppress(FileExistsError):  # a writer stored them meanwhile
                os.link(aside, path)
            aside.unlink()
            return False
        aside.unlink()
        return True


def _belongs(name: str, prefix: str) -> bool:
    """Whether ``name`` is a blob's, in the folders ``ab/cd`` of ``prefix`` ``abcd``."""
    return SHA256_HEX.match(name) is not None and name.startswith(prefix)


def _subfolders(folder: Path) -> Iterator[Path]:
    """The two-hex-digit folders blobs are spread over (``tmp`` and others are not)."""
    with os.scandir(folder) as entries:
        names = [e.name for e in entries if len(e.name) == 2 and e.is_dir(follow_symlinks=False)]
    for name in sorted(names):
        if all(c in "0123456789abcdef" for c in name):
            yield folder / name

"""Content-addressed blob storage: files are kept once, by sha256."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")


class Digests:
    """Running digests of a byte stream: what upload clients may send us to check against."""

    def __init__(self) -> None:
        self.sha256 = hashlib.sha256()
        self.md5 = hashlib.md5(usedforsecurity=False)
        self.blake2_256 = hashlib.blake2b(digest_size=32)
        self.size = 0

    def update(self, chunk: bytes) -> None:
        self.sha256.update(chunk)
        self.md5.update(chunk)
        self.blake2_256.update(chunk)
        self.size += len(chunk)


class BlobWriter(Protocol):
    """A blob being written: invisible to readers until ``commit``."""

    digests: Digests

    def write(self, chunk: bytes) -> None: ...
    def staged_path(self) -> Path:
        """The bytes written so far, as a local file to inspect before committing."""
        ...

    def commit(self, expected_sha256: str | None = None) -> str: ...
    def abort(self) -> None: ...


class BlobStore(Protocol):
    def writer(self) -> BlobWriter: ...
    def put_bytes(self, data: bytes) -> str: ...
    def path(self, sha256: str) -> Path: ...
    def exists(self, sha256: str) -> bool: ...
    def read_bytes(self, sha256: str) -> bytes: ...

    # for ``pkgdepot fsck``
    def stored(self) -> Iterator[str]:
        """The sha256 of every stored blob, in no particular order."""
        ...

    def set_aside(self, sha256: str, directory: Path) -> Path | None:
        """Take a blob out of service into ``directory``; its new path (None if not there)."""
        ...

    def discard(self, sha256: str, used_before: float) -> bool:
        """Delete a blob unless it was written or reused at or after ``used_before``."""
        ...

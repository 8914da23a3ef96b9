"""What an importer reads: the rows of ``docs/export-format.md``, from whatever wrote them.

``pkgdepot import`` reads a pkgdepot export directory or a devpi-server export through this one
interface, so the import itself (checks, blob copies, transactions, progress) exists once:
``transfer.importer.import_source(settings, source, progress)``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Protocol

Row = Mapping[str, Any]  # one object of a ``*.jsonl`` file, keys as the format lists them


class Progress(Protocol):
    """Told how much there is to do (rows), then how much more is done."""

    def begin(self, total: int) -> None: ...
    def advance(self, done: int) -> None: ...


class NoProgress:
    """A ``Progress`` that shows nothing."""

    def begin(self, total: int) -> None:
        pass

    def advance(self, done: int) -> None:
        pass


class ExportError(Exception):
    """An export that cannot be written, read or imported; the message says what and where."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ExportSource(Protocol):
    @property
    def manifest(self) -> Row:
        """``manifest.json``: at least ``format``, ``version`` and ``counts``."""
        ...

    def users(self) -> Iterator[Row]: ...
    def indexes(self) -> Iterator[Row]: ...
    def projects(self) -> Iterator[Row]: ...
    def releases(self) -> Iterator[Row]: ...
    def files(self) -> Iterator[Row]: ...

    def blob(self, sha256: str) -> Path | None:
        """Where the bytes with this sha256 are, or None when the export does not hold them."""
        ...

"""What an importer reads: the rows of ``docs/export-format.md``, from whatever wrote them.

``pkgdepot import`` reads a pkgdepot export directory or a devpi-server export through this one
interface, so the import itself (checks, blob copies, transactions, progress) exists once.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Protocol

Row = Mapping[str, Any]  # one object of a ``*.jsonl`` file, keys as the format lists them


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

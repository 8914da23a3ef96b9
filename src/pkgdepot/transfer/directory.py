"""Reading an export directory: pkgdepot's own format, or (through ``transfer/devpi.py``)
devpi-server's, told apart by the file at its top."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from pkgdepot.storage.blobs import SHA256_HEX
from pkgdepot.transfer.export import FORMAT, MANIFEST, TABLES, VERSION, blob_path
from pkgdepot.transfer.source import ExportError, ExportSource, Row

DEVPI_DATAINDEX = "dataindex.json"


def open_export(directory: Path) -> ExportSource:
    """The export in ``directory``, whichever kind it is; refuses anything else clearly."""
    if not directory.is_dir():
        raise ExportError(f"{directory} is not a directory")
    if (directory / MANIFEST).is_file():
        return DirectoryExport(directory)
    if (directory / DEVPI_DATAINDEX).is_file():
        return _devpi_export(directory)
    if any((directory / f"{table}.jsonl").exists() for table in TABLES):
        raise ExportError(
            f"{directory} holds an unfinished pkgdepot export: it has no {MANIFEST}, which an "
            "export writes last. Export again."
        )
    raise ExportError(
        f"{directory} is not an export: it has neither {MANIFEST} (pkgdepot export) nor "
        f"{DEVPI_DATAINDEX} (devpi-export)"
    )


def _devpi_export(directory: Path) -> ExportSource:
    try:
        module = importlib.import_module("pkgdepot.transfer.devpi")
    except ModuleNotFoundError as error:
        if error.name != "pkgdepot.transfer.devpi":
            raise
        raise ExportError(
            f"{directory} is a devpi-server export, and this pkgdepot cannot read those yet"
        ) from None
    source: ExportSource = module.DevpiExport(directory)
    return source


class DirectoryExport:
    """An export written by ``pkgdepot export`` (``docs/export-format.md``)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._manifest = self._read_manifest()

    def _read_manifest(self) -> dict[str, Any]:
        path = self.directory / MANIFEST
        try:
            manifest = orjson.loads(path.read_bytes())
        except OSError as error:
            raise ExportError(f"cannot read {path}: {error.strerror}") from None
        except orjson.JSONDecodeError as error:
            raise ExportError(f"{path} is not valid JSON: {error}") from None
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise ExportError(f"{path} does not describe a pkgdepot export")
        version = manifest.get("version")
        if version != VERSION:
            raise ExportError(
                f"{path}: export format version {version!r}; this pkgdepot reads version "
                f"{VERSION} (a newer pkgdepot made it?)"
            )
        if not isinstance(manifest.get("counts"), dict):
            raise ExportError(f"{path} has no counts")
        return manifest

    @property
    def manifest(self) -> Row:
        return self._manifest

    def _lines(self, table: str) -> Iterator[Row]:
        path = self.directory / f"{table}.jsonl"
        try:
            stream = path.open("rb")
        except OSError as error:
            raise ExportError(f"cannot read {path}: {error.strerror}") from None
        with stream:
            for number, line in enumerate(stream, start=1):
                if not line.strip():
                    continue
                try:
                    row = orjson.loads(line)
                except orjson.JSONDecodeError as error:
                    raise ExportError(f"{path} line {number}: not valid JSON: {error}") from None
                if not isinstance(row, dict):
                    raise ExportError(f"{path} line {number}: not a JSON object")
                yield row

    def users(self) -> Iterator[Row]:
        return self._lines("users")

    def indexes(self) -> Iterator[Row]:
        return self._lines("indexes")

    def projects(self) -> Iterator[Row]:
        return self._lines("projects")

    def releases(self) -> Iterator[Row]:
        return self._lines("releases")

    def files(self) -> Iterator[Row]:
        return self._lines("files")

    def blob(self, sha256: str) -> Path | None:
        if not SHA256_HEX.match(sha256):
            return None
        path = blob_path(self.directory, sha256)
        return path if path.is_file() else None

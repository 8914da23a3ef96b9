"""``pkgdepot export DIR``: every row as JSON Lines and the bytes they need, from one snapshot.

Rows are streamed from one read transaction straight into the ``*.jsonl`` files, so memory
stays flat however big the server is, and a server that keeps running (and writing) meanwhile
is exported as it was when the export began. Blobs are hard-linked into ``DIR/blobs/`` when
the export is on the server directory's file system (no bytes copied), copied otherwise.
``manifest.json`` is written last: a directory without one is an export that did not finish.
"""

from __future__ import annotations

import dataclasses
import datetime
import errno
import os
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson

from pkgdepot import __version__
from pkgdepot.app import open_store
from pkgdepot.config import Settings
from pkgdepot.domain.models import ReleaseFile
from pkgdepot.serverdir import ServerDir
from pkgdepot.storage.blobs_fs import FsBlobStore
from pkgdepot.storage.snapshot import Snapshot
from pkgdepot.transfer import rows
from pkgdepot.transfer.source import ExportError, NoProgress, Progress

FORMAT = "pkgdepot-export"
VERSION = 1
MANIFEST = "manifest.json"
TABLES = ("users", "indexes", "projects", "releases", "files")
BLOBS = "blobs"
# Errors of os.link that mean "not here": another file system, or one without hard links.
NO_HARD_LINKS = {errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP, errno.EOPNOTSUPP}


@dataclasses.dataclass(frozen=True)
class Exported:
    directory: Path
    serial: int  # the server's serial the export shows
    counts: dict[str, int]  # rows per table, and "blobs"
    linked: int  # blobs hard-linked (the rest were copied)


def blob_path(root: Path, sha256: str) -> Path:
    """Where an export keeps the bytes with this sha256."""
    return root / BLOBS / sha256[:2] / sha256[2:4] / sha256


def export_server(
    settings: Settings,
    target: Path,
    *,
    include_mirrored_files: bool = False,
    progress: Progress | None = None,
) -> Exported:
    directory = ServerDir(settings.serverdir)
    if not directory.is_initialized():
        raise ExportError(f"{directory.root} is not a pkgdepot server directory")
    created = _prepare_target(target)
    store = open_store(directory)
    try:
        if not store.schema_is_current():
            raise ExportError(
                f"the database in {directory.root} needs an upgrade first: "
                "run `pkgdepot init` with this version of pkgdepot, then export"
            )
        writer = _Writer(target, FsBlobStore(directory.blobs), include_mirrored_files)
        with store.snapshot() as snapshot:
            serial = writer.write(snapshot, progress or NoProgress())
    except BaseException:
        _remove_contents(target, created)
        raise
    finally:
        store.close()
    return Exported(target, serial, writer.counts, writer.linked)


def _prepare_target(target: Path) -> bool:
    """Make sure ``target`` is a new or empty directory; True if it was created here."""
    try:
        if target.exists():
            if not target.is_dir():
                raise ExportError(f"{target} is not a directory")
            if any(target.iterdir()):
                raise ExportError(f"{target} is not empty: export into a new or empty directory")
            return False
        target.mkdir(parents=True, mode=0o700)
        return True
    except OSError as error:
        raise ExportError(f"cannot export into {target}: {error.strerror}") from None


def _remove_contents(target: Path, created: bool) -> None:
    """Leave no half-written export behind after a failure we noticed."""
    if not target.is_dir():
        return
    for child in target.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)
    if created:
        target.rmdir()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class _Writer:
    def __init__(self, target: Path, blobs: FsBlobStore, include_mirrored_files: bool) -> None:
        self.target = target
        self.blobs = blobs
        self.include_mirrored_files = include_mirrored_files
        self.counts = dict.fromkeys((*TABLES, "blobs"), 0)
        self.linked = 0
        self._can_link = True
        self._blob_dirs: set[Path] = set()

    def write(self, snapshot: Snapshot, progress: Progress) -> int:
        serial = snapshot.serial()
        progress.begin(sum(snapshot.counts().values()))
        indexes = snapshot.indexes()
        paths = {index.id: index.path for index in indexes}
        self._table("users", (rows.user_row(u) for u in snapshot.users()), progress)
        self._table("indexes", (rows.index_row(i) for i in indexes), progress)
        projects = (rows.project_row(paths[p.index_id], p) for p in snapshot.projects())
        self._table("projects", projects, progress)
        releases = (rows.release_row(paths[r.index_id], r) for r in snapshot.releases())
        self._table("releases", releases, progress)
        self._table("files", (self._with_blobs(f) for f in snapshot.files(paths)), progress)
        for directory in self._blob_dirs:
            _fsync(directory)
        self._manifest(serial)
        return serial

    def _table(self, name: str, lines: Iterable[dict[str, Any]], progress: Progress) -> None:
        path = self.target / f"{name}.jsonl"
        # Users hold password hashes, indexes a mirror's credentials: owner only.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as stream:
            for line in lines:
                stream.write(orjson.dumps(line) + b"\n")
                self.counts[name] += 1
                progress.advance(1)
            stream.flush()
            os.fsync(stream.fileno())

    def _with_blobs(self, file: ReleaseFile) -> dict[str, Any]:
        """The file's row, once its bytes (if they go with it) are in the export."""
        if file.url is None:
            self._blob(file.sha256, file.relpath, required=True)
        elif not self._mirrored_bytes(file):
            return rows.file_row(file)
        if file.core_metadata_sha256:
            self._blob(file.core_metadata_sha256, file.relpath + ".metadata", required=False)
        return rows.file_row(file)

    def _mirrored_bytes(self, file: ReleaseFile) -> bool:
        """Whether a mirrored file's bytes go with it (into the export)."""
        if not (self.include_mirrored_files and file.cached and file.sha256):
            return False
        return self._blob(file.sha256, file.relpath, required=False)

    def _blob(self, sha256: str, relpath: str, *, required: bool) -> bool:
        """Put the bytes into the export; False if the server does not have them."""
        destination = blob_path(self.target, sha256)
        if destination.exists():
            return True
        source = self.blobs.path(sha256)
        if not source.is_file():
            if required:
                raise ExportError(
                    f"the stored bytes of {relpath} ({source}) are missing: "
                    "`pkgdepot fsck` lists every damaged file"
                )
            return False
        if destination.parent not in self._blob_dirs:
            destination.parent.mkdir(parents=True, exist_ok=True)
            self._blob_dirs.add(destination.parent)
        self._link_or_copy(source, destination)
        self.counts["blobs"] += 1
        return True

    def _link_or_copy(self, source: Path, destination: Path) -> None:
        if self._can_link:
            try:
                os.link(source, destination)
                self.linked += 1
                return
            except OSError as error:
                if error.errno not in NO_HARD_LINKS:
                    raise
                self._can_link = False  # another file system: copy from now on
        fd = os.open(destination, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        with source.open("rb") as reading, os.fdopen(fd, "wb") as writing:
            shutil.copyfileobj(reading, writing, 1024 * 1024)
            writing.flush()
            os.fsync(writing.fileno())

    def _manifest(self, serial: int) -> None:
        stamp = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
        manifest = {
            "format": FORMAT,
            "version": VERSION,
            "pkgdepot_version": __version__,
            "exported_at": stamp.isoformat().replace("+00:00", "Z"),
            "serial": serial,
            "include_mirrored_files": self.include_mirrored_files,
            "counts": self.counts,
        }
        temporary = self.target / (MANIFEST + ".tmp")
        data = orjson.dumps(manifest, option=orjson.OPT_INDENT_2) + b"\n"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, self.target / MANIFEST)
        _fsync(self.target)

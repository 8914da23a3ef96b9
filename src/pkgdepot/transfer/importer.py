"""``pkgdepot import``: an export (any ``ExportSource``) into a new server directory.

All or nothing: the server directory must be new or empty, is marked with ``.importing``
while the import runs (so ``pkgdepot serve`` refuses it meanwhile), and is emptied again when
anything fails, so it never holds half an import. Once every row is in, the directory is
initialised as ``pkgdepot init`` would (root and root/pypi only if the export had none).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from pathlib import Path

from pkgdepot.app import Initialized, initialize, open_store
from pkgdepot.config import Settings
from pkgdepot.errors import ConfigError
from pkgdepot.serverdir import ServerDir
from pkgdepot.storage.blobs_fs import FsBlobStore
from pkgdepot.transfer.loader import Loaded, Loader
from pkgdepot.transfer.source import ExportError, ExportSource, NoProgress, Progress

IMPORTING = ".importing"


@dataclasses.dataclass(frozen=True)
class Imported:
    serverdir: Path
    counts: dict[str, int]  # rows per table; "blobs" copied; "links": mirrored files left upstream
    dropped_bases: list[str]  # "user/index -> base": bases naming an index not in the export
    initialized: Initialized  # generated_password: root's, when the export had no root


def import_source(
    settings: Settings, source: ExportSource, progress: Progress | None = None
) -> Imported:
    """Import ``source`` into ``settings.serverdir``, which must be new or empty.

    Raises ``ExportError`` (nothing imported, the directory as it was) for a directory that is
    not empty, a row that does not fit the format, or bytes whose sha256 is not their row's.
    """
    root = settings.serverdir
    existed = _check_empty(root)
    guard = root / IMPORTING
    try:
        root.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(guard, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as error:
        raise ExportError(f"cannot import into {root}: {error.strerror}") from None
    with os.fdopen(fd, "w") as stream:
        stream.write(f"pkgdepot import in progress (process {os.getpid()})\n")
    try:
        loaded = _load(ServerDir(root), source, progress or NoProgress())
        guard.unlink()
        try:
            done = initialize(settings)
        except ConfigError as error:
            raise ExportError(str(error)) from None
    except BaseException:
        _empty(root, existed, guard)
        raise
    return Imported(root, loaded.counts, loaded.dropped_bases, done)


def _check_empty(root: Path) -> bool:
    """Refuse a server directory that holds anything; True if it exists (empty)."""
    if not root.exists():
        return False
    if not root.is_dir():
        raise ExportError(f"{root} is not a directory")
    if ServerDir(root).is_initialized():
        raise ExportError(
            f"{root} already holds a pkgdepot server: import into a new or empty directory"
        )
    if (root / IMPORTING).exists():
        raise ExportError(
            f"{root} holds an interrupted import ({IMPORTING}): empty it, then import again"
        )
    try:
        entries = sorted(child.name for child in root.iterdir())
    except OSError as error:
        raise ExportError(f"cannot import into {root}: {error.strerror}") from None
    if entries:
        shown = ", ".join(entries[:5]) + (", ..." if len(entries) > 5 else "")
        raise ExportError(f"{root} is not empty ({shown}): import into a new or empty directory")
    return True


def _load(directory: ServerDir, source: ExportSource, progress: Progress) -> Loaded:
    directory.blobs.mkdir(exist_ok=True)
    store = open_store(directory)
    try:
        store.upgrade_schema()
        return Loader(store, FsBlobStore(directory.blobs), source, progress).run()
    finally:
        store.close()


def _empty(root: Path, existed: bool, guard: Path) -> None:
    """Take back everything the import wrote (the directory was empty); the guard goes last."""
    if not root.is_dir():
        return
    for child in root.iterdir():
        if child == guard:
            continue
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)
    guard.unlink(missing_ok=True)
    if not existed:
        root.rmdir()

"""Documentation: doc zips served unpacked at ``/USER/INDEX/PROJECT/VERSION/+doc/PATH``.

Each doc zip is unpacked on its first request into ``SERVERDIR/+docs/<sha256 of the zip>/``, a
cache: a missing folder is unpacked again. Unpacking happens under an exclusive ``flock`` in
``+docs/.work/``, into a folder there that is renamed into place when complete, so no request
of any worker ever sees half a tree. The zip was checked at upload (``doczip.check``) and is
checked again while it is unpacked.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import os
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path

from packaging.version import InvalidVersion, Version

from pkgdepot import doczip
from pkgdepot.domain.models import Index, ReleaseFile
from pkgdepot.domain.names import short_repr, version_sort_key
from pkgdepot.domain.permissions import Policy
from pkgdepot.errors import NotFound
from pkgdepot.service.indexes import Catalog
from pkgdepot.storage.blobs import BlobStore
from pkgdepot.storage.meta import MetaStore

ALIASES = ("latest", "stable")
WORK = ".work"  # under +docs: locks and trees being unpacked; never a sha256


@dataclasses.dataclass(frozen=True)
class DocPath:
    """What a docs URL names: a file to send, or a folder (answered with its index.html)."""

    sha256: str  # of the doc zip
    path: Path
    stat: os.stat_result

    @property
    def is_folder(self) -> bool:
        return stat.S_ISDIR(self.stat.st_mode)


def _is_stable(version: str) -> bool:
    try:
        return not Version(version).is_prerelease
    except InvalidVersion:
        return False


def pick_version(versions: list[str], wanted: str) -> str | None:
    """``wanted`` itself, or what the alias ``latest`` / ``stable`` stands for among
    ``versions`` (the versions that have docs). ``stable`` falls back to ``latest``."""
    if wanted not in ALIASES:
        return wanted if wanted in versions else None
    if not versions:
        return None
    stable = [v for v in versions if _is_stable(v)]
    candidates = stable if wanted == "stable" and stable else versions
    return max(candidates, key=version_sort_key)


def _segments(path: str) -> list[str]:
    """The segments of a requested path below the docs' folder; escaping ones are not found."""
    segments = [s for s in path.split("/") if s not in ("", ".")]
    for segment in segments:
        if segment == ".." or "\\" in segment or "\0" in segment:
            raise NotFound(f"no page {short_repr(path)} in this documentation")
    return segments


@contextlib.contextmanager
def _locked(lock: Path) -> Iterator[None]:
    """Exclusive between threads and processes alike: each call opens its own descriptor."""
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


class Docs:
    def __init__(
        self, store: MetaStore, blobs: BlobStore, catalog: Catalog, policy: Policy, unpacked: Path
    ) -> None:
        self._store = store
        self._blobs = blobs
        self._catalog = catalog
        self.policy = policy
        self._unpacked = unpacked

    def doc_zip(self, index: Index, project: str, version: str) -> ReleaseFile:
        """The doc zip a URL's version stands for: the first index in the chain that has docs
        for that version wins, and ``latest`` / ``stable`` pick among all of them."""
        by_version: dict[str, ReleaseFile] = {}
        for i in self._indexes_with(index, project):
            for file in self._store.files_of_project(i, project, "doczip"):
                by_version.setdefault(file.version, file)
        if not by_version:
            raise NotFound(f"no documentation for project {project} on {index.path}")
        chosen = pick_version(list(by_version), version)
        if chosen is None:
            raise NotFound(f"no documentation for {project} {version} on {index.path}")
        return by_version[chosen]

    def _indexes_with(self, index: Index, project: str) -> list[Index]:
        # Mirrors hold no doc zips: only uploads (and pushes) store them.
        order = [i for i in self._catalog.order(index) if not i.is_mirror]
        having = self._store.indexes_having(project, [i.id for i in order])
        return [i for i in order if i.id in having]

    def locate(self, index: Index, project: str, version: str, path: str) -> DocPath:
        """The file or folder ``path`` names in the docs of ``project`` ``version``."""
        segments = _segments(path)
        file = self.doc_zip(index, project, version)
        tree = self.tree(file)
        target = tree.joinpath(*segments)
        if not target.resolve().is_relative_to(tree.resolve()):  # a second line of defence
            raise NotFound(f"no page {short_repr(path)} in this documentation")
        try:
            found = target.lstat()
        except OSError:  # not there, a file used as a folder, a name too long
            found = None
        # The tree holds only what unpacking made: plain files and folders, never a link.
        is_file = found is not None and stat.S_ISREG(found.st_mode)
        is_folder = found is not None and stat.S_ISDIR(found.st_mode)
        if found is None or not (is_folder or (is_file and not path.endswith("/"))):
            shown = f"{file.project} {file.version}"
            raise NotFound(f"no page {short_repr(path)} in the documentation of {shown}")
        return DocPath(file.sha256, target, found)

    def tree(self, file: ReleaseFile) -> Path:
        """The doc zip's unpacked folder, unpacked now if it is not there."""
        final = self._unpacked / file.sha256
        if final.is_dir():
            return final
        source = self._blobs.path(file.sha256)
        if not source.is_file():
            raise NotFound(f"the stored content of {file.relpath} is missing on this server")
        work = self._unpacked / WORK
        work.mkdir(parents=True, exist_ok=True)
        with _locked(work / f"{file.sha256}.lock"):
            if final.is_dir():  # another request or worker unpacked it meanwhile
                return final
            partial = work / file.sha256
            shutil.rmtree(partial, ignore_errors=True)  # left by a process that died
            partial.mkdir()
            try:
                doczip.unpack(source, partial)
            except doczip.UnsafeDocZip as error:
                # Stored before uploads were checked as they are now.
                shutil.rmtree(partial, ignore_errors=True)
                shown = f"{file.project} {file.version}"
                raise NotFound(f"the documentation of {shown} cannot be served: {error}") from None
            except BaseException:
                shutil.rmtree(partial, ignore_errors=True)
                raise
            partial.rename(final)
        return final

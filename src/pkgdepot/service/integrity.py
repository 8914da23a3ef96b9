"""Integrity of the stored files, checked by ``pkgdepot fsck``; repairs are ``integrity_repair``.

Blobs are needed by file rows whose bytes are here (uploads, doc zips, tox results, fetched
mirror files) and by wheels' core metadata. They are content-addressed, so one blob may serve
many rows: each is hashed once, streamed, and a damaged one is reported with every row that
needs it.

Checking only reads, and is safe while a server runs: a blob is in place before the row that
needs it is committed, and a blob is counted as an orphan (needed by no row) only when a second
read of the rows, made after the blobs were listed, still finds no row that needs it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

from pkgdepot.domain.models import ReleaseFile
from pkgdepot.storage.blobs import SHA256_HEX, BlobStore
from pkgdepot.storage.meta import MetaStore

MISSING = "missing"
CORRUPT = "corrupt"
FILE = "file"
METADATA = "core metadata"
CHUNK = 1024 * 1024
DOCS_WORK = ".work"  # under +docs: locks and trees being unpacked (service/docs.py)

Advance = Callable[[int], None]  # told how many more bytes were hashed


@dataclasses.dataclass(frozen=True)
class Need:
    """What one row needs of one blob."""

    sha256: str
    role: str  # FILE or METADATA
    required: bool  # False: fetched when asked for (a mirror's metadata); only checked if here
    size: int | None  # what the row says, when it says


def needs_of(file: ReleaseFile) -> list[Need]:
    """The blobs a row needs. A mirrored file not fetched yet needs none of its own."""
    needs = []
    if file.cached and file.sha256:
        needs.append(Need(file.sha256, FILE, True, file.size))
    if file.core_metadata_sha256:
        needs.append(Need(file.core_metadata_sha256, METADATA, file.url is None, None))
    return needs


def verdict(expected: str, expected_size: int | None, actual: str, actual_size: int) -> str | None:
    """What is wrong with a blob's content, or None if nothing is."""
    if expected_size is not None and actual_size != expected_size:
        return f"{actual_size} bytes, the database says {expected_size}"
    if actual != expected:
        return f"its content hashes to sha256 {actual}"
    return None


def hash_file(path: Path, advance: Advance | None = None) -> tuple[str, int]:
    """sha256 and size of a file, read in chunks (memory stays flat)."""
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as stream:
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
            if advance is not None:
                advance(len(chunk))
    return digest.hexdigest(), size


@dataclasses.dataclass(frozen=True)
class Reference:
    """A row that needs a damaged blob."""

    index: str
    relpath: str
    kind: str  # releasefile | doczip | toxresult
    role: str  # FILE or METADATA
    mirrored: bool  # fetched from an upstream: the row has its URL

    @property
    def what(self) -> str:
        """'releasefile', or 'releasefile core metadata'."""
        return self.kind if self.role == FILE else f"{self.kind} {METADATA}"


@dataclasses.dataclass(frozen=True)
class Damage:
    sha256: str
    state: str  # MISSING or CORRUPT
    detail: str
    references: tuple[Reference, ...]


@dataclasses.dataclass(frozen=True)
class Leftover:
    """On disk, needed by nothing: a blob (orphan) or an unpacked doc tree."""

    path: Path
    sha256: str
    size: int
    used: float  # last written or reused (Unix time)


@dataclasses.dataclass
class Expected:
    size: int | None
    required: bool


@dataclasses.dataclass
class Plan:
    """What ``Checker.plan`` found to check; ``verify`` fills in ``bad``."""

    files: int = 0  # rows whose blobs are checked
    skipped: int = 0  # fetched mirror files left out (--skip-mirrored)
    expected: dict[str, Expected] = dataclasses.field(default_factory=dict)
    referenced: set[str] = dataclasses.field(default_factory=set)  # every blob any row names
    doc_zips: set[str] = dataclasses.field(default_factory=set)
    to_hash: list[tuple[str, int]] = dataclasses.field(default_factory=list)  # (sha256, size)
    bad: dict[str, tuple[str, str]] = dataclasses.field(default_factory=dict)  # state, detail

    @property
    def total_bytes(self) -> int:
        return sum(size for _, size in self.to_hash)

    def expect(self, need: Need) -> None:
        known = self.expected.get(need.sha256)
        if known is None:
            self.expected[need.sha256] = Expected(need.size, need.required)
        else:
            known.required = known.required or need.required
            known.size = known.size if known.size is not None else need.size


@dataclasses.dataclass(frozen=True)
class Report:
    files: int
    skipped: int
    blobs: int  # distinct blobs checked
    bytes: int
    damage: tuple[Damage, ...]
    orphans: tuple[Leftover, ...]
    stale_docs: tuple[Leftover, ...]


class Checker:
    def __init__(self, store: MetaStore, blobs: BlobStore, unpacked_docs: Path) -> None:
        self._store = store
        self._blobs = blobs
        self._docs = unpacked_docs

    def plan(self, include_mirrored: bool) -> Plan:
        """Read every row: which blobs to check, and which exist at all."""
        plan = Plan()
        for file in self._store.iter_files():
            needs = needs_of(file)
            plan.referenced.update(need.sha256 for need in needs)
            if file.kind == "doczip":
                plan.doc_zips.add(file.sha256)
            if file.url is not None and not include_mirrored:
                plan.skipped += file.cached
                continue
            plan.files += bool(needs)
            for need in needs:
                plan.expect(need)
        for sha256 in sorted(plan.expected):
            self._find(plan, sha256)
        return plan

    def _find(self, plan: Plan, sha256: str) -> None:
        required = plan.expected[sha256].required
        if not SHA256_HEX.match(sha256):
            if required:
                plan.bad[sha256] = (MISSING, f"the database names no valid sha256: {sha256!r}")
            return
        try:
            size = self._blobs.path(sha256).stat().st_size
        except FileNotFoundError:
            if required:
                plan.bad[sha256] = (MISSING, f"no stored copy of blob {sha256}")
            return
        plan.to_hash.append((sha256, size))

    def verify(self, plan: Plan, advance: Advance | None = None) -> None:
        """Hash every blob found; a size that is already wrong is not read."""
        for sha256, size in plan.to_hash:
            expected = plan.expected[sha256]
            if expected.size is not None and size != expected.size:
                plan.bad[sha256] = (CORRUPT, f"{size} bytes, the database says {expected.size}")
                if advance is not None:
                    advance(size)
                continue
            try:
                actual, size = hash_file(self._blobs.path(sha256), advance)
            except FileNotFoundError:
                if expected.required:
                    plan.bad[sha256] = (MISSING, f"no stored copy of blob {sha256}")
                continue
            except OSError as error:
                plan.bad[sha256] = (CORRUPT, f"it cannot be read: {error.strerror}")
                continue
            wrong = verdict(sha256, expected.size, actual, size)
            if wrong is not None:
                plan.bad[sha256] = (CORRUPT, wrong)

    def report(self, plan: Plan) -> Report:
        """Who needs each damaged blob, and what on disk nothing needs (a second read)."""
        orphans = {sha for sha in self._blobs.stored() if sha not in plan.referenced}
        trees = {path.name for path in self._doc_trees() if path.name not in plan.doc_zips}
        references: dict[str, list[Reference]] = {sha: [] for sha in plan.bad}
        for file in self._store.iter_files():
            if file.kind == "doczip":
                trees.discard(file.sha256)
            for need in needs_of(file):
                orphans.discard(need.sha256)
                found = references.get(need.sha256)
                if found is not None and (need.required or plan.bad[need.sha256][0] == CORRUPT):
                    mirrored = file.url is not None
                    found.append(
                        Reference(file.index, file.relpath, file.kind, need.role, mirrored)
                    )
        damage = tuple(
            Damage(sha, *plan.bad[sha], tuple(references[sha]))
            for sha in sorted(plan.bad)
            if references[sha]  # else no row needs it any more
        )
        return Report(
            files=plan.files,
            skipped=plan.skipped,
            blobs=len(plan.to_hash),
            bytes=plan.total_bytes,
            damage=damage,
            orphans=tuple(self._blob_leftover(sha) for sha in sorted(orphans)),
            stale_docs=tuple(_tree_leftover(self._docs / name) for name in sorted(trees)),
        )

    def _doc_trees(self) -> Iterator[Path]:
        if not self._docs.is_dir():
            return
        for path in self._docs.iterdir():
            if SHA256_HEX.match(path.name) and path.is_dir() and not path.is_symlink():
                yield path

    def _blob_leftover(self, sha256: str) -> Leftover:
        path = self._blobs.path(sha256)
        try:
            found = path.stat()
        except FileNotFoundError:
            return Leftover(path, sha256, 0, 0.0)
        return Leftover(path, sha256, found.st_size, max(found.st_atime, found.st_mtime))

    # writes: only with --remove-orphans

    def remove_orphans(self, orphans: tuple[Leftover, ...], used_before: float) -> list[Leftover]:
        """Delete the orphans not written or reused since ``used_before``; those deleted."""
        return [o for o in orphans if self._blobs.discard(o.sha256, used_before)]

    def remove_doc_trees(self, trees: tuple[Leftover, ...]) -> list[Leftover]:
        """Delete unpacked doc trees: renamed away first, so no request sees half a tree."""
        work = self._docs / DOCS_WORK
        work.mkdir(exist_ok=True)
        removed = []
        for tree in trees:
            doomed = work / f"removing-{tree.sha256}-{os.getpid()}"
            try:
                tree.path.rename(doomed)
            except FileNotFoundError:
                continue
            shutil.rmtree(doomed, ignore_errors=True)
            removed.append(tree)
        return removed


def _tree_leftover(path: Path) -> Leftover:
    size = 0
    for folder, _, names in os.walk(path):
        for name in names:
            try:
                size += os.lstat(os.path.join(folder, name)).st_size
            except OSError:
                continue
    try:
        used = path.stat().st_mtime
    except OSError:
        used = 0.0
    return Leftover(path, path.name, size, used)

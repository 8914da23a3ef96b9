"""Writing an export's rows into an empty store, through the same ``Transaction`` methods the
server uses (so serials, rendered simple-page links and the changelog are what they would be),
and copying each blob into the blob store with its sha256 checked on the way."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Iterator
from typing import Any

from pkgdepot import archives
from pkgdepot.domain import indexconfig
from pkgdepot.domain.models import MirrorPageState
from pkgdepot.domain.names import check_user_or_index_name, normalize_project
from pkgdepot.errors import InvalidInput
from pkgdepot.service.accounts import stored_problems
from pkgdepot.storage.blobs import SHA256_HEX
from pkgdepot.storage.blobs_fs import FsBlobStore
from pkgdepot.storage.meta import MetaStore
from pkgdepot.storage.transaction import Transaction
from pkgdepot.transfer import rows
from pkgdepot.transfer.rows import Fields
from pkgdepot.transfer.source import ExportError, ExportSource, Progress, Row

BATCH = 200  # rows per write transaction: memory stays flat, the changelog row small
KNOWN_PROJECTS = 10_000  # projects remembered as present, so files need not ask each time
CHUNK = 1024 * 1024
TABLES = ("users", "indexes", "projects", "releases", "files")
WHO = None  # the changelog's "who" of imported rows: nobody's request


@dataclasses.dataclass
class Loaded:
    counts: dict[str, int]  # rows per table; "blobs" copied; "links": mirrored files left upstream
    dropped_bases: list[str]  # "user/index -> base" for bases not in the export


class Loader:
    def __init__(
        self, store: MetaStore, blobs: FsBlobStore, source: ExportSource, progress: Progress
    ) -> None:
        self.store = store
        self.blobs = blobs
        self.source = source
        self.progress = progress
        self.index_ids: dict[str, int] = {}
        self.mirrors: set[int] = set()
        self.expected: dict[str, Any] = {}
        self._names: set[str] = set()
        self.loaded = Loaded(dict.fromkeys((*TABLES, "blobs", "links"), 0), [])
        self._pages: list[tuple[int, str, MirrorPageState]] = []
        self._known: set[tuple[int, str]] = set()

    def run(self) -> Loaded:
        manifest = self.source.manifest
        counts = manifest.get("counts")
        self.expected = dict(counts) if isinstance(counts, dict) else {}
        self.progress.begin(sum(v for k, v in self.expected.items() if k in TABLES))
        serial = manifest.get("serial")
        if isinstance(serial, int) and not isinstance(serial, bool) and serial > 0:
            note = {"what": "import", "format": manifest.get("format"), "serial": serial}
            self.store.continue_serial(serial, WHO, note)
        self._load("users", self.source.users(), self._put_user)
        self._load("indexes", self._checked_indexes(), self._put_index)
        self._load("projects", self.source.projects(), self._put_project)
        self._load("releases", self.source.releases(), self._put_release)
        self._load("files", self.source.files(), self._put_file)
        return self.loaded

    def _load(
        self, table: str, source: Iterator[Row], put: Callable[[Transaction, Row], None]
    ) -> None:
        count = 0
        while batch := list(itertools.islice(source, BATCH)):
            with self.store.transaction(WHO) as tx:
                for row in batch:
                    put(tx, row)
            self.store.record_mirror_pages(self._pages)
            self._pages.clear()
            count += len(batch)
            self.progress.advance(len(batch))
        expected = self.expected.get(table)
        if isinstance(expected, int) and expected != count:
            raise ExportError(
                f"{table}: the export holds {count} rows, its manifest says {expected}: "
                "the export is damaged or incomplete"
            )
        self.loaded.counts[table] = count

    def _index_id(self, f: Fields, key: str = "index") -> int:
        path = f.text(key)
        index_id = self.index_ids.get(path)
        if index_id is None:
            raise f.fail(f"its index {path!r} is not in the export")
        return index_id

    def _project(self, tx: Transaction, f: Fields, index_id: int, key: str) -> str:
        project = f.text(key)
        if (index_id, project) in self._known:
            return project
        if not tx.has_project(index_id, project):
            raise f.fail(f"its project {project!r} is not in the export")
        if len(self._known) >= KNOWN_PROJECTS:
            self._known.clear()
        self._known.add((index_id, project))
        return project

    # users and indexes

    def _put_user(self, tx: Transaction, row: Row) -> None:
        user = rows.read_user(row)
        try:
            check_user_or_index_name(user.name, "user")
        except InvalidInput as error:
            raise ExportError(f"users: {error.message}") from None
        problems = stored_problems(user)
        if problems:
            raise ExportError(f"users: {user.name}: {problems[min(problems)]}")
        if tx.has_user(user.name):
            raise ExportError(f"users: {user.name} is in the export twice")
        tx.put_user(user)

    def _checked_indexes(self) -> Iterator[Row]:
        """Every index row (there are few), once all their names are known: bases that name
        an index which is not exported are dropped."""
        indexes = list(self.source.indexes())
        for row in indexes:
            f = Fields("indexes", row, "user", "name", joiner="/")
            self._names.add(f"{f.text('user')}/{f.text('name')}")
        return iter(indexes)

    def _put_index(self, tx: Transaction, row: Row) -> None:
        f = Fields("indexes", row, "user", "name", joiner="/")
        user, name, index_type = f.text("user"), f.text("name"), f.text("type")
        path = f"{user}/{name}"
        given = {k: v for k, v in f.mapping("config").items() if k != "type"}
        try:
            check_user_or_index_name(name, "index")
            config = indexconfig.new_index_config(user, {**given, "type": index_type})
        except InvalidInput as error:
            raise f.fail(error.message) from None
        bases = config.get("bases")
        if isinstance(bases, list):
            config["bases"] = [base for base in bases if base in self._names]
            self.loaded.dropped_bases += [f"{path} -> {b}" for b in bases if b not in self._names]
        if not tx.has_user(user):
            raise f.fail(f"its user {user!r} is not in the export")
        if path in self.index_ids:
            raise f.fail("the index is in the export twice")
        stored = {k: v for k, v in config.items() if k != "type"}
        self.index_ids[path] = tx.put_index(user, name, index_type, stored)
        if index_type == "mirror":
            self.mirrors.add(self.index_ids[path])

    # projects and releases

    def _put_project(self, tx: Transaction, row: Row) -> None:
        f = Fields("projects", row, "index", "name")
        index_id = self._index_id(f)
        name = f.text("name")
        try:
            normal = normalize_project(name)
        except InvalidInput as error:
            raise f.fail(error.message) from None
        if normal != name:
            raise f.fail(f"project names are stored normalised ({normal!r})")
        tx.touch_project(index_id, name, f.optional_text("display_name") or name)
        page = rows.read_mirror_page(f)
        if page is not None and index_id in self.mirrors:
            self._pages.append((index_id, name, page))

    def _put_release(self, tx: Transaction, row: Row) -> None:
        f = Fields("releases", row, "index", "project", "version")
        index_id = self._index_id(f)
        project = self._project(tx, f, index_id, "project")
        tx.put_release(index_id, project, f.text("version"), f.mapping("metadata"))

    # files and their bytes

    def _put_file(self, tx: Transaction, row: Row) -> None:
        f = Fields("files", row, "relpath")
        index_id = self._index_id(f)
        relpath = f.text("relpath")
        if not relpath.startswith(f.text("index") + "/"):
            raise f.fail("its relpath is not on its index")
        self._project(tx, f, index_id, "project")
        url, sha256 = f.optional_text("url"), f.optional_text("sha256") or ""
        if sha256 and not SHA256_HEX.match(sha256):
            raise f.fail(f"'sha256' is not a sha256 hex digest: {sha256!r}")
        if url is None and not sha256:
            raise f.fail("a file without a sha256 must be a mirrored one (with a 'url')")
        have = bool(sha256) and self._copy_blob(f, sha256, f.optional_int("size"))
        if url is None and not have:
            raise f.fail(f"its bytes (sha256 {sha256}) are not in the export")
        if url is not None and not have:
            self.loaded.counts["links"] += 1
        metadata = self._core_metadata(f, sha256 if have else "", mirrored=url is not None)
        tx.put_file(index_id, rows.read_file(row, cached=have, core_metadata_sha256=metadata))

    def _copy_blob(self, f: Fields, sha256: str, size: int | None, what: str = "") -> bool:
        """Copy the exported bytes into the blob store, checking them; False if the export does
        not hold them. Bytes whose sha256 or size is not what the row says stop the import."""
        if self.blobs.exists(sha256):
            return True  # copied (and checked) for an earlier row
        path = self.source.blob(sha256)
        if path is None:
            return False
        writer = self.blobs.writer()
        try:
            with path.open("rb") as stream:
                while chunk := stream.read(CHUNK):
                    writer.write(chunk)
            got = writer.digests.sha256.hexdigest()
            if got != sha256:
                raise f.fail(
                    f"the exported bytes of its {what or 'file'} ({path}) have sha256 {got}, "
                    f"not {sha256}: the export is damaged"
                )
            if size is not None and writer.digests.size != size:
                raise f.fail(
                    f"the exported bytes ({path}) are {writer.digests.size} bytes long, "
                    f"not {size}: the export is damaged"
                )
            writer.commit(sha256)
        except OSError as error:
            raise f.fail(f"cannot read {path}: {error.strerror}") from None
        finally:
            writer.abort()  # nothing once committed
        self.loaded.counts["blobs"] += 1
        return True

    def _core_metadata(self, f: Fields, sha256: str, *, mirrored: bool) -> str | None:
        """The core metadata (PEP 658) a release file advertises, its bytes stored.

        Exported bytes are copied. A wheel of a private index whose metadata is not in the
        export (an export from elsewhere) gets it extracted, as an upload would; a mirrored
        one keeps what its upstream announced, fetched when a client asks.
        """
        named = f.optional_text("core_metadata_sha256")
        if named and not SHA256_HEX.match(named):
            raise f.fail(f"'core_metadata_sha256' is not a sha256 hex digest: {named!r}")
        if f.text("kind") != "releasefile":
            return None
        if named and self._copy_blob(f, named, None, "core metadata"):
            return named
        filename = f.text("filename")
        if mirrored or not sha256 or not filename.endswith(".whl"):
            return named if mirrored else None
        try:
            raw = archives.extract_core_metadata(self.blobs.path(sha256), filename)
        except InvalidInput:
            return None
        return None if raw is None else self.blobs.put_bytes(raw)

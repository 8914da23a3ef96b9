"""A write transaction: every change it makes is stamped with its serial and recorded."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from pkgdepot.domain.models import Index, ReleaseFile, User, file_values
from pkgdepot.domain.simple_links import html_link, json_link
from pkgdepot.storage import schema as _t
from pkgdepot.storage.rows import to_file


def _fragments(file: ReleaseFile) -> dict[str, str | None]:
    """A release file's simple-page fragments, stored with it (``domain/simple_links.py``)."""
    if file.kind != "releasefile":
        return {"html_link": None, "json_link": None}
    return {"html_link": html_link(file), "json_link": json_link(file)}


PUT_BATCH = 250
_DELETE_FILE = sa.delete(_t.files).where(
    _t.files.c.index_id == sa.bindparam("row_index_id"),
    _t.files.c.relpath == sa.bindparam("row_relpath"),
)
_FORGET_DELETED = sa.delete(_t.deleted_files).where(
    _t.deleted_files.c.index_path == sa.bindparam("row_index_path"),
    _t.deleted_files.c.relpath == sa.bindparam("row_relpath"),
)

_UPSTREAM_FACTS = ("filename", "version", "url", "requires_python", "yanked", "upload_time")


def _same_upstream_facts(stored: ReleaseFile, announced: ReleaseFile) -> bool:
    """Whether a stored mirror row still says what the upstream announces now."""
    if any(getattr(stored, f) != getattr(announced, f) for f in _UPSTREAM_FACTS):
        return False
    if announced.sha256 and stored.sha256 != announced.sha256:
        return False
    if announced.size is not None and stored.size != announced.size:
        return False
    announced_metadata = announced.core_metadata_sha256
    return announced_metadata is None or stored.core_metadata_sha256 == announced_metadata


class Transaction:
    """One write transaction; every change it makes is stamped with ``serial``."""

    def __init__(self, connection: sa.Connection, serial: int) -> None:
        self.connection = connection
        self.serial = serial
        self.changes: list[dict[str, Any]] = []

    def _record(self, what: str, **details: Any) -> None:
        self.changes.append({"what": what, **details})

    # users

    def has_user(self, name: str) -> bool:
        query = sa.select(_t.users.c.name).where(_t.users.c.name == name)
        return self.connection.execute(query).first() is not None

    def index_id(self, user: str, name: str) -> int | None:
        query = sa.select(_t.indexes.c.id).where(
            _t.indexes.c.user == user, _t.indexes.c.name == name
        )
        value = self.connection.execute(query).scalar()
        return None if value is None else int(value)

    def file_named(self, index: Index, project: str, filename: str) -> ReleaseFile | None:
        row = self.connection.execute(
            sa.select(_t.files).where(
                _t.files.c.index_id == index.id,
                _t.files.c.project == project,
                _t.files.c.filename == filename,
            )
        ).first()
        return None if row is None else to_file(row, index.path)

    def has_project(self, index_id: int, project: str) -> bool:
        query = sa.select(_t.projects.c.name).where(
            _t.projects.c.index_id == index_id, _t.projects.c.name == project
        )
        return self.connection.execute(query).first() is not None

    def release_exists(self, index_id: int, project: str, version: str) -> bool:
        query = sa.select(_t.releases.c.version).where(
            _t.releases.c.index_id == index_id,
            _t.releases.c.project == project,
            _t.releases.c.version == version,
        )
        return self.connection.execute(query).first() is not None

    def release_metadata(self, index_id: int, project: str, version: str) -> dict[str, Any] | None:
        query = sa.select(_t.releases.c.metadata).where(
            _t.releases.c.index_id == index_id,
            _t.releases.c.project == project,
            _t.releases.c.version == version,
        )
        value = self.connection.execute(query).scalar()
        return None if value is None else dict(value)

    def put_user(self, user: User) -> None:
        values = {
            "pwhash": user.pwhash,
            "config": dict(user.config),
            "created": user.created,
            "modified": user.modified,
            "serial": self.serial,
        }
        updated = self.connection.execute(
            sa.update(_t.users).where(_t.users.c.name == user.name).values(**values)
        )
        if updated.rowcount == 0:
            self.connection.execute(sa.insert(_t.users).values(name=user.name, **values))
        self._record("user", name=user.name)

    def delete_user(self, name: str) -> None:
        for index in self.connection.execute(
            sa.select(_t.indexes.c.name).where(_t.indexes.c.user == name)
        ):
            self.delete_index(name, index.name)
        self.connection.execute(sa.delete(_t.users).where(_t.users.c.name == name))
        self._record("user-deleted", name=name)

    # indexes

    def put_index(self, user: str, name: str, index_type: str, config: Mapping[str, Any]) -> int:
        updated = self.connection.execute(
            sa.update(_t.indexes)
            .where(_t.indexes.c.user == user, _t.indexes.c.name == name)
            .values(config=dict(config), serial=self.serial)
        )
        if updated.rowcount == 0:
            self.connection.execute(
                sa.insert(_t.indexes).values(
                    user=user, name=name, type=index_type, config=dict(config), serial=self.serial
                )
            )
        self._record("index", index=f"{user}/{name}")
        index_id: int = self.connection.execute(
            sa.select(_t.indexes.c.id).where(_t.indexes.c.user == user, _t.indexes.c.name == name)
        ).scalar_one()
        return index_id

    def delete_index(self, user: str, name: str) -> None:
        index_id = self.connection.execute(
            sa.select(_t.indexes.c.id).where(_t.indexes.c.user == user, _t.indexes.c.name == name)
        ).scalar()
        if index_id is None:
            return
        for table in (_t.files, _t.releases, _t.projects):
            self.connection.execute(sa.delete(table).where(table.c.index_id == index_id))
        self.connection.execute(sa.delete(_t.indexes).where(_t.indexes.c.id == index_id))
        self._record("index-deleted", index=f"{user}/{name}")

    # projects, releases, files

    def touch_project(self, index_id: int, project: str, display_name: str) -> None:
        """Create the project if needed and mark it changed at this serial."""
        updated = self.connection.execute(
            sa.update(_t.projects)
            .where(_t.projects.c.index_id == index_id, _t.projects.c.name == project)
            .values(serial=self.serial)
        )
        if updated.rowcount == 0:
            self.connection.execute(
                sa.insert(_t.projects).values(
                    index_id=index_id, name=project, display_name=display_name, serial=self.serial
                )
            )
        self._record("project", index_id=index_id, project=project)

    def put_release(
        self, index_id: int, project: str, version: str, metadata: Mapping[str, Any]
    ) -> None:
        updated = self.connection.execute(
            sa.update(_t.releases)
            .where(
                _t.releases.c.index_id == index_id,
                _t.releases.c.project == project,
                _t.releases.c.version == version,
            )
            .values(metadata=dict(metadata), serial=self.serial)
        )
        if updated.rowcount == 0:
            self.connection.execute(
                sa.insert(_t.releases).values(
                    index_id=index_id,
                    project=project,
                    version=version,
                    metadata=dict(metadata),
                    serial=self.serial,
                )
            )
        self._record("release", index_id=index_id, project=project, version=version)

    def put_file(self, index_id: int, file: ReleaseFile) -> None:
        self.put_files(index_id, [file])

    def put_files(self, index_id: int, files: Sequence[ReleaseFile]) -> None:
        """Store ``files`` on the index, replacing rows of the same relpath: three statements
        per batch of files (a mirror's page may bring thousands at once; batches keep the
        statements' parameters, which take far more memory than the files, small)."""
        for start in range(0, len(files), PUT_BATCH):
            self._put_batch(index_id, files[start : start + PUT_BATCH])

    def _put_batch(self, index_id: int, files: Sequence[ReleaseFile]) -> None:
        rows = [{"row_index_id": index_id, "row_relpath": file.relpath} for file in files]
        self.connection.execute(_DELETE_FILE, rows)
        self.connection.execute(
            sa.insert(_t.files),
            [
                {
                    **file_values(file),
                    "serial": self.serial,
                    **_fragments(file),
                    "index_id": index_id,
                    "relpath": file.relpath,
                }
                for file in files
            ],
        )
        self.connection.execute(
            _FORGET_DELETED,
            [{"row_index_path": file.index, "row_relpath": file.relpath} for file in files],
        )
        for file in files:
            self._record("file", relpath=file.relpath, sha256=file.sha256)

    def set_yanked(self, index: Index, project: str, version: str, yanked: str | None) -> int:
        """Yank (PEP 592) or un-yank every release file of a version; returns how many."""
        rows = self.connection.execute(
            sa.select(_t.files).where(
                _t.files.c.index_id == index.id,
                _t.files.c.project == project,
                _t.files.c.version == version,
                _t.files.c.kind == "releasefile",
            )
        ).all()
        for row in rows:
            file = dataclasses.replace(to_file(row, index.path), yanked=yanked)
            self.connection.execute(
                sa.update(_t.files)
                .where(_t.files.c.index_id == index.id, _t.files.c.relpath == file.relpath)
                .values(yanked=yanked, serial=self.serial, **_fragments(file))
            )
        self._record("yank", index_id=index.id, project=project, version=version, yanked=yanked)
        return len(rows)

    # mirrors

    def forget_mirror_page(self, index_id: int, project: str) -> None:
        """Make the next request for ``project`` ask the upstream again (after a delete)."""
        self.connection.execute(
            sa.delete(_t.mirror_pages).where(
                _t.mirror_pages.c.index_id == index_id, _t.mirror_pages.c.project == project
            )
        )

    def replace_mirror_links(self, index: Index, project: str, files: list[ReleaseFile]) -> bool:
        """Make a mirrored project list exactly ``files``; True if anything changed.

        A link whose upstream facts are unchanged keeps its row, so a file already fetched
        stays fetched. Rows are only written for links that are new or changed. A released
        file never changes: when the upstream announces other bytes (another sha256) under
        the name of a file already fetched and verified, the fetched file stays.
        """
        old = {
            row.relpath: row
            for row in self.connection.execute(
                sa.select(_t.files).where(
                    _t.files.c.index_id == index.id, _t.files.c.project == project
                )
            )
        }
        fetched = {row.filename: relpath for relpath, row in old.items() if row.cached}
        new_or_changed: list[ReleaseFile] = []
        for file in files:
            kept = fetched.get(file.filename)
            if kept is not None and kept != file.relpath:
                old.pop(kept, None)
                continue
            row = old.pop(file.relpath, None)
            if row is not None and _same_upstream_facts(to_file(row, index.path), file):
                continue
            if row is not None and row.cached:
                # Fetched bytes are still good: the relpath carries their sha256.
                file = dataclasses.replace(
                    file,
                    cached=True,
                    sha256=row.sha256,
                    size=row.size,
                    core_metadata_sha256=file.core_metadata_sha256 or row.core_metadata_sha256,
                )
            new_or_changed.append(file)
        self.put_files(index.id, new_or_changed)
        changed = bool(new_or_changed)
        for relpath in old:
            self.connection.execute(
                sa.delete(_t.files).where(
                    _t.files.c.index_id == index.id, _t.files.c.relpath == relpath
                )
            )
            self._record("file-deleted", relpath=relpath)
            changed = True
        if not self.has_project(index.id, project):
            changed = True
        if changed:
            self.touch_project(index.id, project, project)
        return changed

    def mark_fetched(
        self, index: Index, relpath: str, sha256: str, size: int, core_metadata_sha256: str | None
    ) -> ReleaseFile | None:
        """A mirrored file's bytes are now stored; None if its row is gone meanwhile."""
        row = self.connection.execute(
            sa.select(_t.files).where(
                _t.files.c.index_id == index.id, _t.files.c.relpath == relpath
            )
        ).first()
        if row is None:
            return None
        file = dataclasses.replace(
            to_file(row, index.path),
            sha256=sha256,
            size=size,
            cached=True,
            core_metadata_sha256=core_metadata_sha256,
        )
        self.connection.execute(
            sa.update(_t.files)
            .where(_t.files.c.index_id == index.id, _t.files.c.relpath == relpath)
            .values(
                sha256=sha256,
                size=size,
                cached=True,
                core_metadata_sha256=core_metadata_sha256,
                serial=self.serial,
                **_fragments(file),
            )
        )
        self.touch_project(index.id, file.project, file.project)  # its pages change
        self._record("file-fetched", relpath=relpath, sha256=sha256)
        return file

    def mark_not_cached(self, index: Index, relpath: str) -> bool:
        """A mirrored file's stored bytes are gone: the next download fetches them again.

        Its sha256 and size stay, so what is fetched must match them. False if the row is gone.
        """
        project = self.connection.execute(
            sa.select(_t.files.c.project).where(
                _t.files.c.index_id == index.id, _t.files.c.relpath == relpath
            )
        ).scalar()
        if project is None:
            return False
        self.connection.execute(
            sa.update(_t.files)
            .where(_t.files.c.index_id == index.id, _t.files.c.relpath == relpath)
            .values(cached=False, serial=self.serial)
        )
        self.touch_project(index.id, project, project)  # offline pages leave it out now
        self._record("file-uncached", relpath=relpath)
        return True

    def delete_file(self, index_id: int, index_path: str, relpath: str) -> None:
        """Delete a file and everything attached to it (tox results)."""
        attached = [
            row.relpath
            for row in self.connection.execute(
                sa.select(_t.files.c.relpath).where(
                    _t.files.c.index_id == index_id, _t.files.c.for_relpath == relpath
                )
            )
        ]
        for path in [relpath, *attached]:
            self.connection.execute(
                sa.delete(_t.files).where(
                    _t.files.c.index_id == index_id, _t.files.c.relpath == path
                )
            )
            self.connection.execute(
                sa.insert(_t.deleted_files)
                .prefix_with("OR REPLACE")
                .values(index_path=index_path, relpath=path, serial=self.serial)
            )
            self._record("file-deleted", relpath=path)

    def delete_version(self, index_id: int, index_path: str, project: str, version: str) -> None:
        relpaths = (
            self.connection.execute(
                sa.select(_t.files.c.relpath).where(
                    _t.files.c.index_id == index_id,
                    _t.files.c.project == project,
                    _t.files.c.version == version,
                    _t.files.c.for_relpath.is_(None),  # attached files go with their file
                )
            )
            .scalars()
            .all()
        )  # read them all before deleting any
        for relpath in relpaths:
            self.delete_file(index_id, index_path, relpath)
        self.connection.execute(
            sa.delete(_t.releases).where(
                _t.releases.c.index_id == index_id,
                _t.releases.c.project == project,
                _t.releases.c.version == version,
            )
        )
        self._record("release-deleted", index_id=index_id, project=project, version=version)

    def delete_project(self, index_id: int, index_path: str, project: str) -> None:
        versions = (
            self.connection.execute(
                sa.select(_t.releases.c.version).where(
                    _t.releases.c.index_id == index_id, _t.releases.c.project == project
                )
            )
            .scalars()
            .all()
        )
        file_versions = (
            self.connection.execute(
                sa.select(_t.files.c.version)
                .where(_t.files.c.index_id == index_id, _t.files.c.project == project)
                .distinct()
            )
            .scalars()
            .all()
        )
        for version in set(versions) | set(file_versions):
            self.delete_version(index_id, index_path, project, version)
        self.connection.execute(
            sa.delete(_t.projects).where(
                _t.projects.c.index_id == index_id, _t.projects.c.name == project
            )
        )
        self._record("project-deleted", index_id=index_id, project=project)

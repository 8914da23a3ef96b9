"""The metadata store: typed reads, and write transactions that bump the global serial.

Written against SQLAlchemy Core only, so the same code serves any engine SQLAlchemy speaks.
Every write transaction appends one changelog row under a new serial; that serial is stamped on
every row it touches, which is what the rendered-page cache compares against.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa

from pkgdepot.domain.models import Index, Link, ReleaseFile, User
from pkgdepot.storage import schema
from pkgdepot.storage.serial import SharedSerial

_t = schema


def _user(row: sa.Row[Any]) -> User:
    return User(
        name=row.name,
        pwhash=row.pwhash,
        config=row.config,
        created=row.created,
        modified=row.modified,
    )


def _index(row: sa.Row[Any]) -> Index:
    return Index(
        id=row.id, user=row.user, name=row.name, type=row.type, config=row.config, serial=row.serial
    )


def _file(row: sa.Row[Any], index_path: str) -> ReleaseFile:
    return ReleaseFile(
        index=index_path,
        relpath=row.relpath,
        project=row.project,
        version=row.version,
        filename=row.filename,
        kind=row.kind,
        sha256=row.sha256,
        size=row.size,
        upload_time=row.upload_time,
        requires_python=row.requires_python,
        yanked=row.yanked,
        core_metadata_sha256=row.core_metadata_sha256,
        for_relpath=row.for_relpath,
        log=tuple(row.log),
    )


def index_path_of(relpath: str) -> str:
    return "/".join(relpath.split("/", 2)[:2])


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
        return None if row is None else _file(row, index.path)

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
        values = {
            "project": file.project,
            "version": file.version,
            "filename": file.filename,
            "kind": file.kind,
            "sha256": file.sha256,
            "size": file.size,
            "upload_time": file.upload_time,
            "requires_python": file.requires_python,
            "yanked": file.yanked,
            "core_metadata_sha256": file.core_metadata_sha256,
            "for_relpath": file.for_relpath,
            "log": [dict(entry) for entry in file.log],
            "serial": self.serial,
        }
        self.connection.execute(
            sa.delete(_t.files).where(
                _t.files.c.index_id == index_id, _t.files.c.relpath == file.relpath
            )
        )
        self.connection.execute(
            sa.insert(_t.files).values(index_id=index_id, relpath=file.relpath, **values)
        )
        self.connection.execute(
            sa.delete(_t.deleted_files).where(
                _t.deleted_files.c.index_path == file.index,
                _t.deleted_files.c.relpath == file.relpath,
            )
        )
        self._record("file", relpath=file.relpath, sha256=file.sha256)

    def set_yanked(self, index_id: int, project: str, version: str, yanked: str | None) -> int:
        result = self.connection.execute(
            sa.update(_t.files)
            .where(
                _t.files.c.index_id == index_id,
                _t.files.c.project == project,
                _t.files.c.version == version,
                _t.files.c.kind == "releasefile",
            )
            .values(yanked=yanked, serial=self.serial)
        )
        self._record("yank", index_id=index_id, project=project, version=version, yanked=yanked)
        return int(result.rowcount)

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
        for row in self.connection.execute(
            sa.select(_t.files.c.relpath).where(
                _t.files.c.index_id == index_id,
                _t.files.c.project == project,
                _t.files.c.version == version,
            )
        ):
            self.delete_file(index_id, index_path, row.relpath)
        self.connection.execute(
            sa.delete(_t.releases).where(
                _t.releases.c.index_id == index_id,
                _t.releases.c.project == project,
                _t.releases.c.version == version,
            )
        )
        self._record("release-deleted", index_id=index_id, project=project, version=version)

    def delete_project(self, index_id: int, index_path: str, project: str) -> None:
        versions = self.connection.execute(
            sa.select(_t.releases.c.version).where(
                _t.releases.c.index_id == index_id, _t.releases.c.project == project
            )
        ).scalars()
        file_versions = self.connection.execute(
            sa.select(_t.files.c.version)
            .where(_t.files.c.index_id == index_id, _t.files.c.project == project)
            .distinct()
        ).scalars()
        for version in set(versions) | set(file_versions):
            self.delete_version(index_id, index_path, project, version)
        self.connection.execute(
            sa.delete(_t.projects).where(
                _t.projects.c.index_id == index_id, _t.projects.c.name == project
            )
        )
        self._record("project-deleted", index_id=index_id, project=project)


class MetaStore:
    def __init__(self, reader: sa.Engine, writer: sa.Engine, serial: SharedSerial) -> None:
        self._reader = reader
        self._writer = writer
        self.serial = serial

    def upgrade_schema(self) -> None:
        """Apply pending Alembic migrations (once, before any worker runs)."""
        from pkgdepot.storage import migrate  # Alembic is slow to import; workers never need it

        migrate.upgrade(self._writer)

    def schema_is_current(self) -> bool:
        from pkgdepot.storage import migrate

        return migrate.is_current(self._reader)

    def sync_serial(self) -> int:
        """Copy the database's serial into the shared serial (at start-up)."""
        current = self._read_serial()
        self.serial.reset(current)
        return current

    def _read_serial(self) -> int:
        with self._reader.begin() as c:
            value = c.execute(sa.select(sa.func.max(_t.changelog.c.serial))).scalar()
        return int(value or 0)

    @contextmanager
    def transaction(self, who: str | None) -> Iterator[Transaction]:
        """A write transaction under the next serial, committed when the block ends.

        An exception rolls everything back and uses no serial; so does a block that changed
        nothing. The writer engine begins with ``BEGIN IMMEDIATE``, so reading the last serial
        and appending the next one cannot interleave with another process's transaction.
        """
        with self._writer.connect() as connection, connection.begin() as database_tx:
            last = connection.execute(sa.select(sa.func.max(_t.changelog.c.serial))).scalar()
            tx = Transaction(connection, int(last or 0) + 1)
            yield tx
            if not tx.changes:
                database_tx.rollback()
                return
            connection.execute(
                sa.insert(_t.changelog).values(
                    serial=tx.serial, created=time.time(), who=who, changes=tx.changes
                )
            )
        # Only after the commit: a reader that sees the new serial must also see the new rows.
        self.serial.advance(tx.serial)

    def close(self) -> None:
        self._reader.dispose()
        self._writer.dispose()
        self.serial.close()

    # reads

    @contextmanager
    def _read(self) -> Iterator[sa.Connection]:
        with self._reader.begin() as connection:
            yield connection

    def changelog_entry(self, serial: int) -> Mapping[str, Any] | None:
        with self._read() as c:
            row = c.execute(sa.select(_t.changelog).where(_t.changelog.c.serial == serial)).first()
        if row is None:
            return None
        return {
            "serial": row.serial,
            "created": row.created,
            "who": row.who,
            "changes": row.changes,
        }

    def get_user(self, name: str) -> User | None:
        with self._read() as c:
            row = c.execute(sa.select(_t.users).where(_t.users.c.name == name)).first()
        return None if row is None else _user(row)

    def list_users(self) -> list[User]:
        with self._read() as c:
            return [_user(row) for row in c.execute(sa.select(_t.users).order_by(_t.users.c.name))]

    def all_indexes(self) -> dict[str, Index]:
        with self._read() as c:
            rows = c.execute(sa.select(_t.indexes).order_by(_t.indexes.c.user, _t.indexes.c.name))
            return {f"{row.user}/{row.name}": _index(row) for row in rows}

    def project_names(self, index_id: int) -> list[str]:
        with self._read() as c:
            return list(
                c.execute(
                    sa.select(_t.projects.c.name)
                    .where(_t.projects.c.index_id == index_id)
                    .order_by(_t.projects.c.name)
                ).scalars()
            )

    def indexes_having(self, project: str, index_ids: Collection[int]) -> set[int]:
        with self._read() as c:
            return set(
                c.execute(
                    sa.select(_t.projects.c.index_id).where(
                        _t.projects.c.name == project, _t.projects.c.index_id.in_(index_ids)
                    )
                ).scalars()
            )

    def project_serials(self, project: str, index_ids: Collection[int]) -> dict[int, int]:
        with self._read() as c:
            rows = c.execute(
                sa.select(_t.projects.c.index_id, _t.projects.c.serial).where(
                    _t.projects.c.name == project, _t.projects.c.index_id.in_(index_ids)
                )
            )
            return {row.index_id: row.serial for row in rows}

    def display_name(self, index_id: int, project: str) -> str | None:
        with self._read() as c:
            value = c.execute(
                sa.select(_t.projects.c.display_name).where(
                    _t.projects.c.index_id == index_id, _t.projects.c.name == project
                )
            ).scalar()
        return None if value is None else str(value)

    def files_of_project(
        self, index: Index, project: str, kind: str | None = "releasefile"
    ) -> list[ReleaseFile]:
        query = sa.select(_t.files).where(
            _t.files.c.index_id == index.id, _t.files.c.project == project
        )
        if kind is not None:
            query = query.where(_t.files.c.kind == kind)
        with self._read() as c:
            return [_file(row, index.path) for row in c.execute(query)]

    def links_of_project(self, index_id: int, project: str) -> list[Link]:
        """The release files of a project with just what the simple API shows (no JSON columns)."""
        query = sa.select(*(_t.files.c[name] for name in Link._fields)).where(
            _t.files.c.index_id == index_id,
            _t.files.c.project == project,
            _t.files.c.kind == "releasefile",
        )
        with self._read() as c:
            return list(map(Link._make, c.execute(query).all()))

    def versions_of_project(self, index_id: int, project: str) -> list[str]:
        query = sa.select(_t.releases.c.version).where(
            _t.releases.c.index_id == index_id, _t.releases.c.project == project
        )
        with self._read() as c:
            return list(c.execute(query).scalars().all())

    def project_list_state(self, index_ids: Collection[int]) -> dict[int, tuple[int, int]]:
        """Per index: (number of projects, highest project serial).

        The pair changes whenever the set of names changes: a new or re-created project raises
        the highest serial, and a deletion alone lowers the count.
        """
        query = (
            sa.select(_t.projects.c.index_id, sa.func.count(), sa.func.max(_t.projects.c.serial))
            .where(_t.projects.c.index_id.in_(index_ids))
            .group_by(_t.projects.c.index_id)
        )
        with self._read() as c:
            return {row[0]: (row[1], row[2]) for row in c.execute(query)}

    def releases(self, index_id: int, project: str) -> dict[str, dict[str, Any]]:
        with self._read() as c:
            rows = c.execute(
                sa.select(_t.releases.c.version, _t.releases.c.metadata).where(
                    _t.releases.c.index_id == index_id, _t.releases.c.project == project
                )
            )
            return {row.version: dict(row.metadata) for row in rows}

    def get_file(self, index: Index, relpath: str) -> ReleaseFile | None:
        with self._read() as c:
            row = c.execute(
                sa.select(_t.files).where(
                    _t.files.c.index_id == index.id, _t.files.c.relpath == relpath
                )
            ).first()
        return None if row is None else _file(row, index.path)

    def was_deleted(self, relpath: str) -> bool:
        with self._read() as c:
            return (
                c.execute(
                    sa.select(_t.deleted_files.c.serial).where(
                        _t.deleted_files.c.index_path == index_path_of(relpath),
                        _t.deleted_files.c.relpath == relpath,
                    )
                ).first()
                is not None
            )

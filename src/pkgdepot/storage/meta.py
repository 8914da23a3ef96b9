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

from pkgdepot.domain.models import Index, MirrorPageState, PageLink, ReleaseFile, User
from pkgdepot.storage import schema
from pkgdepot.storage.rows import index_path_of, to_file, to_index, to_user
from pkgdepot.storage.serial import SharedSerial
from pkgdepot.storage.snapshot import Snapshot
from pkgdepot.storage.transaction import Transaction

_t = schema
# what a Transaction records when it writes the indexes table (delete_user deletes indexes)
_INDEX_CHANGES = frozenset({"index", "index-deleted", "user-deleted"})


def changes_indexes(changes: Collection[Mapping[str, Any]]) -> bool:
    return any(change.get("what") in _INDEX_CHANGES for change in changes)


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

    def catch_up_serial(self) -> None:
        """Advance the shared serial to the database's (when a worker starts).

        A worker that died between its commit and advancing the shared serial would otherwise
        leave every other worker's caches one write behind until the next write.
        """
        self.serial.advance(self._read_serial())

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
        self.serial.advance(tx.serial, indexes=changes_indexes(tx.changes))

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
        return None if row is None else to_user(row)

    def list_users(self) -> list[User]:
        with self._read() as c:
            return [
                to_user(row) for row in c.execute(sa.select(_t.users).order_by(_t.users.c.name))
            ]

    def all_indexes(self) -> dict[str, Index]:
        with self._read() as c:
            rows = c.execute(sa.select(_t.indexes).order_by(_t.indexes.c.user, _t.indexes.c.name))
            return {f"{row.user}/{row.name}": to_index(row) for row in rows}

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
            return [to_file(row, index.path) for row in c.execute(query)]

    def links_of_project(
        self, index_id: int, project: str, fmt: str, *, cached_only: bool = False
    ) -> list[PageLink]:
        """A project's release files with their pre-rendered ``html`` or ``json`` fragment.

        ``cached_only`` leaves out mirrored files whose bytes were never fetched.
        """
        fragment = _t.files.c.html_link if fmt == "html" else _t.files.c.json_link
        query = sa.select(_t.files.c.filename, _t.files.c.version, fragment).where(
            _t.files.c.index_id == index_id,
            _t.files.c.project == project,
            _t.files.c.kind == "releasefile",
        )
        if cached_only:
            query = query.where(_t.files.c.cached == sa.true())
        with self._read() as c:
            # Plain tuples straight from the driver: no Row objects for thousands of files.
            return list(c.execute(query).cursor.fetchall())

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
        return None if row is None else to_file(row, index.path)

    def iter_files(self, batch: int = 1000) -> Iterator[ReleaseFile]:
        """Every file row of every index, read ``batch`` rows at a time (no long read)."""
        paths = {index.id: index.path for index in self.all_indexes().values()}
        after: tuple[int, str] = (-1, "")
        while True:
            key = sa.tuple_(_t.files.c.index_id, _t.files.c.relpath)
            query = (
                sa.select(_t.files)
                .where(key > sa.tuple_(*after))
                .order_by(_t.files.c.index_id, _t.files.c.relpath)
                .limit(batch)
            )
            with self._read() as c:
                rows = c.execute(query).all()
            for row in rows:
                if row.index_id not in paths:  # an index created since we started
                    paths = {index.id: index.path for index in self.all_indexes().values()}
                if row.index_id in paths:  # else its index was deleted meanwhile
                    yield to_file(row, paths[row.index_id])
            if len(rows) < batch:
                return
            after = (rows[-1].index_id, rows[-1].relpath)

    # mirrors

    def mirror_page(self, index_id: int, project: str) -> MirrorPageState | None:
        """What the upstream last said about ``project``; None if it was never asked."""
        with self._read() as c:
            row = c.execute(
                sa.select(_t.mirror_pages).where(
                    _t.mirror_pages.c.index_id == index_id, _t.mirror_pages.c.project == project
                )
            ).first()
        if row is None:
            return None
        return MirrorPageState(row.found, row.etag, row.upstream_serial, row.fetched_at)

    def record_mirror_page(self, index_id: int, project: str, state: MirrorPageState) -> None:
        """Remember an upstream answer. Not a change anyone sees, so it takes no serial."""
        values = {
            "found": state.found,
            "etag": state.etag,
            "upstream_serial": state.upstream_serial,
            "fetched_at": state.fetched_at,
        }
        with self._writer.begin() as c:
            c.execute(
                sa.insert(_t.mirror_pages)
                .prefix_with("OR REPLACE")
                .values(index_id=index_id, project=project, **values)
            )

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

    # export and import (transfer/)

    @contextmanager
    def snapshot(self) -> Iterator[Snapshot]:
        """Every row as one read transaction sees it, however much is written meanwhile."""
        with self._read() as connection:
            yield Snapshot(connection)

    def continue_serial(self, serial: int, who: str | None, note: Mapping[str, Any]) -> None:
        """Make the next write take a serial above ``serial`` (an import of an export made at
        that serial), recording ``note`` under it; nothing if the serial is already as high."""
        with self._writer.begin() as c:
            last = int(c.execute(sa.select(sa.func.max(_t.changelog.c.serial))).scalar() or 0)
            if serial <= last:
                return
            c.execute(
                sa.insert(_t.changelog).values(
                    serial=serial, created=time.time(), who=who, changes=[dict(note)]
                )
            )
        self.serial.advance(serial)

    def record_mirror_pages(self, pages: Collection[tuple[int, str, MirrorPageState]]) -> None:
        """``record_mirror_page`` for many (index id, project) at once, in one transaction."""
        if not pages:
            return
        with self._writer.begin() as c:
            c.execute(
                sa.insert(_t.mirror_pages).prefix_with("OR REPLACE"),
                [
                    {
                        "index_id": index_id,
                        "project": project,
                        "found": state.found,
                        "etag": state.etag,
                        "upstream_serial": state.upstream_serial,
                        "fetched_at": state.fetched_at,
                    }
                    for index_id, project, state in pages
                ],
            )

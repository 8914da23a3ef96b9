"""Every row of the database as one read transaction sees it: what an export reads.

A SQLite read transaction in WAL mode sees the database as it was at its first read, whatever
writers commit meanwhile, so a running server can be exported consistently. Rows are streamed
from the cursor in batches, never loaded all at once.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa

from pkgdepot.domain.models import Index, MirrorPageState, ReleaseFile, User
from pkgdepot.storage import schema as _t
from pkgdepot.storage.rows import to_file, to_index, to_user

BATCH = 100  # rows fetched from the cursor at a time (a release's metadata can be large)


def _insertion_order(table: sa.Table) -> sa.ColumnElement[Any]:
    """SQLite's rowid: rows come back in the order they were written, so an import writes them
    in that order again, and every query without an ORDER BY answers as it did here."""
    return sa.literal_column(f"{table.name}.rowid")


@dataclasses.dataclass(frozen=True)
class ProjectRow:
    index_id: int
    name: str
    display_name: str
    mirror_page: MirrorPageState | None  # what a mirror's upstream last said, if it was asked


@dataclasses.dataclass(frozen=True)
class ReleaseRow:
    index_id: int
    project: str
    version: str
    metadata: dict[str, Any]


class Snapshot:
    def __init__(self, connection: sa.Connection) -> None:
        self._connection = connection

    def _stream(self, query: sa.Select[Any]) -> Iterator[sa.Row[Any]]:
        yield from self._connection.execution_options(yield_per=BATCH).execute(query)

    def serial(self) -> int:
        value = self._connection.execute(sa.select(sa.func.max(_t.changelog.c.serial))).scalar()
        return int(value or 0)

    def counts(self) -> dict[str, int]:
        tables = {
            "users": _t.users,
            "indexes": _t.indexes,
            "projects": _t.projects,
            "releases": _t.releases,
            "files": _t.files,
        }
        query = {name: sa.select(sa.func.count()).select_from(t) for name, t in tables.items()}
        return {name: self._connection.execute(q).scalar_one() for name, q in query.items()}

    def users(self) -> Iterator[User]:
        for row in self._stream(sa.select(_t.users).order_by(_insertion_order(_t.users))):
            yield to_user(row)

    def indexes(self) -> list[Index]:
        """Every index (there are few), in the order they were created."""
        query = sa.select(_t.indexes).order_by(_t.indexes.c.id)
        return [to_index(row) for row in self._connection.execute(query)]

    def projects(self) -> Iterator[ProjectRow]:
        pages = _t.mirror_pages
        query = (
            sa.select(_t.projects, pages.c.etag, pages.c.upstream_serial, pages.c.fetched_at)
            .outerjoin(
                pages,
                sa.and_(
                    pages.c.index_id == _t.projects.c.index_id,
                    pages.c.project == _t.projects.c.name,
                    pages.c.found == sa.true(),
                ),
            )
            .order_by(_insertion_order(_t.projects))
        )
        for row in self._stream(query):
            page = None
            if row.fetched_at is not None:
                page = MirrorPageState(True, row.etag, row.upstream_serial, row.fetched_at)
            yield ProjectRow(row.index_id, row.name, row.display_name, page)

    def releases(self) -> Iterator[ReleaseRow]:
        r = _t.releases
        query = sa.select(r).order_by(_insertion_order(r))
        for row in self._stream(query):
            yield ReleaseRow(row.index_id, row.project, row.version, dict(row.metadata))

    def files(self, index_paths: dict[int, str]) -> Iterator[ReleaseFile]:
        query = sa.select(_t.files).order_by(_insertion_order(_t.files))
        for row in self._stream(query):
            yield to_file(row, index_paths[row.index_id])

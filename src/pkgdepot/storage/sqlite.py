"""SQLite engines: WAL, a generous busy timeout, and writers that take the lock up front."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event


def create_sqlite_engine(path: Path, *, writer: bool) -> sa.Engine:
    """An engine on ``path``.

    Writers begin with ``BEGIN IMMEDIATE`` so two processes never both read, then both try to
    write and deadlock; readers use plain deferred transactions and never block a writer (WAL).
    """
    engine = sa.create_engine(f"sqlite:///{path}", pool_size=4 if writer else 8, max_overflow=8)

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout=30000")  # first: the next pragma may have to wait
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")  # a commit that was answered survives a crash
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: sa.Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writer else "BEGIN")

    return engine

"""SQLite engines: WAL, a generous busy timeout, and writers that take the lock up front."""

from __future__ import annotations

import os
import stat
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
        keep_private(path)

    @event.listens_for(engine, "begin")
    def _begin(connection: sa.Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writer else "BEGIN")

    return engine


def keep_private(path: Path) -> None:
    """The database holds password hashes and mirror credentials: its files are readable by
    their owner alone, also where the server directory lets nginx's workers through to the
    blobs. Checked on each new connection, once SQLite has made the files."""
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            mode = stat.S_IMODE(file.stat().st_mode)
            if mode & 0o077:
                os.chmod(file, mode & 0o700)
        except (FileNotFoundError, PermissionError):  # not made yet; or not ours to change
            continue

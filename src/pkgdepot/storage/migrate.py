"""Bring a database to the newest schema with Alembic (run once, before workers start).

A database already at ``HEAD`` is recognised by one query, without importing Alembic (about
0.4 s and 8 MB that a server started with one worker would otherwise keep while it serves).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
# The newest revision in migrations/versions/; tests/contract/test_migrations.py checks it.
HEAD = "0002"


def _config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str | None:
    """The head of the migration scripts, as Alembic finds it."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config()).get_current_head()


def current_revisions(connection: sa.Connection) -> set[str]:
    """The revisions Alembic recorded in the database (none for a new one)."""
    if not sa.inspect(connection).has_table("alembic_version"):
        return set()
    rows = connection.exec_driver_sql("SELECT version_num FROM alembic_version")
    return {str(row[0]) for row in rows}


def upgrade(engine: sa.Engine) -> None:
    with engine.connect() as connection:
        if current_revisions(connection) == {HEAD}:
            return
    from alembic import command

    config = _config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def is_current(engine: sa.Engine) -> bool:
    with engine.connect() as connection:
        return current_revisions(connection) == {HEAD}

"""Migrations: ``HEAD`` names the newest script, a database behind it is upgraded, and one
already at it is recognised without importing Alembic (a one-worker server keeps whatever its
start-up imported)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from alembic import command

from pkgdepot.app import open_store
from pkgdepot.serverdir import ServerDir
from pkgdepot.storage import migrate
from tests.contract.conftest import open_migrated_store


def test_head_is_the_newest_migration_script() -> None:
    assert migrate.head_revision() == migrate.HEAD


def test_a_database_behind_head_is_upgraded(tmp_path: Path) -> None:
    store = open_store(ServerDir(tmp_path))
    try:
        config = migrate._config()
        with store._writer.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0001")
        assert not store.schema_is_current()
        store.upgrade_schema()
        assert store.schema_is_current()
        with store._reader.connect() as connection:
            assert migrate.current_revisions(connection) == {migrate.HEAD}
    finally:
        store.close()


def test_a_new_database_is_not_current(tmp_path: Path) -> None:
    store = open_store(ServerDir(tmp_path))
    try:
        assert not store.schema_is_current()
    finally:
        store.close()


def test_a_current_database_is_checked_without_importing_alembic(tmp_path: Path) -> None:
    open_migrated_store(tmp_path).close()
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from pkgdepot.app import open_store\n"
        "from pkgdepot.serverdir import ServerDir\n"
        f"store = open_store(ServerDir(Path({str(tmp_path)!r})))\n"
        "store.upgrade_schema()\n"
        "assert store.schema_is_current()\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('alembic', 'mako')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"

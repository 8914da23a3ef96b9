"""MetaStore: every write transaction takes the next global serial and leaves a changelog row."""

from __future__ import annotations

import multiprocessing
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from pkgdepot.app import open_store
from pkgdepot.domain.models import User
from pkgdepot.serverdir import ServerDir
from pkgdepot.storage import schema
from pkgdepot.storage.meta import MetaStore
from tests.contract.conftest import open_migrated_store


class Boom(Exception):
    pass


def a_user(name: str, **config: str) -> User:
    return User(name=name, pwhash=None, config=config, created="t0", modified="t0")


def changelog_serials(store: MetaStore) -> list[int]:
    with store._reader.connect() as connection:
        query = sa.select(schema.changelog.c.serial).order_by(schema.changelog.c.serial)
        return list(connection.execute(query).scalars())


def test_fresh_store_is_at_the_head_revision(store: MetaStore) -> None:
    assert store.schema_is_current()


def test_upgrading_again_changes_nothing(tmp_path: Path, store: MetaStore) -> None:
    with store.transaction("root") as tx:
        tx.put_user(a_user("alice"))
    store.upgrade_schema()
    again = open_migrated_store(tmp_path)
    try:
        assert again.schema_is_current()
        assert again.get_user("alice") is not None
        assert changelog_serials(again) == [1]
    finally:
        again.close()


def test_each_transaction_takes_the_next_serial(store: MetaStore) -> None:
    assert store.serial.get() == 0
    for expected, name in enumerate(["alice", "bob", "carol"], start=1):
        with store.transaction("root") as tx:
            assert tx.serial == expected
            tx.put_user(a_user(name))
        assert store.serial.get() == expected
    assert changelog_serials(store) == [1, 2, 3]


def test_one_changelog_row_per_transaction_with_all_its_changes(store: MetaStore) -> None:
    with store.transaction("root") as tx:
        tx.put_user(a_user("alice"))
        index_id = tx.put_index("alice", "dev", "stage", {"bases": []})
        tx.touch_project(index_id, "hello", "Hello")
    entry = store.changelog_entry(1)
    assert entry is not None
    assert entry["who"] == "root"
    assert [change["what"] for change in entry["changes"]] == ["user", "index", "project"]
    assert store.changelog_entry(2) is None


def test_rows_are_stamped_with_their_transactions_serial(store: MetaStore) -> None:
    with store.transaction("root") as tx:
        tx.put_user(a_user("alice"))
    with store.transaction("alice") as tx:
        index_id = tx.put_index("alice", "dev", "stage", {})
        tx.touch_project(index_id, "hello", "hello")
    assert store.all_indexes()["alice/dev"].serial == 2
    assert store.project_serials("hello", [index_id]) == {index_id: 2}


def test_exception_rolls_back_everything_and_uses_no_serial(store: MetaStore) -> None:
    with store.transaction("root") as tx:
        tx.put_user(a_user("alice"))

    def fail_halfway() -> None:
        with store.transaction("root") as tx:
            tx.put_user(a_user("bob"))
            tx.put_user(a_user("alice", email="changed@example.org"))
            raise Boom

    with pytest.raises(Boom):
        fail_halfway()
    assert store.get_user("bob") is None
    alice = store.get_user("alice")
    assert alice is not None
    assert dict(alice.config) == {}
    assert store.serial.get() == 1
    assert changelog_serials(store) == [1]
    with store.transaction("root") as tx:
        assert tx.serial == 2  # the failed transaction's serial is reused


def test_transaction_that_changes_nothing_uses_no_serial(store: MetaStore) -> None:
    with store.transaction("root") as tx:
        assert not tx.has_user("alice")
    assert store.serial.get() == 0
    assert changelog_serials(store) == []


def test_shared_serial_never_moves_backwards(store: MetaStore) -> None:
    store.serial.advance(5)
    store.serial.advance(3)
    assert store.serial.get() == 5


def test_start_up_resets_the_shared_serial_from_the_database(store: MetaStore) -> None:
    with store.transaction("root") as tx:
        tx.put_user(a_user("alice"))
    store.serial.advance(500)  # e.g. the database was restored from an older backup
    assert store.sync_serial() == 1
    assert store.serial.get() == 1


def test_every_store_on_the_directory_sees_the_same_serial(tmp_path: Path) -> None:
    first = open_migrated_store(tmp_path)
    second = open_store(ServerDir(tmp_path))
    try:
        with first.transaction("root") as tx:
            tx.put_user(a_user("alice"))
        assert second.serial.get() == 1
        assert second.get_user("alice") is not None
    finally:
        first.close()
        second.close()


def test_threads_get_consecutive_serials_and_the_shared_serial_ends_at_the_last(
    store: MetaStore,
) -> None:
    errors: list[BaseException] = []

    def write(prefix: str) -> None:
        try:
            for number in range(20):
                with store.transaction(prefix) as tx:
                    tx.put_user(a_user(f"{prefix}{number}"))
        except BaseException as error:  # reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=write, args=(f"t{n}x",)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert changelog_serials(store) == list(range(1, 121))
    assert store.serial.get() == 120


def write_users_in_a_process(root: str, prefix: str, count: int) -> None:
    store = open_store(ServerDir(Path(root)))
    try:
        for number in range(count):
            with store.transaction(prefix) as tx:
                tx.put_user(a_user(f"{prefix}{number}"))
    finally:
        store.close()


def test_processes_get_consecutive_serials_without_lock_errors(
    tmp_path: Path, store: MetaStore
) -> None:
    context = multiprocessing.get_context("spawn")
    processes = [
        context.Process(target=write_users_in_a_process, args=(str(tmp_path), f"p{n}x", 25))
        for n in range(4)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
    assert [process.exitcode for process in processes] == [0, 0, 0, 0]
    assert changelog_serials(store) == list(range(1, 101))
    assert store.serial.get() == 100
    assert len(store.list_users()) == 100
    per_writer = {f"p{n}x": 0 for n in range(4)}
    for serial in range(1, 101):
        entry = store.changelog_entry(serial)
        assert entry is not None
        per_writer[entry["who"]] += 1
    assert per_writer == {f"p{n}x": 25 for n in range(4)}


def test_catch_up_serial_advances_a_shared_serial_left_behind(store: MetaStore) -> None:
    """A worker that died after its commit left the shared serial behind; the next one to
    start brings it up to the database's, and never moves it back."""
    with store.transaction("alice") as tx:
        tx.put_user(a_user("alice"))
    with store.transaction("alice") as tx:
        tx.put_user(a_user("bob"))
    store.serial.reset(1)  # as if the second commit's worker died before advancing
    store.catch_up_serial()
    assert store.serial.get() == 2
    store.serial.advance(7)
    store.catch_up_serial()
    assert store.serial.get() == 7

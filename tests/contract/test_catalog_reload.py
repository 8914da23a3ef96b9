"""The catalog of indexes is reloaded after a write that changed an index, in every process on
the server directory, and not after other writes (an upload does not reload it)."""

from __future__ import annotations

from pathlib import Path

from pkgdepot.domain.models import User
from pkgdepot.service.indexes import Catalog
from pkgdepot.storage.meta import MetaStore
from tests.contract.conftest import open_migrated_store


def _user(name: str) -> User:
    return User(name=name, pwhash=None, config={}, created="t0", modified="t0")


class CountingStore:
    """Counts the catalog's reloads of a real store."""

    def __init__(self, store: MetaStore) -> None:
        self.store = store
        self.serial = store.serial
        self.loads = 0

    def all_indexes(self) -> object:
        self.loads += 1
        return self.store.all_indexes()


def test_only_writes_to_indexes_move_the_index_serial(store: MetaStore) -> None:
    with store.transaction("root") as tx:
        tx.put_user(_user("alice"))
        index_id = tx.put_index("alice", "dev", "stage", {"bases": []})
    assert store.serial.get() == store.serial.indexes_changed() == 1
    with store.transaction("alice") as tx:
        tx.touch_project(index_id, "hello", "hello")
    assert (store.serial.get(), store.serial.indexes_changed()) == (2, 1)
    with store.transaction("alice") as tx:
        tx.put_index("alice", "dev", "stage", {"bases": [], "volatile": False})
    assert store.serial.indexes_changed() == 3
    with store.transaction("root") as tx:
        tx.delete_index("alice", "dev")
    assert store.serial.indexes_changed() == 4
    with store.transaction("root") as tx:
        tx.put_index("alice", "other", "stage", {"bases": []})
    with store.transaction("root") as tx:
        tx.delete_user("alice")  # and her indexes with her
    assert store.serial.indexes_changed() == store.serial.get() == 6
    assert store.all_indexes() == {}


def test_start_up_and_catch_up_move_the_index_serial_too(store: MetaStore) -> None:
    with store.transaction("root") as tx:
        tx.put_user(_user("alice"))
    store.serial.reset(0)
    assert store.serial.indexes_changed() == 0
    store.catch_up_serial()  # a worker cannot know what a write it missed changed
    assert store.serial.indexes_changed() == 1
    store.serial.advance(9, indexes=False)
    assert store.sync_serial() == 1
    assert store.serial.indexes_changed() == store.serial.get() == 1


def test_a_catalog_reloads_after_index_writes_in_another_process_only(tmp_path: Path) -> None:
    writer = open_migrated_store(tmp_path)
    reader = open_migrated_store(tmp_path)  # another worker: its own store and mapping
    try:
        counting = CountingStore(reader)
        catalog = Catalog(counting)  # type: ignore[arg-type]
        assert catalog.snapshot() == {}
        with writer.transaction("root") as tx:
            tx.put_user(_user("alice"))
            index_id = tx.put_index("alice", "dev", "stage", {"bases": []})
        assert list(catalog.snapshot()) == ["alice/dev"]
        assert counting.loads == 2
        for n in range(3):
            with writer.transaction("alice") as tx:
                tx.touch_project(index_id, f"project-{n}", f"project-{n}")
            assert list(catalog.snapshot()) == ["alice/dev"]
        assert counting.loads == 2  # uploads and projects do not reload it
        with writer.transaction("alice") as tx:
            tx.put_index("alice", "dev", "stage", {"bases": [], "volatile": False})
        assert catalog.snapshot()["alice/dev"].config["volatile"] is False
        assert counting.loads == 3
    finally:
        reader.close()
        writer.close()

"""A real SQLite metadata store and a real blob directory, in a temporary server directory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pkgdepot.app import open_store
from pkgdepot.serverdir import ServerDir
from pkgdepot.storage.blobs_fs import FsBlobStore
from pkgdepot.storage.meta import MetaStore


def open_migrated_store(root: Path) -> MetaStore:
    store = open_store(ServerDir(root))
    store.upgrade_schema()
    store.sync_serial()
    return store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[MetaStore]:
    opened = open_migrated_store(tmp_path)
    yield opened
    opened.close()


@pytest.fixture
def blobs(tmp_path: Path) -> FsBlobStore:
    return FsBlobStore(tmp_path / "+blobs")

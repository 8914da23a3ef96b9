"""Tox results: JSON reports posted to a release file's URL, stored beside it."""

from __future__ import annotations

from pkgdepot.domain.permissions import Policy
from pkgdepot.storage.blobs import BlobStore
from pkgdepot.storage.meta import MetaStore


class ToxResults:
    def __init__(self, store: MetaStore, blobs: BlobStore, policy: Policy) -> None:
        self._store = store
        self._blobs = blobs
        self.policy = policy

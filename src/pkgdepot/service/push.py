"""Push: copy one release to another index of this server, or upload it to another repository."""

from __future__ import annotations

from pkgdepot.domain.permissions import Policy
from pkgdepot.service.indexes import Catalog
from pkgdepot.storage.blobs import BlobStore
from pkgdepot.storage.meta import MetaStore


class Pushes:
    def __init__(
        self, store: MetaStore, blobs: BlobStore, catalog: Catalog, policy: Policy, timeout: float
    ) -> None:
        self._store = store
        self._blobs = blobs
        self._catalog = catalog
        self.policy = policy
        self._timeout = timeout

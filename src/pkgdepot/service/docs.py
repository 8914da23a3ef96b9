"""Documentation: doc zips served unpacked at ``/USER/INDEX/PROJECT/VERSION/+doc/PATH``."""

from __future__ import annotations

from pathlib import Path

from pkgdepot.domain.permissions import Policy
from pkgdepot.service.indexes import Catalog
from pkgdepot.storage.blobs import BlobStore
from pkgdepot.storage.meta import MetaStore


class Docs:
    def __init__(
        self, store: MetaStore, blobs: BlobStore, catalog: Catalog, policy: Policy, unpacked: Path
    ) -> None:
        self._store = store
        self._blobs = blobs
        self._catalog = catalog
        self.policy = policy
        self._unpacked = unpacked

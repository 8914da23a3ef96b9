"""Mirrored project pages: freshness, revalidation, single-flight and stale-if-error."""

from __future__ import annotations

from pkgdepot.mirror.clients import UpstreamClients
from pkgdepot.storage.meta import MetaStore


class MirrorPages:
    def __init__(self, store: MetaStore, upstreams: UpstreamClients, *, offline: bool) -> None:
        self._store = store
        self._upstreams = upstreams
        self.offline = offline

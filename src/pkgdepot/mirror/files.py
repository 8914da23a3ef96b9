"""Mirrored files: fetched on first request, streamed while stored, one download at a time."""

from __future__ import annotations

from pathlib import Path

from pkgdepot.mirror.clients import UpstreamClients
from pkgdepot.storage.blobs import BlobStore
from pkgdepot.storage.meta import MetaStore


class MirrorFiles:
    def __init__(
        self,
        store: MetaStore,
        blobs: BlobStore,
        upstreams: UpstreamClients,
        workdir: Path,
        *,
        offline: bool,
    ) -> None:
        self._store = store
        self._blobs = blobs
        self._upstreams = upstreams
        self._workdir = workdir
        self.offline = offline

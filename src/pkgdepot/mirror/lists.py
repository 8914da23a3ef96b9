"""A mirror's project list: fetched with its ETag, kept on disk, streamed to clients."""

from __future__ import annotations

from pathlib import Path

from pkgdepot.mirror.clients import UpstreamClients


class MirrorLists:
    def __init__(self, upstreams: UpstreamClients, workdir: Path, *, offline: bool) -> None:
        self._upstreams = upstreams
        self._workdir = workdir
        self.offline = offline

"""One ``UpstreamClient`` per upstream URL, shared by every request of a worker process."""

from __future__ import annotations

from pkgdepot.domain.models import Index
from pkgdepot.mirror.upstream import UpstreamClient


class UpstreamClients:
    """Clients are made on first use, inside the worker's event loop, and closed at shutdown."""

    def __init__(self, *, timeout: float, retries: int) -> None:
        self.timeout = timeout
        self.retries = retries
        self._clients: dict[str, UpstreamClient] = {}

    def for_index(self, index: Index) -> UpstreamClient:
        url = index.mirror_url
        client = self._clients.get(url)
        if client is None:
            client = UpstreamClient(url, timeout=self.timeout, retries=self.retries)
            self._clients[url] = client
        return client

    async def aclose(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.aclose()

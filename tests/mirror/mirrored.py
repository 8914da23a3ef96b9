"""A mirror index on a real server with its fake upstream, for the mirrored-file tests."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from urllib.parse import quote, unquote

import httpx

from pkgdepot.app import open_store
from pkgdepot.domain.models import ReleaseFile
from pkgdepot.mirror.links import to_release_file
from pkgdepot.mirror.upstream import ProjectPage, UpstreamClient
from pkgdepot.serverdir import ServerDir
from tests.support.client import basic
from tests.support.fake_upstream import FakeUpstream
from tests.support.server import ROOT_PASSWORD, ServerProcess


@dataclasses.dataclass
class Mirror:
    server: ServerProcess
    upstream: FakeUpstream
    path: str  # "root/NAME"
    http: httpx.Client
    mirror_url: str

    @property
    def project(self) -> str:
        """A project name no other mirror's tests use: their files' bytes differ too."""
        return self.path.split("/")[1] + "pkg"

    @classmethod
    def create(
        cls, server: ServerProcess, upstream: FakeUpstream, name: str, **config: object
    ) -> Mirror:
        http = httpx.Client(base_url=server.url, timeout=60)
        given = {"type": "mirror", "mirror_url": upstream.url, **config}
        reply = http.put(f"/root/{name}", json=given, headers=basic("root", ROOT_PASSWORD))
        assert reply.status_code == 201, reply.text
        return cls(server, upstream, f"root/{name}", http, str(given["mirror_url"]))

    def close(self) -> None:
        self.http.close()

    def sync(self, project: str) -> dict[str, str]:
        """Store the project's links as a page sync does; filename -> URL path of the file,
        spelled as simple pages spell it."""
        page = asyncio.run(_fetch_page(self.mirror_url, project))
        rows = [to_release_file(self.path, project, link) for link in page.links]
        files = [row for row in rows if row is not None]
        store = open_store(ServerDir(self.server.serverdir))
        try:
            index = store.all_indexes()[self.path]
            with store.transaction(None) as tx:
                tx.replace_mirror_links(index, project, files)
        finally:
            store.close()
        return {file.filename: "/" + quote(file.relpath, safe="/+!~") for file in files}

    def row(self, url_path: str) -> ReleaseFile | None:
        relpath = url_path.lstrip("/")
        store = open_store(ServerDir(self.server.serverdir))
        try:
            for row_path in (relpath, unquote(relpath)):
                row = store.get_file(store.all_indexes()[self.path], row_path)
                if row is not None:
                    return row
            return None
        finally:
            store.close()

    def blob(self, sha256: str) -> Path:
        return ServerDir(self.server.serverdir).blobs / sha256[:2] / sha256[2:4] / sha256


async def _fetch_page(url: str, project: str) -> ProjectPage:
    async with UpstreamClient(url, retries=0) as client:
        page = await client.fetch_project_page(project)
    assert isinstance(page, ProjectPage), page
    return page

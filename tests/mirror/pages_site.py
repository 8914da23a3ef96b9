"""A mirror index of its own on a real server, in front of a fake upstream: for page tests."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import httpx

from tests.support.client import basic
from tests.support.fake_upstream import FakeUpstream
from tests.support.server import ROOT_PASSWORD, ServerProcess

SIMPLE_JSON = {"Accept": "application/vnd.pypi.simple.v1+json"}
ROOT = basic("root", ROOT_PASSWORD)


@dataclasses.dataclass
class Site:
    server: ServerProcess
    upstream: FakeUpstream
    index: str  # "root/NAME"
    http: httpx.Client

    @classmethod
    def create(
        cls,
        server: ServerProcess,
        upstream: FakeUpstream,
        name: str,
        *,
        mirror_url: str | None = None,
        **config: object,
    ) -> Site:
        http = httpx.Client(base_url=server.url, timeout=60)
        given = {"type": "mirror", "mirror_url": mirror_url or upstream.url, **config}
        reply = http.put(f"/root/{name}", json=given, headers=ROOT)
        assert reply.status_code == 201, reply.text
        return cls(server, upstream, f"root/{name}", http)

    def close(self) -> None:
        self.http.close()

    def page(self, project: str, index: str | None = None) -> httpx.Response:
        return self.http.get(f"/{index or self.index}/+simple/{project}/", headers=SIMPLE_JSON)

    def files(self, project: str, index: str | None = None) -> dict[str, dict[str, Any]]:
        """The project's simple JSON page as filename -> file entry (asserting a 200)."""
        reply = self.page(project, index)
        assert reply.status_code == 200, (reply.status_code, reply.text)
        return {entry["filename"]: entry for entry in reply.json()["files"]}

    def page_requests(self, project: str) -> int:
        """How often the upstream was asked for the project's page."""
        return len(self.upstream.requests_for(f"/simple/{project}/"))

    def log_lines(self, *fragments: str) -> list[str]:
        return [line for line in self.server.output if all(f in line for f in fragments)]

    def wait_for_log(self, *fragments: str, timeout: float = 30) -> list[str]:
        """The server's log lines with every fragment, once there is at least one."""
        deadline = time.monotonic() + timeout
        while not self.log_lines(*fragments) and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.log_lines(*fragments)

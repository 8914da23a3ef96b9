"""The rendered-page cache of the simple API, seen from outside.

``X-Pkgdepot-Cache`` tells how a page was served: ``hit`` (from memory, no database),
``revalidated`` (the global serial moved but nothing the page shows changed) or ``rendered``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.support import dists
from tests.support.client import Api, basic
from tests.support.server import ServerProcess

JSON = {"Accept": "application/vnd.pypi.simple.v1+json"}
HTML = {"Accept": "text/html"}
CACHE = "x-pkgdepot-cache"


@dataclasses.dataclass
class User:
    api: Api
    name: str

    @property
    def auth(self) -> dict[str, str]:
        return basic(self.name, "secret")

    def index(self, name: str, **config: Any) -> str:
        self.api.create_index(f"{self.name}/{name}", **config)
        return f"{self.name}/{name}"

    def upload(self, index: str, built: tuple[str, bytes]) -> None:
        reply = self.api.upload(index, *built, auth=(self.name, "secret"))
        assert reply.status_code == 200, reply.text

    def patch(self, index: str, config: dict[str, Any]) -> None:
        reply = self.api.http.patch(f"/{index}", json=config, headers=self.auth)
        assert reply.status_code == 200, reply.text

    def page(self, path: str, headers: dict[str, str] = JSON) -> httpx.Response:
        reply = self.api.http.get(path, headers=headers)
        assert reply.status_code == 200, (path, reply.text)
        return reply

    def files(self, index: str, project: str) -> list[str]:
        reply = self.page(f"/{index}/+simple/{project}/")
        return [f["filename"] for f in reply.json()["files"]]

    def names(self, index: str) -> list[str]:
        return [p["name"] for p in self.page(f"/{index}/+simple/").json()["projects"]]


@pytest.fixture
def user(api: Api, unique: Callable[[str], str]) -> User:
    name = unique("cache")
    api.create_user(name)
    return User(api, name)


def test_warm_pages_are_served_from_the_cache_until_what_they_show_changes(
    user: User, unique: Callable[[str], str]
) -> None:
    dev, other = user.index("dev"), user.index("other")
    user.upload(dev, dists.make_sdist("cached", "1.0"))
    for path in (f"/{dev}/+simple/cached/", f"/{dev}/+simple/"):
        for headers in (JSON, HTML):
            first = user.page(path, headers)
            assert first.headers[CACHE] == "rendered"
            again = user.page(path, headers)
            assert again.headers[CACHE] == "hit"
            assert again.content == first.content
            assert again.headers["etag"] == first.headers["etag"]
    page = f"/{dev}/+simple/cached/"
    before = user.page(page)
    writes_elsewhere: list[Callable[[], object]] = [
        lambda: user.upload(dev, dists.make_sdist("neighbour", "1.0")),
        lambda: user.upload(other, dists.make_sdist("cached", "9.0")),
        lambda: user.api.create_user(unique("bystander")),
        lambda: user.patch(other, {"title": "renamed"}),
    ]
    for write in writes_elsewhere:
        write()
        reply = user.page(page)
        assert reply.headers[CACHE] == "revalidated"
        assert reply.content == before.content
        assert reply.headers["etag"] == before.headers["etag"]
        assert user.page(page).headers[CACHE] == "hit"
    user.upload(dev, dists.make_wheel("cached", "1.1"))
    reply = user.page(page)
    assert reply.headers[CACHE] == "rendered"
    assert user.files(dev, "cached") == ["cached-1.0.tar.gz", "cached-1.1-py3-none-any.whl"]
    reply = user.api.http.patch(f"/{dev}/cached/1.1", json={"yanked": True}, headers=user.auth)
    assert reply.status_code == 200, reply.text
    files = user.page(page).json()["files"]
    assert [f.get("yanked") for f in files] == [None, True]


def test_index_config_changes_in_the_chain_show_at_once(user: User) -> None:
    third = user.index("third")
    base = user.index("base")
    dev = user.index("dev")
    user.upload(third, dists.make_sdist("shared", "3.0"))
    user.upload(base, dists.make_sdist("shared", "1.0"))
    user.upload(base, dists.make_sdist("from-base", "1.0"))
    user.upload(dev, dists.make_sdist("shared", "2.0"))
    assert user.files(dev, "shared") == ["shared-2.0.tar.gz"]
    assert user.names(dev) == ["shared"]
    user.patch(dev, {"bases": [base]})
    assert user.files(dev, "shared") == ["shared-1.0.tar.gz", "shared-2.0.tar.gz"]
    assert user.names(dev) == ["from-base", "shared"]
    user.patch(base, {"bases": [third]})  # a change two steps down the chain
    assert user.files(dev, "shared") == [
        "shared-1.0.tar.gz",
        "shared-2.0.tar.gz",
        "shared-3.0.tar.gz",
    ]
    user.upload(third, dists.make_sdist("deep", "1.0"))
    assert user.names(dev) == ["deep", "from-base", "shared"]
    user.patch(base, {"bases": []})
    assert user.files(dev, "shared") == ["shared-1.0.tar.gz", "shared-2.0.tar.gz"]
    assert user.names(dev) == ["from-base", "shared"]
    user.patch(dev, {"bases": []})
    assert user.files(dev, "shared") == ["shared-2.0.tar.gz"]
    assert user.names(dev) == ["shared"]


def test_a_deleted_and_recreated_project_is_never_served_stale(user: User) -> None:
    dev = user.index("dev")
    user.upload(dev, dists.make_sdist("phoenix", "1.0"))
    user.upload(dev, dists.make_sdist("keeper", "1.0"))
    page = f"/{dev}/+simple/phoenix/"
    for headers in (JSON, HTML):
        user.page(page, headers)
        assert user.page(page, headers).headers[CACHE] == "hit"
    assert user.names(dev) == ["keeper", "phoenix"]
    reply = user.api.http.delete(f"/{dev}/phoenix", headers=user.auth)
    assert reply.status_code == 200, reply.text
    for headers in (JSON, HTML):
        gone = user.api.http.get(page, headers=headers)
        assert gone.status_code == 404
        assert gone.json()["message"] == "The project phoenix does not exist."
    assert user.names(dev) == ["keeper"]
    user.upload(dev, dists.make_wheel("phoenix", "2.0"))
    assert user.files(dev, "phoenix") == ["phoenix-2.0-py3-none-any.whl"]
    assert "phoenix-1.0.tar.gz" not in user.page(page, HTML).text
    assert user.names(dev) == ["keeper", "phoenix"]


def test_a_deleted_and_recreated_index_is_never_served_stale(user: User) -> None:
    dev = user.index("dev")
    user.upload(dev, dists.make_sdist("again", "1.0"))
    page = f"/{dev}/+simple/again/"
    user.page(page)
    assert user.page(page).headers[CACHE] == "hit"
    reply = user.api.http.delete(f"/{dev}", headers=user.auth)
    assert reply.status_code in (200, 201), reply.text
    assert user.api.http.get(page, headers=JSON).status_code == 404
    assert user.api.http.get(f"/{dev}/+simple/", headers=JSON).status_code == 404
    user.index("dev")
    assert user.api.http.get(page, headers=JSON).status_code == 404
    assert user.names(dev) == []
    user.upload(dev, dists.make_sdist("again", "2.0"))
    assert user.files(dev, "again") == ["again-2.0.tar.gz"]


def test_every_worker_serves_a_write_at_once(start_server: Callable[..., ServerProcess]) -> None:
    two_workers = start_server(workers=2)
    api = Api(two_workers.url)
    try:
        api.create_user("alice")
        api.create_index("alice/dev")
        reply = api.upload("alice/dev", *dists.make_sdist("busy", "1.0"), auth=("alice", "secret"))
        assert reply.status_code == 200

        def fresh_connection_files() -> list[str]:
            with httpx.Client(base_url=two_workers.url, headers=JSON) as client:
                reply = client.get("/alice/dev/+simple/busy/")
                assert reply.status_code == 200
                return [f["filename"] for f in reply.json()["files"]]

        for _ in range(12):  # warms the cache of both workers
            assert fresh_connection_files() == ["busy-1.0.tar.gz"]
        for version in ("1.1", "1.2"):
            built = dists.make_sdist("busy", version)
            assert api.upload("alice/dev", *built, auth=("alice", "secret")).status_code == 200
            for _ in range(12):
                assert fresh_connection_files()[-1] == f"busy-{version}.tar.gz"
    finally:
        api.close()

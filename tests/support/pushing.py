"""Helpers for the push tests: a user with a ``dev`` and a ``prod`` index, releases of
hello-pkg on them, push requests and what the indexes show afterwards.

Test modules import the ``pair`` fixture (``fixture_pair``)."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.support import dists
from tests.support.client import Api, basic
from tests.support.stages import new_user, snapshot
from tests.support.uploading import DOCS

ANY = {"Accept": "*/*"}
PROJECT = "hello-pkg"


@dataclasses.dataclass
class Pair:
    """A user with two volatile indexes, ``dev`` and ``prod``; the password is "secret"."""

    api: Api
    user: str

    @property
    def dev(self) -> str:
        return f"{self.user}/dev"

    @property
    def prod(self) -> str:
        return f"{self.user}/prod"

    @property
    def auth(self) -> dict[str, str]:
        return basic(self.user, "secret")


def make_pair(api: Api, unique: Callable[[str], str], **prod_config: Any) -> Pair:
    user = new_user(api, unique, "push")
    api.create_index(f"{user}/dev")
    api.create_index(f"{user}/prod", **prod_config)
    return Pair(api, user)


@pytest.fixture(name="pair")
def fixture_pair(api: Api, unique: Callable[[str], str]) -> Pair:
    return make_pair(api, unique)


# requests


def upload(
    pair: Pair, built: tuple[str, bytes], index: str | None = None, **fields: str | list[str]
) -> str:
    """Upload to ``dev`` (or ``index``); the path of the file's URL."""
    filename, data = built
    version = filename.split("-")[1].removesuffix(".tar.gz")
    reply = pair.api.upload(
        index or pair.dev, filename, data, auth=(pair.user, "secret"), name=PROJECT,
        version=version, fields=fields,
    )  # fmt: skip
    assert reply.status_code == 200, reply.text
    sha256 = hashlib.sha256(data).hexdigest()
    return f"/{index or pair.dev}/+f/{sha256[:3]}/{sha256[3:16]}/{filename}"


def upload_docs(pair: Pair, version: str, data: bytes = DOCS, index: str | None = None) -> None:
    reply = pair.api.upload(
        index or pair.dev, f"{PROJECT}-{version}.zip", data, auth=(pair.user, "secret"),
        name=PROJECT, version=version, action="doc_upload", digests=False,
    )  # fmt: skip
    assert reply.status_code == 200, reply.text


def release(pair: Pair, version: str = "1.0", **fields: str) -> dict[str, str]:
    """A wheel and an sdist of hello-pkg on ``dev``: filename -> URL path."""
    built = [dists.make_wheel(PROJECT, version), dists.make_sdist(PROJECT, version)]
    return {b[0]: upload(pair, b, **fields) for b in built}


def push(
    pair: Pair,
    body: dict[str, Any],
    *,
    method: str = "PUSH",
    path: str | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    return pair.api.http.request(
        method,
        path or f"/{pair.dev}",
        json=body,
        headers=pair.auth if headers is None else headers,
    )


def to_prod(pair: Pair, version: str = "1.0", **extra: Any) -> dict[str, Any]:
    return {"name": PROJECT, "version": version, "targetindex": pair.prod, **extra}


def version_data(api: Api, index: str, version: str = "1.0") -> dict[str, Any]:
    reply = api.http.get(f"/{index}/{PROJECT}/{version}")
    assert reply.status_code == 200, reply.text
    result: dict[str, Any] = reply.json()["result"]
    return result


def links(api: Api, index: str, rel: str, version: str = "1.0") -> list[dict[str, Any]]:
    return [link for link in version_data(api, index, version)["+links"] if link["rel"] == rel]


def serial(api: Api) -> str:
    return api.http.get("/+api").headers["x-devpi-serial"]


def state(api: Api, index: str, project: str = PROJECT) -> tuple[object, ...]:
    """The server's serial and all it shows of ``project`` on ``index``."""
    return (serial(api), snapshot(api, index, project))


def relpath(url_path: str, index: str) -> str:
    """A file's relpath under ``index``: the same place in another index."""
    return index + "/" + url_path.lstrip("/").split("/", 2)[2]


def assert_refused(reply: httpx.Response, status: int, message: str) -> None:
    assert reply.status_code == status, reply.text
    assert reply.json() == {"message": message}


def external(pair: Pair, posturl: str, **extra: Any) -> dict[str, Any]:
    """A push of hello-pkg 1.0 to another repository, as the pair's user."""
    body = {"name": PROJECT, "version": "1.0", "posturl": posturl, **extra}
    return {"username": pair.user, "password": "secret", **body}

"""Helpers for tests that build indexes with releases and read them back through the API."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from tests.support import dists
from tests.support.client import Api, basic

SIMPLE_JSON = {"Accept": "application/vnd.pypi.simple.v1+json"}
SIMPLE_HTML = {"Accept": "text/html"}
PIP_ACCEPT = {
    "Accept": "application/vnd.pypi.simple.v1+json, "
    "application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01"
}


def new_user(api: Api, unique: Callable[[str], str], prefix: str = "u") -> str:
    """A fresh user with password ``secret``."""
    name = unique(prefix)
    api.create_user(name)
    return name


def auth_of(user: str) -> dict[str, str]:
    return basic(user, "secret")


def upload(
    api: Api,
    index: str,
    built: tuple[str, bytes],
    *,
    user: str | None = None,
    name: str | None = None,
    fields: Mapping[str, str | Sequence[str]] | None = None,
) -> str:
    """Upload a built file as ``user`` (default: the index owner); returns its sha256."""
    who = user or index.split("/")[0]
    filename, data = built
    reply = api.upload(index, filename, data, auth=(who, "secret"), name=name, fields=fields)
    assert reply.status_code == 200, reply.text
    return hashlib.sha256(data).hexdigest()


def sdist(name: str, version: str, summary: str = "test package") -> tuple[str, bytes]:
    return dists.make_sdist(name, version, summary=summary)


def wheel(name: str, version: str, **kwargs: Any) -> tuple[str, bytes]:
    return dists.make_wheel(name, version, **kwargs)


def simple_files(api: Api, index: str, project: str) -> dict[str, str]:
    """filename -> sha256 on the PEP 691 page of ``project`` (empty when 404)."""
    reply = api.http.get(f"/{index}/+simple/{project}/", headers=SIMPLE_JSON)
    if reply.status_code == 404:
        return {}
    assert reply.status_code == 200, reply.text
    return {f["filename"]: f["hashes"]["sha256"] for f in reply.json()["files"]}


def simple_projects(api: Api, index: str) -> list[str]:
    reply = api.http.get(f"/{index}/+simple/", headers=SIMPLE_JSON)
    assert reply.status_code == 200, reply.text
    return [p["name"] for p in reply.json()["projects"]]


def versions(api: Api, index: str, project: str, query: str = "") -> dict[str, Any]:
    reply = api.http.get(f"/{index}/{project}{query}")
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["type"] == "projectconfig"
    result: dict[str, Any] = body["result"]
    return result


def snapshot(api: Api, index: str, project: str) -> tuple[Any, ...]:
    """Everything the API shows about one project, to prove a refused write changed nothing."""
    config = api.http.get(f"/{index}")
    projectconfig = api.http.get(f"/{index}/{project}")
    page = api.http.get(f"/{index}/+simple/{project}/", headers=SIMPLE_JSON)
    serial_free = config.json().get("result", {})
    return (
        config.status_code,
        serial_free,
        projectconfig.status_code,
        projectconfig.json(),
        page.status_code,
        page.content,
    )


def link_hrefs(versiondata: Mapping[str, Any], rel: str = "releasefile") -> list[str]:
    return sorted(link["href"] for link in versiondata["+links"] if link["rel"] == rel)

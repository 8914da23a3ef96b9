"""X-Accel-Redirect: a request carrying ``X-Pkgdepot-Accel`` (which only the generated nginx
site sends) gets the stored file's location under nginx's internal location instead of its
bytes; every other request is served as before."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support import dists
from tests.support.client import Api
from tests.support.server import ServerProcess

LOCATION = "/+pkgdepot-blobs/"
ACCEL = {"X-Pkgdepot-Accel": LOCATION}


@dataclasses.dataclass
class Stored:
    server: ServerProcess
    http: httpx.Client
    wheel: bytes
    link: dict[str, Any]

    @property
    def path(self) -> str:
        return str(self.link["href"]).removeprefix(self.server.url)


@pytest.fixture(scope="module")
def stored(server: ServerProcess) -> Iterator[Stored]:
    api = Api(server.url)
    api.create_user("acceler")
    api.create_index("acceler/dev")
    name, wheel = dists.make_wheel("accel-pkg", "1.0")
    assert api.upload("acceler/dev", name, wheel, auth=("acceler", "secret")).status_code == 200
    links = api.http.get("/acceler/dev/accel-pkg/1.0").json()["result"]["+links"]
    api.close()
    http = httpx.Client(base_url=server.url, timeout=30)
    yield Stored(server, http, wheel, links[0])
    http.close()


def _blob(stored: Stored, accel_redirect: str) -> bytes:
    """The file nginx would send: the redirect's path below the blobs directory."""
    assert accel_redirect.startswith(LOCATION)
    return (stored.server.serverdir / "+blobs" / accel_redirect.removeprefix(LOCATION)).read_bytes()


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_a_file_is_handed_to_nginx(stored: Stored, method: str) -> None:
    reply = stored.http.request(method, stored.path, headers=ACCEL)
    assert reply.status_code == 200
    assert reply.content == b""
    sha256 = hashlib.sha256(stored.wheel).hexdigest()
    assert reply.headers["x-accel-redirect"] == f"{LOCATION}{sha256[:2]}/{sha256[2:4]}/{sha256}"
    assert _blob(stored, reply.headers["x-accel-redirect"]) == stored.wheel
    assert reply.headers["etag"] == f'"{sha256}"'
    assert reply.headers["content-type"] == "application/octet-stream"
    assert "immutable" in reply.headers["cache-control"]


def test_core_metadata_is_handed_to_nginx(stored: Stored) -> None:
    reply = stored.http.get(stored.path + ".metadata", headers=ACCEL)
    assert reply.status_code == 200
    metadata = _blob(stored, reply.headers["x-accel-redirect"])
    assert b"Name: accel-pkg" in metadata
    assert reply.headers["content-type"] == "text/plain; charset=utf-8"
    direct = stored.http.get(stored.path + ".metadata")
    assert direct.content == metadata


def test_ranges_are_left_to_nginx_and_a_matching_etag_is_still_a_304(stored: Stored) -> None:
    reply = stored.http.get(stored.path, headers={**ACCEL, "Range": "bytes=0-9"})
    assert reply.status_code == 200
    assert "x-accel-redirect" in reply.headers
    etag = reply.headers["etag"]
    unchanged = stored.http.get(stored.path, headers={**ACCEL, "If-None-Match": etag})
    assert unchanged.status_code == 304
    assert "x-accel-redirect" not in unchanged.headers


def test_without_the_header_the_file_is_sent_as_before(stored: Stored) -> None:
    reply = stored.http.get(stored.path)
    assert reply.status_code == 200
    assert "x-accel-redirect" not in reply.headers
    assert reply.content == stored.wheel
    part = stored.http.get(stored.path, headers={"Range": "bytes=0-9"})
    assert (part.status_code, part.content) == (206, stored.wheel[:10])
    meta = stored.http.get(stored.path, headers={**ACCEL, "Accept": "application/json"})
    assert meta.json()["result"]["hashes"]["sha256"] == hashlib.sha256(stored.wheel).hexdigest()
    assert "x-accel-redirect" not in meta.headers


@pytest.mark.parametrize("value", ["+pkgdepot-blobs/", "/+pkgdepot-blobs", "/a/../b/", "/a b/"])
def test_a_bad_location_is_a_400(stored: Stored, value: str) -> None:
    serial = stored.http.get("/+api").headers["x-devpi-serial"]
    reply = stored.http.get(stored.path, headers={"X-Pkgdepot-Accel": value})
    assert reply.status_code == 400
    assert reply.json()["message"] == (
        "X-Pkgdepot-Accel must be a path that starts and ends with '/' and has no . or .. "
        f"segment, not {value!r}"
    )
    assert stored.http.get("/+api").headers["x-devpi-serial"] == serial

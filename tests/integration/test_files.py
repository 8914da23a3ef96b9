"""Stored files under /USER/INDEX/+f/: downloads, HEAD, ETag, ranges, metadata JSON, 404/410."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import re
import zipfile
from collections.abc import Callable, Iterator

import httpx
import pytest

from tests.support import dists
from tests.support.api_checks import assert_error as error
from tests.support.client import Api, basic
from tests.support.server import ServerProcess

IMMUTABLE = "max-age=365000000, immutable, public"
SIMPLE_JSON = {"Accept": "application/vnd.pypi.simple.v1+json"}


@dataclasses.dataclass
class Stored:
    index: str
    owner: str
    filename: str
    data: bytes
    path: str  # /USER/INDEX/+f/...

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def doc_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.html", "<html>docs</html>")
    return buffer.getvalue()


def store(api: Api, index: str, owner: str, built: tuple[str, bytes]) -> Stored:
    filename, data = built
    reply = api.upload(index, filename, data, auth=(owner, "secret"))
    assert reply.status_code == 200, reply.text
    project = filename.split("-")[0].replace("_", "-")
    page = api.http.get(f"/{index}/+simple/{project}/", headers=SIMPLE_JSON).json()
    entry = next(f for f in page["files"] if f["filename"] == filename)
    path = "/" + entry["url"].removeprefix("../../../../")
    return Stored(index, owner, filename, data, path)


@pytest.fixture(scope="module")
def http(server: ServerProcess) -> Iterator[httpx.Client]:
    client = httpx.Client(base_url=server.url, timeout=60)
    yield client
    client.close()


@pytest.fixture(scope="module")
def stored(server: ServerProcess) -> Iterator[Stored]:
    """A 2000-byte-plus wheel that the tests only read."""
    api = Api(server.url)
    api.create_user("fileserver")
    api.create_index("fileserver/dev")
    built = dists.make_wheel("served", "1.0", payload=bytes(range(256)) * 8)
    yield store(api, "fileserver/dev", "fileserver", built)
    api.close()


def test_get_serves_the_file_with_cache_headers(http: httpx.Client, stored: Stored) -> None:
    reply = http.get(stored.path)
    assert reply.status_code == 200
    assert reply.content == stored.data
    assert reply.headers["content-length"] == str(len(stored.data))
    assert reply.headers["content-type"] == "application/octet-stream"
    assert reply.headers["etag"] == f'"{stored.sha256}"'
    assert reply.headers["cache-control"] == IMMUTABLE
    assert reply.headers["accept-ranges"] == "bytes"
    assert reply.headers["last-modified"].endswith(" GMT")
    assert reply.headers["x-devpi-api-version"] == "2"


def test_head_gives_the_headers_without_the_body(http: httpx.Client, stored: Stored) -> None:
    reply = http.head(stored.path)
    assert reply.status_code == 200
    assert reply.content == b""
    assert reply.headers["content-length"] == str(len(stored.data))
    assert reply.headers["etag"] == f'"{stored.sha256}"'
    assert reply.headers["cache-control"] == IMMUTABLE


@pytest.mark.parametrize("plus", ["%2B", "%2b"])
def test_a_percent_encoded_plus_reaches_the_file(
    http: httpx.Client, stored: Stored, plus: str
) -> None:
    path = stored.path.replace("/+f/", f"/{plus}f/")
    assert "+" not in path
    assert http.get(path).content == stored.data
    assert http.head(path).status_code == 200
    assert http.get(path + ".metadata").status_code == 200


def test_if_none_match_gives_304(http: httpx.Client, stored: Stored) -> None:
    etag = f'"{stored.sha256}"'
    for condition in (etag, f"W/{etag}", f'"nope", {etag}', "*"):
        reply = http.get(stored.path, headers={"If-None-Match": condition})
        assert reply.status_code == 304, condition
        assert reply.content == b""
        assert reply.headers["etag"] == etag
        assert reply.headers["cache-control"] == IMMUTABLE
    assert http.get(stored.path, headers={"If-None-Match": '"nope"'}).status_code == 200


@pytest.mark.parametrize(
    ("header", "part"),
    [
        ("bytes=0-9", slice(0, 10)),
        ("bytes=10-", slice(10, None)),
        ("bytes=-5", slice(-5, None)),
        ("bytes=7-7", slice(7, 8)),
        ("bytes=5-999999999", slice(5, None)),
        ("bytes=-999999999", slice(0, None)),
        ("BYTES = 3-4", slice(3, 5)),
        ("bytes=0-9, 999999999-", slice(0, 10)),  # an unsatisfiable part is left out
    ],
)
def test_a_single_range_gives_206_with_those_bytes(
    http: httpx.Client, stored: Stored, header: str, part: slice
) -> None:
    size = len(stored.data)
    expected = stored.data[part]
    first = range(size)[part][0]
    reply = http.get(stored.path, headers={"Range": header})
    assert reply.status_code == 206, (header, reply.text)
    assert reply.content == expected
    assert reply.headers["content-length"] == str(len(expected))
    assert reply.headers["content-range"] == f"bytes {first}-{first + len(expected) - 1}/{size}"
    head = http.head(stored.path, headers={"Range": header})
    assert head.status_code == 206
    assert head.content == b""
    assert head.headers["content-length"] == str(len(expected))


def test_several_ranges_give_a_multipart_reply(http: httpx.Client, stored: Stored) -> None:
    size = len(stored.data)
    reply = http.get(stored.path, headers={"Range": "bytes=0-3,-4"})
    assert reply.status_code == 206
    match = re.fullmatch(r"multipart/byteranges; boundary=(\S+)", reply.headers["content-type"])
    assert match is not None, reply.headers
    assert reply.headers["content-length"] == str(len(reply.content))
    parts = reply.content.split(b"--" + match[1].encode())
    assert parts[-1] == b"--"
    bodies = [part.split(b"\r\n\r\n", 1) for part in parts[1:-1]]
    assert [head.split(b"Content-Range: ")[1] for head, _ in bodies] == [
        f"bytes 0-3/{size}".encode(),
        f"bytes {size - 4}-{size - 1}/{size}".encode(),
    ]
    assert [body.removesuffix(b"\r\n") for _, body in bodies] == [
        stored.data[:4],
        stored.data[-4:],
    ]


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("bytes=999999999-", "no requested byte range"),
        ("bytes=-0", "no requested byte range"),
        ("bytes=5-2", "end is before its start"),
        ("bytes=abc", "invalid byte range"),
        ("bytes=1-2-3", "invalid byte range"),
        ("bytes=-", "invalid byte range"),
        ("bytes=", "no requested byte range"),
        ("bytes=0-1,x", "invalid byte range"),
    ],
)
def test_an_invalid_or_unsatisfiable_range_gives_416(
    http: httpx.Client, stored: Stored, header: str, message: str
) -> None:
    reply = http.get(stored.path, headers={"Range": header})
    error(reply, 416, message)
    assert reply.headers["content-range"] == f"bytes */{len(stored.data)}"
    reply = http.get(stored.path.replace("/+f/", "/%2Bf/"), headers={"Range": header})
    error(reply, 416, message)


def test_range_units_other_than_bytes_are_ignored(http: httpx.Client, stored: Stored) -> None:
    for header in ("items=0-5", "0-5", "pages=1"):
        reply = http.get(stored.path, headers={"Range": header})
        assert reply.status_code == 200, header
        assert reply.content == stored.data


def test_if_range_sends_the_range_only_while_the_validator_matches(
    http: httpx.Client, stored: Stored
) -> None:
    last_modified = http.head(stored.path).headers["last-modified"]
    for validator in (f'"{stored.sha256}"', last_modified):
        reply = http.get(stored.path, headers={"Range": "bytes=0-1", "If-Range": validator})
        assert reply.status_code == 206
        assert reply.content == stored.data[:2]
    for validator in ('"outdated"', "Mon, 01 Jan 2001 00:00:00 GMT", f'W/"{stored.sha256}"'):
        reply = http.get(stored.path, headers={"Range": "bytes=0-1", "If-Range": validator})
        assert reply.status_code == 200, validator
        assert reply.content == stored.data
    reply = http.get(stored.path, headers={"Range": "bytes=abc", "If-Range": '"outdated"'})
    assert reply.status_code == 200  # the range is not even looked at


def test_accept_json_gives_the_file_metadata(http: httpx.Client, stored: Stored) -> None:
    reply = http.get(stored.path, headers={"Accept": "application/json"})
    assert reply.status_code == 200
    assert reply.headers["content-type"] == "application/json"
    body = reply.json()
    assert body["type"] == "releasefilemeta"
    result = body["result"]
    assert result["hash_spec"] == f"sha256={stored.sha256}"
    assert result["hashes"] == {"sha256": stored.sha256}
    assert result["project"] == "served"
    assert result["version"] == "1.0"
    assert result["size"] == len(stored.data)


def test_unknown_files_and_indexes_get_404(http: httpx.Client, stored: Stored) -> None:
    missing = stored.path.rsplit("/", 1)[0] + "/served-9.9.tar.gz"
    error(http.get(missing), 404, "no file", "served-9.9.tar.gz")
    error(http.get(missing + ".metadata"), 404, "no file", "served-9.9.tar.gz.metadata")
    error(http.get(missing, headers={"Accept": "application/json"}), 404, "no file")
    assert http.head(missing).status_code == 404
    other_index = stored.path.replace("/fileserver/dev/", "/fileserver/nope/")
    error(http.get(other_index), 404, "fileserver/nope could not be found")
    error(http.get("/fileserver/dev/+f/"), 404)


def test_sdists_have_no_metadata_file(
    http: httpx.Client, api: Api, unique: Callable[[str], str]
) -> None:
    owner = unique("sdistmeta")
    api.create_user(owner)
    api.create_index(f"{owner}/dev")
    sdist = store(api, f"{owner}/dev", owner, dists.make_sdist("plain", "1.0"))
    error(http.get(sdist.path + ".metadata"), 404, "plain-1.0.tar.gz", "only wheels")
    assert http.get(sdist.path).content == sdist.data


def test_deleted_files_get_410_and_others_stay(
    http: httpx.Client, api: Api, unique: Callable[[str], str]
) -> None:
    owner = unique("deleted")
    api.create_user(owner)
    index = f"{owner}/dev"
    api.create_index(index)
    wheel = store(api, index, owner, dists.make_wheel("doomed", "1.0"))
    sdist = store(api, index, owner, dists.make_sdist("doomed", "1.0"))
    assert http.get(wheel.path + ".metadata").status_code == 200
    reply = http.delete(wheel.path, headers=basic(owner, "secret"))
    assert reply.status_code == 200, reply.text
    error(http.get(wheel.path), 410, "existed, deleted in later serial")
    assert http.head(wheel.path).status_code == 410
    error(http.get(wheel.path + ".metadata"), 410, "deleted")
    error(http.get(wheel.path.replace("/+f/", "/%2Bf/")), 410, "deleted")
    assert http.get(sdist.path).content == sdist.data


def test_doc_zips_are_served_as_zip(
    http: httpx.Client, api: Api, unique: Callable[[str], str]
) -> None:
    owner = unique("docs")
    api.create_user(owner)
    index = f"{owner}/dev"
    api.create_index(index)
    store(api, index, owner, dists.make_sdist("documented", "1.0"))
    docs = doc_zip()
    reply = api.upload(
        index,
        "documented-1.0.doc.zip",
        docs,
        auth=(owner, "secret"),
        name="documented",
        version="1.0",
        action="doc_upload",
    )
    assert reply.status_code == 200, reply.text
    links = api.http.get(f"/{index}/documented/1.0").json()["result"]["+links"]
    href = next(link["href"] for link in links if link["rel"] == "doczip")
    reply = http.get(href)
    assert reply.status_code == 200
    assert reply.headers["content-type"] == "application/zip"
    assert reply.content == docs

"""A mirrored wheel whose METADATA is over the size limits: the wheel is mirrored like any
other, and its ``.metadata`` is the upstream's when announced (within ``mirror/files.py``'s
limit), else it is a 404 that says why. Never a 500, never a row or blob that is wrong.

The limits: an uploaded or extracted METADATA may be ``archives.MAX_METADATA_SIZE`` (10 MiB),
an upstream's ``.metadata`` file ``mirror.files.MAX_METADATA_SIZE`` (16 MiB).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator

import pytest

from pkgdepot import archives
from pkgdepot.mirror import files
from tests.mirror.mirrored import Mirror
from tests.support import dists
from tests.support.api_checks import assert_error, current_serial
from tests.support.client import Api
from tests.support.fake_pages import FakeFile
from tests.support.fake_upstream import FakeUpstream
from tests.support.server import ServerProcess, without_internal_errors

pytestmark = pytest.mark.timeout(120)

JSON = {"Accept": "application/vnd.pypi.simple.v1+json"}


@pytest.fixture
def mirror(
    server: ServerProcess, json_upstream: FakeUpstream, unique: Callable[[str], str]
) -> Iterator[Mirror]:
    created = Mirror.create(server, json_upstream, unique("bigmeta"))
    with without_internal_errors(server):
        yield created
    created.close()


def big_wheel(mirror: Mirror, metadata_size: int, *, announced: bool) -> tuple[FakeFile, str]:
    """The wheel on the upstream and its URL path here, synced as a page sync does."""
    filename, data = dists.make_wheel(mirror.project, "1.0", metadata_size=metadata_size)
    wheel = FakeFile(filename, data, announce_metadata=announced)
    mirror.upstream.add_file(mirror.project, wheel)
    return wheel, mirror.sync(mirror.project)[filename]


def advertised(mirror: Mirror, filename: str) -> object:
    reply = mirror.http.get(f"/{mirror.path}/+simple/{mirror.project}/", headers=JSON)
    [entry] = [entry for entry in reply.json()["files"] if entry["filename"] == filename]
    return entry.get("core-metadata")


def assert_wheel_mirrored(mirror: Mirror, wheel: FakeFile, url: str) -> None:
    reply = mirror.http.get(url)
    assert reply.status_code == 200
    assert hashlib.sha256(reply.content).hexdigest() == wheel.sha256
    row = mirror.row(url)
    assert row is not None
    assert (row.cached, row.sha256, row.size) == (True, wheel.sha256, len(wheel.data))
    assert mirror.blob(wheel.sha256).read_bytes() == wheel.data


def test_metadata_the_upstream_announces_is_served_though_too_large_to_extract(
    mirror: Mirror,
) -> None:
    wheel, url = big_wheel(mirror, archives.MAX_METADATA_SIZE + 1, announced=True)
    assert wheel.metadata is not None
    sha256 = hashlib.sha256(wheel.metadata).hexdigest()
    assert_wheel_mirrored(mirror, wheel, url)
    row = mirror.row(url)
    assert row is not None
    assert row.core_metadata_sha256 == sha256  # as announced, though not extracted
    for _ in range(2):
        reply = mirror.http.get(url + ".metadata")
        assert reply.status_code == 200
        assert reply.content == wheel.metadata
    assert mirror.upstream.downloads_of(wheel.filename + ".metadata") == 1
    assert mirror.upstream.downloads_of(wheel.filename) == 1
    assert advertised(mirror, wheel.filename) == {"sha256": sha256}


def test_metadata_too_large_to_extract_and_not_announced_is_a_404(mirror: Mirror) -> None:
    wheel, url = big_wheel(mirror, archives.MAX_METADATA_SIZE + 1, announced=False)
    message = (
        f"no core metadata in {wheel.filename}: "
        f"METADATA is larger than {archives.MAX_METADATA_SIZE} bytes"
    )
    api = Api(mirror.server.url)
    try:
        assert_error(mirror.http.get(url + ".metadata"), 404, message)  # fetches the wheel
        assert_wheel_mirrored(mirror, wheel, url)
        serial = current_serial(api)
        assert_error(mirror.http.get(url + ".metadata"), 404, message)  # from the stored wheel
        assert current_serial(api) == serial
    finally:
        api.close()
    row = mirror.row(url)
    assert row is not None
    assert row.core_metadata_sha256 is None
    assert advertised(mirror, wheel.filename) is None
    assert mirror.upstream.downloads_of(wheel.filename) == 1
    assert mirror.upstream.downloads_of(wheel.filename + ".metadata") == 0


def test_an_upstream_metadata_file_over_the_mirror_limit_is_a_502(mirror: Mirror) -> None:
    wheel, url = big_wheel(mirror, files.MAX_METADATA_SIZE + 1, announced=True)
    assert wheel.metadata is not None
    sha256 = hashlib.sha256(wheel.metadata).hexdigest()
    metadata_url = f"{mirror.upstream.base}/files/{wheel.filename}.metadata"
    message = f"{metadata_url} is larger than {files.MAX_METADATA_SIZE} bytes"
    assert_error(mirror.http.get(url + ".metadata"), 502, message)
    assert not mirror.blob(sha256).exists()
    assert_wheel_mirrored(mirror, wheel, url)
    assert_error(mirror.http.get(url + ".metadata"), 502, message)
    assert not mirror.blob(sha256).exists()
    assert list((mirror.server.serverdir / "+blobs" / "tmp").iterdir()) == []

"""Mirrored files as installers reach them: links of a mirrored project page, then the files."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from urllib.parse import urljoin

import pytest

from tests.mirror.mirrored import Mirror
from tests.support.fake_upstream import FakeUpstream
from tests.support.server import ServerProcess

pytestmark = pytest.mark.timeout(120)
JSON = {"Accept": "application/vnd.pypi.simple.v1+json"}


def test_files_linked_from_a_mirrored_page(
    server: ServerProcess, upstream: FakeUpstream, unique: Callable[[str], str]
) -> None:
    mirror = Mirror.create(server, upstream, unique("paged"))
    files = upstream.add_release(mirror.project, "1.0+local")
    page_url = f"/{mirror.path}/+simple/{mirror.project}/"
    page = mirror.http.get(page_url, headers=JSON)
    assert page.status_code == 200, page.text
    links = {entry["filename"]: entry for entry in page.json()["files"]}
    assert sorted(links) == sorted(file.filename for file in files)
    for file in files:
        href = urljoin(server.url + page_url, links[file.filename]["url"])
        reply = mirror.http.get(href)
        assert reply.status_code == 200, reply.text
        assert hashlib.sha256(reply.content).hexdigest() == file.sha256
        assert mirror.http.get(href).content == file.data
        assert upstream.downloads_of(file.filename) == 1
    (wheel,) = [file for file in files if file.filename.endswith(".whl")]
    assert wheel.metadata is not None
    metadata_href = urljoin(server.url + page_url, links[wheel.filename]["url"] + ".metadata")
    assert mirror.http.get(metadata_href).content == wheel.metadata
    mirror.close()

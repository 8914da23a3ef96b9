"""A 1 GiB mirrored file streams through the server in flat memory.

The fake upstream makes the file on the fly (never in memory); the expected sha256 comes from
making the same bytes again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import httpx
import pytest

from tests.mirror.mirrored import Mirror
from tests.support.fake_pages import FakeFile
from tests.support.fake_upstream import FakeUpstream
from tests.support.procs import peak_rss_bytes, process_tree, reset_peak_rss
from tests.support.server import ServerProcess

pytestmark = pytest.mark.timeout(300)
SIZE = 1024 * 1024 * 1024
MEMORY_GROWTH_LIMIT = 64 * 1024 * 1024


def test_a_1gib_file_streams_through_in_flat_memory(
    start_server: Callable[..., ServerProcess], json_upstream: FakeUpstream
) -> None:
    server = start_server()
    mirror = Mirror.create(server, json_upstream, "big")
    big = FakeFile.generated(f"{mirror.project}-1.0.tar.gz", SIZE)
    json_upstream.add_file(mirror.project, big)
    url = mirror.sync(mirror.project)[big.filename]
    assert server.process is not None
    (pid,) = process_tree(server.process.pid)
    mirror.http.get("/+api").raise_for_status()
    reset_peak_rss(pid)
    before = peak_rss_bytes(pid)
    digest, size = hashlib.sha256(), 0
    with httpx.Client(base_url=server.url, timeout=60) as client:
        with client.stream("GET", url) as reply:
            assert reply.status_code == 200
            assert reply.headers["content-length"] == str(SIZE)
            for chunk in reply.iter_raw():
                digest.update(chunk)
                size += len(chunk)
        growth = peak_rss_bytes(pid) - before
        print(f"server RSS before {before / 2**20:.1f} MiB, peak growth {growth / 2**20:.1f} MiB")
        assert (size, digest.hexdigest()) == (SIZE, big.sha256)
        assert growth < MEMORY_GROWTH_LIMIT
        assert mirror.blob(big.sha256).stat().st_size == SIZE
        again = client.head(url)
        assert again.headers["content-length"] == str(SIZE)
    assert json_upstream.downloads_of(big.filename) == 1
    mirror.close()

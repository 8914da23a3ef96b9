"""A 1,000,000-name upstream project list served through root/pypi in flat memory.

The fake upstream makes the list on the fly; the test counts the names as they arrive (a bitmap
of the indices, never the list), and the server's peak resident size (``VmHWM``) is checked.
The peak is reset once the server is up: start-up hashes root's password with a memory-hard
hash, which peaks far above what serving uses and is not what this test is about.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import httpx
import pytest

from tests.support.client import basic
from tests.support.fake_upstream import FakeUpstream
from tests.support.procs import peak_rss_bytes, process_tree, reset_peak_rss
from tests.support.server import ServerProcess

pytestmark = pytest.mark.timeout(600)
COUNT = 1_000_000
PEAK_RSS_LIMIT = 150 * 1024 * 1024
ENTRIES = {
    "application/vnd.pypi.simple.v1+json": re.compile(rb'\{"name":"name-(\d+)"\}'),
    "text/html": re.compile(rb'<a href="name-(\d+)/">name-\1</a>'),
}


def seen_names(chunks: Iterator[bytes], entry: re.Pattern[bytes]) -> tuple[int, bytearray]:
    """How many entries arrived, and which ``name-N`` (one bit each)."""
    seen = bytearray(COUNT // 8 + 1)
    count, tail = 0, b""
    for chunk in chunks:
        buffer = tail + chunk
        end = 0
        for match in entry.finditer(buffer):
            number = int(match[1])
            seen[number // 8] |= 1 << (number % 8)
            count += 1
            end = match.end()
        tail = buffer[end:]
    return count, seen


def test_a_million_names_are_listed_in_flat_memory(
    start_server: Callable[..., ServerProcess], upstream: FakeUpstream
) -> None:
    upstream.list_size = COUNT
    server = start_server(extra_args=["--mirror-url", upstream.url])
    assert server.process is not None
    (pid,) = process_tree(server.process.pid)
    all_seen = bytearray(b"\xff" * (COUNT // 8)) + bytes([(1 << (COUNT % 8)) - 1])
    with httpx.Client(base_url=server.url, timeout=300) as client:
        client.put("/lister", json={"password": "secret"}).raise_for_status()
        stage = {"bases": ["root/pypi"]}
        client.put("/lister/dev", json=stage, headers=basic("lister", "secret")).raise_for_status()
        reset_peak_rss(pid)
        # root/pypi's documents, as files; then the stage's, streamed from root/pypi's names
        for path in ("/root/pypi/+simple/", "/lister/dev/+simple/"):
            for media, entry in ENTRIES.items():
                with client.stream("GET", path, headers={"Accept": media}) as reply:
                    assert reply.status_code == 200
                    assert reply.headers["content-type"].startswith(media)
                    count, seen = seen_names(reply.iter_bytes(), entry)
                assert count == COUNT, (path, media)
                assert seen == all_seen, (path, media)
    peak = peak_rss_bytes(pid)
    print(f"server peak RSS (VmHWM) {peak / 2**20:.1f} MiB serving a list of {COUNT} names")
    assert peak < PEAK_RSS_LIMIT
    assert len(upstream.requests_for("/simple/")) == 1

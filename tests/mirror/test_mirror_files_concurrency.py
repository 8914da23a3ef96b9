"""Single-flight through real servers: one upstream download however many clients and workers
ask at once, and a leader killed mid-download leaves nothing that is ever served."""

from __future__ import annotations

import concurrent.futures
import hashlib
import threading
import time
from collections.abc import Callable

import httpx
import pytest

from tests.mirror.mirrored import Mirror
from tests.support.fake_upstream import FakeUpstream
from tests.support.server import ServerProcess

pytestmark = pytest.mark.timeout(120)
CLIENTS = 30


def get_all_at_once(url: str, count: int) -> list[bytes]:
    """``count`` clients on their own connections, released together."""
    barrier = threading.Barrier(count)

    def one(_: int) -> bytes:
        with httpx.Client(timeout=60) as client:
            barrier.wait()
            reply = client.get(url)
            assert reply.status_code == 200, reply.text
            return reply.content

    with concurrent.futures.ThreadPoolExecutor(count) as pool:
        return list(pool.map(one, range(count)))


@pytest.mark.parametrize("workers", [1, 2])
def test_parallel_clients_share_one_upstream_download(
    start_server: Callable[..., ServerProcess], json_upstream: FakeUpstream, workers: int
) -> None:
    server = start_server(workers=workers)
    mirror = Mirror.create(server, json_upstream, "parallel")
    wheel, _ = json_upstream.add_release(mirror.project, "1.0")
    url = mirror.sync(mirror.project)[wheel.filename]
    json_upstream.file_delay = 0.25  # the body takes 2 s: every client arrives meanwhile
    bodies = get_all_at_once(server.url + url, CLIENTS)
    assert json_upstream.downloads_of(wheel.filename) == 1
    assert bodies == [wheel.data] * CLIENTS
    assert hashlib.sha256(bodies[0]).hexdigest() == wheel.sha256
    row = mirror.row(url)
    assert row is not None
    assert row.cached
    assert list((server.serverdir / "+mirrors" / "fetching").iterdir()) == []
    mirror.close()


def test_a_killed_leader_leaves_nothing_served_and_blocks_nothing(
    start_server: Callable[..., ServerProcess], json_upstream: FakeUpstream
) -> None:
    server = start_server()
    mirror = Mirror.create(server, json_upstream, "killed")
    wheel, _ = json_upstream.add_release(mirror.project, "1.0")
    url = mirror.sync(mirror.project)[wheel.filename]
    json_upstream.file_delay = 5.0  # the download is still running when the server dies
    fetching = server.serverdir / "+mirrors" / "fetching"

    def doomed() -> None:
        with httpx.Client(timeout=60) as client, pytest.raises(httpx.TransportError):
            client.get(server.url + url)

    thread = threading.Thread(target=doomed)
    thread.start()
    for _ in range(1000):  # until the leader asked the upstream
        if json_upstream.downloads_of(wheel.filename):
            break
        time.sleep(0.01)
    assert list(fetching.glob("*.part"))
    server.kill()
    thread.join()
    json_upstream.file_delay = 0.0
    server.start()
    with httpx.Client(base_url=server.url, timeout=60) as client:
        reply = client.get(url)
    assert reply.status_code == 200
    assert reply.content == wheel.data
    assert json_upstream.downloads_of(wheel.filename) == 2
    assert list(fetching.iterdir()) == []
    assert list((server.serverdir / "+blobs" / "tmp").iterdir()) == []
    mirror.close()

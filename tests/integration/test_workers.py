"""Several worker processes, one truth: a write through one is seen at once through every other."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from typing import Any

import httpx

from tests.support import dists
from tests.support.client import JSON, Api, basic
from tests.support.procs import process_tree, serving_process
from tests.support.server import ServerProcess

HTML = {"Accept": "text/html"}
SIMPLE_JSON = {"Accept": "application/vnd.pypi.simple.v1+json"}
FRESH_CLIENTS = 20


def worker_pids(server: ServerProcess) -> list[int]:
    assert server.process is not None
    return process_tree(server.process.pid)[1:]


@contextmanager
def client_on_each_worker(server: ServerProcess) -> Iterator[dict[int, httpx.Client]]:
    """One open connection to every worker, found by opening fresh connections."""
    candidates = worker_pids(server)
    pinned: dict[int, httpx.Client] = {}
    others: list[httpx.Client] = []
    try:
        for _ in range(200):
            client = httpx.Client(base_url=server.url, headers=JSON, timeout=60)
            reply = client.get("/+api")
            pid = serving_process(reply, candidates)
            if pid in pinned:
                others.append(client)
            else:
                pinned[pid] = client
            if len(pinned) == server.workers:
                break
        assert len(pinned) == server.workers, "connections never reached every worker"
        yield pinned
    finally:
        for client in [*pinned.values(), *others]:
            client.close()


def simple_views(client: httpx.Client, project: str) -> tuple[str, str, str]:
    """The project's HTML and JSON pages and the project list, as this client sees them."""
    html = client.get(f"/alice/dev/+simple/{project}/", headers=HTML)
    as_json = client.get(f"/alice/dev/+simple/{project}/", headers=SIMPLE_JSON)
    listing = client.get("/alice/dev/+simple/", headers=HTML)
    return html.text, as_json.text, listing.text


def upload(client: httpx.Client, filename: str, data: bytes) -> httpx.Response:
    stem = filename.removesuffix(".whl").split("-")
    form = {":action": "file_upload", "name": stem[0], "version": stem[1]}
    return client.post(
        "/alice/dev/",
        data=form,
        files={"content": (filename, data)},
        headers=basic("alice", "secret"),
    )


def test_a_write_through_one_worker_is_seen_at_once_through_every_other(
    start_server: Callable[..., ServerProcess],
) -> None:
    server = start_server(workers=2)
    with closing(Api(server.url)) as api:
        api.create_user("alice")
        api.create_index("alice/dev")
        first, data = dists.make_wheel("shared-pkg", "1.0")
        assert api.upload("alice/dev", first, data, auth=("alice", "secret")).status_code == 200
    with client_on_each_worker(server) as pinned:
        (a, via_a), (b, via_b) = pinned.items()
        for client in (via_a, via_b):  # every worker renders and caches the pages now
            html, as_json, _ = simple_views(client, "shared-pkg")
            assert first in html
            assert first in as_json
        for version, (writer, reader) in (("2.0", (via_a, via_b)), ("3.0", (via_b, via_a))):
            filename, data = dists.make_wheel("shared-pkg", version)
            assert upload(writer, filename, data).status_code == 200
            html, as_json, _ = simple_views(reader, "shared-pkg")
            assert filename in html  # the page cached before the upload is not served stale
            assert filename in as_json
        # A new index and a new project through one worker are known to the other at once.
        created = via_a.put("/alice/fresh", json={}, headers=basic("alice", "secret"))
        assert created.status_code == 201
        assert via_b.get("/alice/fresh").status_code == 200
        new, data = dists.make_wheel("brand-new", "1.0")
        assert upload(via_b, new, data).status_code == 200
        html, _, listing = simple_views(via_a, "brand-new")
        assert new in html
        assert "brand-new" in listing

        last, data = dists.make_wheel("shared-pkg", "4.0")
        assert upload(via_a, last, data).status_code == 200
        served_by: set[int] = set()
        checked = 0
        while checked < FRESH_CLIENTS or len(served_by) < 2:
            assert checked < 200, "fresh connections never reached both workers"
            with httpx.Client(base_url=server.url, timeout=60) as fresh:
                page = fresh.get("/alice/dev/+simple/shared-pkg/", headers=HTML)
                served_by.add(serving_process(page, [a, b]))
                assert page.status_code == 200
                assert last in page.text
                json_page = fresh.get("/alice/dev/+simple/shared-pkg/", headers=SIMPLE_JSON)
                assert last in json_page.text
            checked += 1


def changelog(server: ServerProcess) -> list[tuple[int, str]]:
    uri = f"file:{server.serverdir / 'db.sqlite'}?mode=ro"
    with closing(sqlite3.connect(uri, uri=True)) as connection:
        rows = connection.execute("SELECT serial, changes FROM changelog ORDER BY serial")
        return list(rows)


def test_concurrent_uploads_through_many_connections_get_consecutive_serials(
    start_server: Callable[..., ServerProcess],
) -> None:
    server = start_server(workers=2)
    with closing(Api(server.url)) as api:
        api.create_user("alice")
        api.create_index("alice/dev")
        serial_before: int = api.http.get("/+status").json()["result"]["serial"]
    wheels = [dists.make_wheel("busy-pkg", f"1.{n}") for n in range(16)]
    replies: list[httpx.Response | BaseException] = []
    start = threading.Barrier(len(wheels))

    def send(filename: str, data: bytes) -> None:
        try:
            with httpx.Client(base_url=server.url, timeout=120) as client:
                start.wait()
                replies.append(upload(client, filename, data))
        except BaseException as error:  # checked below
            replies.append(error)

    threads = [threading.Thread(target=send, args=wheel) for wheel in wheels]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    statuses = [r.status_code if isinstance(r, httpx.Response) else repr(r) for r in replies]
    assert statuses == [200] * len(wheels), [
        r.text for r in replies if isinstance(r, httpx.Response) and r.status_code != 200
    ]
    rows = changelog(server)
    new_rows = [row for row in rows if row[0] > serial_before]
    assert [serial for serial, _ in new_rows] == list(
        range(serial_before + 1, serial_before + len(wheels) + 1)
    )
    assert [serial for serial, _ in rows] == list(range(1, len(rows) + 1))
    uploaded: list[Any] = [
        change["relpath"].rsplit("/", 1)[1]
        for _, changes in new_rows
        for change in json.loads(changes)
        if change["what"] == "file"
    ]
    assert sorted(uploaded) == sorted(filename for filename, _ in wheels)
    output = "".join(server.output)
    assert "database is locked" not in output
    assert "Traceback" not in output
    with closing(Api(server.url)) as api:
        assert api.http.get("/+status").json()["result"]["serial"] == new_rows[-1][0]
        page = api.http.get("/alice/dev/+simple/busy-pkg/", headers=HTML).text
        assert all(filename in page for filename, _ in wheels)

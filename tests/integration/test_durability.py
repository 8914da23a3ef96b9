"""Restarts and ``kill -9``: what was answered survives, what was interrupted leaves no trace."""

from __future__ import annotations

import hashlib
import socket
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from tests.support import dists
from tests.support.client import Api, basic, devpi_auth
from tests.support.server import ServerProcess
from tests.support.streams import (
    MIB,
    MULTIPART_TYPE,
    big_wheel,
    digest_of,
    multipart_upload,
    upload_fields,
)

HTML = {"Accept": "text/html"}
ANY = {"Accept": "*/*"}


def query(serverdir: Path, sql: str, *args: object) -> list[tuple[Any, ...]]:
    """Read the server's database directly, as a second process would."""
    uri = f"file:{serverdir / 'db.sqlite'}?mode=ro"
    with closing(sqlite3.connect(uri, uri=True)) as connection:
        return connection.execute(sql, args).fetchall()


def file_url(index: str, sha256: str, filename: str) -> str:
    return f"/{index}/+f/{sha256[:3]}/{sha256[3:16]}/{filename}"


def snapshot(api: Api, files: list[str]) -> dict[str, Any]:
    """Everything a client can see of users, indexes, pages and files (its port aside)."""
    seen: dict[str, Any] = {}
    for path in ("/", "/alice", "/bob", "/alice/base", "/alice/dev", "/alice/dev/hello-pkg"):
        reply = api.http.get(path)
        assert reply.status_code == 200, (path, reply.text)
        seen[path] = reply.text.replace(api.url, "SERVER")
    for path in ("/alice/dev/+simple/", "/alice/dev/+simple/hello-pkg/"):
        reply = api.http.get(path, headers=HTML)
        assert reply.status_code == 200
        seen[path] = (reply.text.replace(api.url, "SERVER"), reply.headers["etag"])
    for url in files:
        reply = api.http.get(url, headers=ANY)
        assert reply.status_code == 200, url
        seen[url] = reply.content
    status = api.http.get("/+status").json()["result"]
    seen["serial"] = status["serial"]
    seen["uuid"] = status["uuid"]
    return seen


def authstatus(api: Api, headers: dict[str, str]) -> list[Any]:
    result: list[Any] = api.http.get("/+api", headers=headers).json()["result"]["authstatus"]
    return result[:2]


def test_restart_keeps_users_indexes_files_and_tokens(
    start_server: Callable[..., ServerProcess],
) -> None:
    server = start_server(workers=2)
    with closing(Api(server.url)) as api:
        api.create_user("alice", email="alice@example.org")
        api.create_user("bob")
        api.create_index("alice/base", volatile=False)
        api.create_index("alice/dev", bases=["alice/base"], acl_upload=["alice", "bob"])
        sdist_name, sdist = dists.make_sdist("hello-pkg", "1.0")
        wheel_name, wheel = dists.make_wheel("hello-pkg", "2.0", requires_python=">=3.8")
        auth = ("alice", "secret")
        assert api.upload("alice/base", sdist_name, sdist, auth=auth).status_code == 200
        assert api.upload("alice/dev", wheel_name, wheel, auth=auth).status_code == 200
        changed = api.http.patch("/root", json={"password": "new-root"}, headers=api.as_root())
        assert changed.status_code == 200, changed.text
        root_token = api.login("root", "new-root")
        alice_token = api.login("alice", "secret")
        files = [
            file_url("alice/base", hashlib.sha256(sdist).hexdigest(), sdist_name),
            file_url("alice/dev", hashlib.sha256(wheel).hexdigest(), wheel_name),
        ]
        before = snapshot(api, files)
    assert before[files[0]] == sdist

    server.restart()  # passes --root-password root-secret again: must not reset root

    with closing(Api(server.url)) as api:
        assert snapshot(api, files) == before
        assert authstatus(api, devpi_auth("alice", alice_token)) == ["ok", "alice"]
        assert authstatus(api, basic("root", root_token)) == ["ok", "root"]
        assert authstatus(api, basic("root", "new-root")) == ["ok", "root"]
        assert authstatus(api, basic("root", "root-secret")) == ["noauth", ""]
        # A token issued before the restart still authorises writes.
        created = api.http.put("/alice/new", json={}, headers=devpi_auth("alice", alice_token))
        assert created.status_code == 201, created.text
        assert api.http.get("/+status").json()["result"]["serial"] == before["serial"] + 1


def test_answered_writes_survive_kill_9(start_server: Callable[..., ServerProcess]) -> None:
    server = start_server(workers=2)
    uploaded: dict[str, bytes] = {}
    with closing(Api(server.url)) as api:
        api.create_user("alice")
        api.create_index("alice/dev")
        for version in ("1.0", "1.1", "1.2"):
            filename, data = dists.make_wheel("kept-pkg", version)
            reply = api.upload("alice/dev", filename, data, auth=("alice", "secret"))
            assert reply.status_code == 200
            uploaded[filename] = data
        last_serial = int(reply.headers["x-devpi-serial"])
    server.kill()  # at once after the last answer

    restarted = start_server(serverdir=server.serverdir)
    with closing(Api(restarted.url)) as api:
        assert api.http.get("/+status").json()["result"]["serial"] == last_serial
        page = api.http.get("/alice/dev/+simple/kept-pkg/", headers=HTML)
        for filename, data in uploaded.items():
            assert filename in page.text
            url = file_url("alice/dev", hashlib.sha256(data).hexdigest(), filename)
            assert api.http.get(url, headers=ANY).content == data


class SlowUpload:
    """An upload whose body stops after ``pause_after`` bytes until released."""

    def __init__(self, url: str, filename: str, chunks: Callable[[], Iterator[bytes]]) -> None:
        self.url = url
        self.filename = filename
        self.chunks = chunks
        self.pause_after = 100 * MIB
        self.paused = threading.Event()
        self.release = threading.Event()
        self.outcome: httpx.Response | Exception | None = None
        self.thread = threading.Thread(target=self._run)

    def _body(self) -> Iterator[bytes]:
        sent = 0
        fields = upload_fields("half-pkg", "1.0")
        for chunk in multipart_upload(fields, self.filename, self.chunks()):
            yield chunk
            sent += len(chunk)
            if sent >= self.pause_after and not self.paused.is_set():
                self.paused.set()
                self.release.wait(timeout=120)

    def _run(self) -> None:
        try:
            self.outcome = httpx.post(
                self.url,
                content=self._body(),
                headers={"Content-Type": MULTIPART_TYPE, **basic("alice", "secret")},
                timeout=120,
            )
        except httpx.TransportError as error:
            self.outcome = error


def wait_for_partial_blob(tmpdir: Path, at_least: int) -> None:
    """Until the server has written ``at_least`` bytes of the upload to its temporary file."""
    for _ in range(1200):
        if any(path.stat().st_size >= at_least for path in tmpdir.iterdir()):
            return
        threading.Event().wait(0.05)
    raise AssertionError(f"the server never wrote {at_least} bytes to {tmpdir}")


def test_kill_9_in_the_middle_of_a_large_upload(
    start_server: Callable[..., ServerProcess],
) -> None:
    server = start_server(workers=2)
    with closing(Api(server.url)) as api:
        api.create_user("alice")
        api.create_index("alice/dev")
        serial_before = api.http.get("/+status").json()["result"]["serial"]
    filename, chunks = big_wheel("half-pkg", "1.0", payload_mib=200)
    sha256, size = digest_of(chunks())
    tmpdir = server.serverdir / "+blobs" / "tmp"

    upload = SlowUpload(f"{server.url}/alice/dev/", filename, chunks)
    upload.thread.start()
    assert upload.paused.wait(timeout=120)
    wait_for_partial_blob(tmpdir, 50 * MIB)
    server.kill()
    upload.release.set()
    upload.thread.join(timeout=120)
    assert isinstance(upload.outcome, httpx.TransportError), upload.outcome
    assert list(tmpdir.iterdir()) != []  # the interrupted write really left its temporary file

    restarted = start_server(serverdir=server.serverdir)
    url = file_url("alice/dev", sha256, filename)
    with closing(Api(restarted.url)) as api:
        assert list(tmpdir.iterdir()) == []
        assert api.http.get("/+status").json()["result"]["serial"] == serial_before
        assert api.http.get("/alice/dev/+simple/half-pkg/", headers=HTML).status_code == 404
        assert "half-pkg" not in api.http.get("/alice/dev/+simple/", headers=HTML).text
        assert api.http.get(url, headers=ANY).status_code == 404
        assert query(server.serverdir, "SELECT * FROM files WHERE filename = ?", filename) == []
        assert query(server.serverdir, "SELECT * FROM projects WHERE name = 'half-pkg'") == []
        blob = server.serverdir / "+blobs" / sha256[:2] / sha256[2:4] / sha256
        assert not blob.exists()

        again = httpx.post(
            f"{restarted.url}/alice/dev/",
            content=multipart_upload(upload_fields("half-pkg", "1.0"), filename, chunks()),
            headers={"Content-Type": MULTIPART_TYPE, **basic("alice", "secret")},
            timeout=120,
        )
        assert again.status_code == 200, again.text
        page = api.http.get("/alice/dev/+simple/half-pkg/", headers=HTML)
        assert filename in page.text
        served = hashlib.sha256()
        with api.http.stream("GET", url, headers=ANY) as download:
            assert download.status_code == 200
            for chunk in download.iter_bytes(MIB):
                served.update(chunk)
        assert served.hexdigest() == sha256
        assert int(download.headers["content-length"]) == size


def test_client_that_vanishes_mid_upload_leaves_nothing(
    start_server: Callable[..., ServerProcess],
) -> None:
    server = start_server(workers=1)
    with closing(Api(server.url)) as api:
        api.create_user("alice")
        api.create_index("alice/dev")
        serial_before = api.http.get("/+status").json()["result"]["serial"]
        filename, chunks = big_wheel("half-pkg", "1.0", payload_mib=20)
        tmpdir = server.serverdir / "+blobs" / "tmp"
        head = b"".join(multipart_upload(upload_fields("half-pkg", "1.0"), filename, chunks()))
        head = head[: 10 * MIB]
        request = (
            f"POST /alice/dev/ HTTP/1.1\r\nHost: x\r\nContent-Type: {MULTIPART_TYPE}\r\n"
            f"Content-Length: {20 * MIB}\r\n"
        ).encode()
        auth = basic("alice", "secret")["Authorization"].encode()
        address = urlsplit(server.url)
        assert address.hostname is not None
        assert address.port is not None
        with socket.create_connection((address.hostname, address.port)) as sock:
            sock.sendall(request + b"Authorization: " + auth + b"\r\n\r\n" + head)
            wait_for_partial_blob(tmpdir, 5 * MIB)
        wait_until_empty(tmpdir)
        assert api.http.get("/+status").json()["result"]["serial"] == serial_before
        assert api.http.get("/alice/dev/+simple/half-pkg/", headers=HTML).status_code == 404
    server.stop()  # so that all its output has been read
    assert "Traceback" not in "".join(server.output)


def wait_until_empty(directory: Path) -> None:
    for _ in range(1200):
        if not any(directory.iterdir()):
            return
        threading.Event().wait(0.05)
    raise AssertionError(f"{directory} still holds {list(directory.iterdir())}")

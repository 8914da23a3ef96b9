"""Listening on IPv6 (``--host ::1``) and on a unix socket (``--unix-socket PATH``)."""

from __future__ import annotations

import os
import socket
import stat
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.support.client import basic
from tests.support.server import ServerProcess

pytestmark = pytest.mark.timeout(120)


def _has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _has_ipv6_loopback(), reason="this machine has no IPv6 loopback (::1)")
def test_ipv6(start_server: Callable[..., ServerProcess]) -> None:
    server = start_server(extra_args=["--host", "::1"])
    assert server.url.startswith("http://[::1]:")
    reply = httpx.get(f"{server.url}/+api", headers={"Accept": "application/json"})
    assert reply.status_code == 200
    assert reply.json()["result"]["login"] == f"{server.url}/+login"
    with socket.create_connection(("::1", httpx.URL(server.url).port or 0)) as plain:
        assert plain.family == socket.AF_INET6


def _socket_path(tmp_path: Path) -> Path:
    return tmp_path / "s.sock"  # short: a unix socket path has at most 107 bytes


@pytest.mark.parametrize("workers", [1, 2])
def test_unix_socket(
    start_server: Callable[..., ServerProcess], tmp_path: Path, workers: int
) -> None:
    path = _socket_path(tmp_path)
    server = start_server(workers=workers, extra_args=["--unix-socket", str(path)])
    assert server.unix_socket == path
    assert any(f"serving on unix:{path} " in line for line in server.output)
    assert stat.S_ISSOCK(path.stat().st_mode)
    assert stat.S_IMODE(path.stat().st_mode) == 0o660
    with server.client(timeout=30) as http:
        assert http.put("/sock-user", json={"password": "pw"}).status_code == 201
        reply = http.put("/sock-user/dev", json={}, headers=basic("sock-user", "pw"))
        assert reply.status_code == 201
        assert http.get("/sock-user/dev/+simple/", headers={"Accept": "text/html"}).is_success
    server.stop()
    assert not path.exists()  # removed when the server stops


def test_unix_socket_replaces_a_stale_socket_file(
    start_server: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    path = _socket_path(tmp_path)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as gone:
        gone.bind(str(path))  # a server that died left its socket file behind
    assert path.exists()
    server = start_server(extra_args=["--unix-socket", str(path)])
    with server.client() as http:
        assert http.get("/+api").status_code == 200


def test_unix_socket_in_use_or_blocked_is_refused(
    start_server: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    path = _socket_path(tmp_path)
    first = start_server(extra_args=["--unix-socket", str(path)])
    with pytest.raises(RuntimeError, match=f"cannot listen on {path}: another server listens"):
        start_server(extra_args=["--unix-socket", str(path)])
    with first.client() as http:  # the first server still has its socket
        assert http.get("/+api").status_code == 200

    blocked = tmp_path / "file"
    blocked.write_text("not a socket")
    with pytest.raises(RuntimeError, match="a file that is not a socket is in the way"):
        start_server(extra_args=["--unix-socket", str(blocked)])
    assert blocked.read_text() == "not a socket"
    assert os.access(blocked, os.R_OK)

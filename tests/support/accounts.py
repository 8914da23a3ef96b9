"""Users written straight into a server directory with given password hashes, as an older
server or an import left them, and what the server then stores and says about a login."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx

from pkgdepot.app import open_store
from pkgdepot.domain.models import User
from pkgdepot.serverdir import ServerDir
from tests.support.server import ServerProcess

STAMP = "2020-01-01T00:00:00Z"


def stored_hash(serverdir: Path, name: str) -> str:
    store = open_store(ServerDir(serverdir))
    try:
        user = store.get_user(name)
        assert user is not None
        assert user.pwhash is not None
        return user.pwhash
    finally:
        store.close()


def server_with_hashes(
    start_server: Callable[..., ServerProcess], serverdir: Path, hashes: dict[str, str]
) -> ServerProcess:
    """A server on ``serverdir`` whose users (name -> password hash) were stored as given."""
    start_server(serverdir=serverdir).stop()  # an initialised server directory
    store = open_store(ServerDir(serverdir))
    try:
        with store.transaction("root") as tx:
            for name, pwhash in hashes.items():
                tx.put_user(User(name, pwhash, {"email": f"{name}@example.test"}, STAMP, STAMP))
    finally:
        store.close()
    return start_server(serverdir=serverdir)


def authstatus(server: ServerProcess, headers: dict[str, str]) -> list[object]:
    reply = httpx.get(server.url + "/+api", headers={"Accept": "application/json", **headers})
    assert reply.status_code == 200, reply.text
    status: list[object] = reply.json()["result"]["authstatus"]
    return status

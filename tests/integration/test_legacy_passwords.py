"""devpi-server's salted SHA-256 passwords (before devpi-server 5), as a devpi export brings them:
``devpi-sha256$<salt>$<hexdigest>`` logs in with the old password, once, and is then replaced
by an argon2 hash; a wrong password is refused and changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import argon2
import httpx

from pkgdepot.app import open_store
from pkgdepot.domain.models import User
from pkgdepot.serverdir import ServerDir
from tests.support.client import basic, devpi_auth
from tests.support.devpi_dump import legacy_sha256
from tests.support.server import ServerProcess

SALT = "c2FsdHNhbHRzYWx0c2FsdA=="
STAMP = "2020-01-01T00:00:00Z"


def _stored_hash(serverdir: Path, name: str) -> str | None:
    store = open_store(ServerDir(serverdir))
    try:
        user = store.get_user(name)
        assert user is not None
        return user.pwhash
    finally:
        store.close()


def _server_with_legacy_users(
    start_server: Callable[..., ServerProcess], serverdir: Path, users: dict[str, str]
) -> ServerProcess:
    start_server(serverdir=serverdir).stop()  # an initialised server directory
    store = open_store(ServerDir(serverdir))
    try:
        with store.transaction("root") as tx:
            for name, password in users.items():
                pwhash = f"devpi-sha256${SALT}${legacy_sha256(password, SALT)}"
                tx.put_user(User(name, pwhash, {"email": f"{name}@example.test"}, STAMP, STAMP))
    finally:
        store.close()
    return start_server(serverdir=serverdir)


def _authstatus(server: ServerProcess, headers: dict[str, str]) -> list[object]:
    reply = httpx.get(server.url + "/+api", headers={"Accept": "application/json", **headers})
    assert reply.status_code == 200, reply.text
    status: list[object] = reply.json()["result"]["authstatus"]
    return status


def test_login_with_a_legacy_hash_upgrades_it_to_argon2(
    start_server: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    serverdir = tmp_path / "server"
    server = _server_with_legacy_users(start_server, serverdir, {"carol": "old-pw"})
    legacy = _stored_hash(serverdir, "carol")
    assert legacy is not None
    assert legacy.startswith("devpi-sha256$")

    wrong = httpx.post(server.url + "/+login", json={"user": "carol", "password": "old-pw!"})
    assert wrong.status_code == 401
    assert wrong.json()["message"] == "user 'carol' could not be authenticated"
    assert _stored_hash(serverdir, "carol") == legacy  # a failed login changes nothing

    reply = httpx.post(server.url + "/+login", json={"user": "carol", "password": "old-pw"})
    assert reply.status_code == 200, reply.text
    token = reply.json()["result"]["password"]
    upgraded = _stored_hash(serverdir, "carol")
    assert upgraded is not None
    assert upgraded.startswith("$argon2")
    assert argon2.PasswordHasher().verify(upgraded, "old-pw")
    # the token issued at that login belongs to the new hash, so it works
    assert _authstatus(server, devpi_auth("carol", token)) == ["ok", "carol", []]
    again = httpx.post(server.url + "/+login", json={"user": "carol", "password": "old-pw"})
    assert again.status_code == 200
    assert _stored_hash(serverdir, "carol") == upgraded  # only the first login re-hashes
    user = httpx.get(server.url + "/carol", headers={"Accept": "application/json"}).json()
    assert user["result"]["email"] == "carol@example.test"
    assert user["result"]["modified"] == STAMP  # a new hash is no change of the user's


def test_basic_auth_with_a_legacy_hash_works_and_upgrades_it(
    start_server: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    serverdir = tmp_path / "server"
    server = _server_with_legacy_users(start_server, serverdir, {"dave": "dave-pw"})
    assert _authstatus(server, basic("dave", "wrong")) == ["noauth", "", []]
    assert _stored_hash(serverdir, "dave") == (
        f"devpi-sha256${SALT}${legacy_sha256('dave-pw', SALT)}"
    )
    assert _authstatus(server, basic("dave", "dave-pw")) == ["ok", "dave", []]
    upgraded = _stored_hash(serverdir, "dave")
    assert upgraded is not None
    assert upgraded.startswith("$argon2")
    assert _authstatus(server, basic("dave", "dave-pw")) == ["ok", "dave", []]

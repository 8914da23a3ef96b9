"""devpi-server's salted SHA-256 passwords (before devpi-server 5), as a devpi export brings them:
``devpi-sha256$<salt>$<hexdigest>`` logs in with the old password, once, and is then replaced
by an argon2 hash; a wrong password is refused and changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import argon2
import httpx

from tests.support.accounts import STAMP, authstatus, server_with_hashes, stored_hash
from tests.support.client import basic, devpi_auth
from tests.support.devpi_dump import legacy_sha256
from tests.support.server import ServerProcess

SALT = "c2FsdHNhbHRzYWx0c2FsdA=="


def _server_with_legacy_users(
    start_server: Callable[..., ServerProcess], serverdir: Path, users: dict[str, str]
) -> ServerProcess:
    hashes = {
        name: f"devpi-sha256${SALT}${legacy_sha256(password, SALT)}"
        for name, password in users.items()
    }
    return server_with_hashes(start_server, serverdir, hashes)


def test_login_with_a_legacy_hash_upgrades_it_to_argon2(
    start_server: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    serverdir = tmp_path / "server"
    server = _server_with_legacy_users(start_server, serverdir, {"carol": "old-pw"})
    legacy = stored_hash(serverdir, "carol")
    assert legacy is not None
    assert legacy.startswith("devpi-sha256$")

    wrong = httpx.post(server.url + "/+login", json={"user": "carol", "password": "old-pw!"})
    assert wrong.status_code == 401
    assert wrong.json()["message"] == "user 'carol' could not be authenticated"
    assert stored_hash(serverdir, "carol") == legacy  # a failed login changes nothing

    reply = httpx.post(server.url + "/+login", json={"user": "carol", "password": "old-pw"})
    assert reply.status_code == 200, reply.text
    token = reply.json()["result"]["password"]
    upgraded = stored_hash(serverdir, "carol")
    assert upgraded is not None
    assert upgraded.startswith("$argon2")
    assert argon2.PasswordHasher().verify(upgraded, "old-pw")
    # the token issued at that login belongs to the new hash, so it works
    assert authstatus(server, devpi_auth("carol", token)) == ["ok", "carol", []]
    again = httpx.post(server.url + "/+login", json={"user": "carol", "password": "old-pw"})
    assert again.status_code == 200
    assert stored_hash(serverdir, "carol") == upgraded  # only the first login re-hashes
    user = httpx.get(server.url + "/carol", headers={"Accept": "application/json"}).json()
    assert user["result"]["email"] == "carol@example.test"
    assert user["result"]["modified"] == STAMP  # a new hash is no change of the user's


def test_basic_auth_with_a_legacy_hash_works_and_upgrades_it(
    start_server: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    serverdir = tmp_path / "server"
    server = _server_with_legacy_users(start_server, serverdir, {"dave": "dave-pw"})
    assert authstatus(server, basic("dave", "wrong")) == ["noauth", "", []]
    assert stored_hash(serverdir, "dave") == (
        f"devpi-sha256${SALT}${legacy_sha256('dave-pw', SALT)}"
    )
    assert authstatus(server, basic("dave", "dave-pw")) == ["ok", "dave", []]
    upgraded = stored_hash(serverdir, "dave")
    assert upgraded is not None
    assert upgraded.startswith("$argon2")
    assert authstatus(server, basic("dave", "dave-pw")) == ["ok", "dave", []]

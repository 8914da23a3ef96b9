"""Passwords are hashed with argon2id at 7 MiB, 5 passes, 1 lane (OWASP's least-memory choice);
a hash made with other parameters (argon2-cffi's default: 64 MiB, 3 passes, 4 lanes, as older
pkgdepot servers and devpi-server made them) still logs in, and is replaced by one with ours at
that login; a wrong password changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import argon2
import httpx

from tests.support.accounts import STAMP, authstatus, server_with_hashes, stored_hash
from tests.support.client import basic, devpi_auth
from tests.support.server import ROOT_PASSWORD, ServerProcess

OURS = "$argon2id$v=19$m=7168,t=5,p=1$"
OLD_DEFAULT = "$argon2id$v=19$m=65536,t=3,p=4$"


def _server_with_old_hashes(
    start_server: Callable[..., ServerProcess], serverdir: Path, users: dict[str, str]
) -> ServerProcess:
    old = argon2.PasswordHasher(time_cost=3, memory_cost=65536, parallelism=4)
    hashes = {name: old.hash(password) for name, password in users.items()}
    for pwhash in hashes.values():
        assert pwhash.startswith(OLD_DEFAULT)
    return server_with_hashes(start_server, serverdir, hashes)


def test_new_hashes_have_the_lower_memory_parameters(
    start_server: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    serverdir = tmp_path / "server"
    server = start_server(serverdir=serverdir)
    root_hash = stored_hash(serverdir, "root")  # made by init
    assert root_hash.startswith(OURS)
    created = httpx.put(
        server.url + "/erin", json={"password": "erin-pw"}, headers=basic("root", ROOT_PASSWORD)
    )
    assert created.status_code == 201, created.text
    erin = stored_hash(serverdir, "erin")
    assert erin.startswith(OURS)
    assert argon2.PasswordHasher().verify(erin, "erin-pw")
    reply = httpx.post(server.url + "/+login", json={"user": "erin", "password": "erin-pw"})
    assert reply.status_code == 200, reply.text
    assert stored_hash(serverdir, "erin") == erin  # already ours: not hashed again
    assert stored_hash(serverdir, "root") == root_hash


def test_login_with_an_old_64_mib_hash_works_and_rehashes_it(
    start_server: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    serverdir = tmp_path / "server"
    server = _server_with_old_hashes(start_server, serverdir, {"carol": "old-pw"})
    old = stored_hash(serverdir, "carol")

    wrong = httpx.post(server.url + "/+login", json={"user": "carol", "password": "old-pw!"})
    assert wrong.status_code == 401
    assert wrong.json()["message"] == "user 'carol' could not be authenticated"
    assert stored_hash(serverdir, "carol") == old  # a failed login changes nothing

    reply = httpx.post(server.url + "/+login", json={"user": "carol", "password": "old-pw"})
    assert reply.status_code == 200, reply.text
    token = reply.json()["result"]["password"]
    new = stored_hash(serverdir, "carol")
    assert new.startswith(OURS)
    assert argon2.PasswordHasher().verify(new, "old-pw")
    # the token issued at that login belongs to the new hash, so it works
    assert authstatus(server, devpi_auth("carol", token)) == ["ok", "carol", []]
    again = httpx.post(server.url + "/+login", json={"user": "carol", "password": "old-pw"})
    assert again.status_code == 200
    assert stored_hash(serverdir, "carol") == new  # only the first login re-hashes
    user = httpx.get(server.url + "/carol", headers={"Accept": "application/json"}).json()
    assert user["result"]["modified"] == STAMP  # a new hash is no change of the user's


def test_basic_auth_with_an_old_hash_works_and_rehashes_it(
    start_server: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    serverdir = tmp_path / "server"
    server = _server_with_old_hashes(start_server, serverdir, {"dave": "dave-pw"})
    old = stored_hash(serverdir, "dave")
    assert authstatus(server, basic("dave", "wrong")) == ["noauth", "", []]
    assert stored_hash(serverdir, "dave") == old
    assert authstatus(server, basic("dave", "dave-pw")) == ["ok", "dave", []]
    new = stored_hash(serverdir, "dave")
    assert new.startswith(OURS)
    assert authstatus(server, basic("dave", "dave-pw")) == ["ok", "dave", []]
    assert stored_hash(serverdir, "dave") == new

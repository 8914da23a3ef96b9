"""``pkgdepot passwd USER`` and ``pkgdepot gen-secret`` on the directory of a running server."""

from __future__ import annotations

import base64
import os
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from pkgdepot.commands.secrets import passwd
from pkgdepot.serverdir import ServerDir
from tests.support.api_checks import assert_error, result_of
from tests.support.client import Api, devpi_auth
from tests.support.server import ServerProcess

pytestmark = pytest.mark.timeout(120)

Unique = Callable[[str], str]


def pkgdepot(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PKGDEPOT_")}
    return subprocess.run(
        [sys.executable, "-m", "pkgdepot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def authstatus(api: Api, user: str, secret: str) -> list[object]:
    reply = api.http.get("/+api", headers=devpi_auth(user, secret))
    status: list[object] = result_of(reply, "apiconfig")["authstatus"]
    return status


def login(api: Api, user: str, password: str) -> int:
    return api.http.post("/+login", json={"user": user, "password": password}).status_code


# passwd


def test_passwd_sets_the_password_and_ends_the_old_tokens_at_once(
    server: ServerProcess, api: Api, unique: Unique
) -> None:
    name = unique("pw")
    api.create_user(name, password="old-password")
    token = api.login(name, "old-password")
    assert authstatus(api, name, token) == ["ok", name, []]

    result = pkgdepot(
        "passwd", name, "--serverdir", str(server.serverdir), "--password-stdin",
        stdin="new password\n",
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert f"Password of {name!r} changed; its earlier login tokens no longer work." in (
        result.stdout
    )
    assert login(api, name, "old-password") == 401
    assert authstatus(api, name, "old-password") == ["noauth", "", []]
    assert authstatus(api, name, token) == ["noauth", "", []]
    new_token = api.login(name, "new password")
    assert authstatus(api, name, new_token) == ["ok", name, []]


def test_passwd_of_an_unknown_user_is_an_error_and_changes_nothing(
    server: ServerProcess, api: Api, unique: Unique
) -> None:
    name = unique("nobody")
    before = api.http.get("/+api").headers["x-devpi-serial"]
    result = pkgdepot(
        "passwd", name, "--serverdir", str(server.serverdir), "--password-stdin", stdin="pw\n"
    )
    assert result.returncode == 1
    assert f"Error: no user {name!r} in {server.serverdir}" in result.stderr
    assert api.http.get("/+api").headers["x-devpi-serial"] == before
    assert_error(api.http.get(f"/{name}"), 404, f"no user {name!r}")


def test_passwd_refuses_an_empty_password(server: ServerProcess, api: Api, unique: Unique) -> None:
    name = unique("empty")
    api.create_user(name)
    before = api.http.get("/+api").headers["x-devpi-serial"]
    result = pkgdepot(
        "passwd", name, "--serverdir", str(server.serverdir), "--password-stdin", stdin="\n"
    )
    assert result.returncode == 1
    assert "no password on standard input" in result.stderr
    assert api.http.get("/+api").headers["x-devpi-serial"] == before
    assert login(api, name, "secret") == 200


def test_passwd_prompts_twice_until_both_agree(
    server: ServerProcess, api: Api, unique: Unique
) -> None:
    name = unique("prompted")
    api.create_user(name)
    runner = CliRunner()
    result = runner.invoke(
        passwd,
        [name, "--serverdir", str(server.serverdir)],
        input="first\nsecond\nagreed\nagreed\n",
        env={"PKGDEPOT_CONFIG": None},
    )
    assert result.exit_code == 0, result.output
    assert result.output.count(f"New password for {name}:") == 2
    assert "do not match" in result.output
    assert "first" not in result.output  # hidden input is not echoed
    assert login(api, name, "agreed") == 200
    assert login(api, name, "secret") == 401


# gen-secret


def test_gen_secret_needs_force_then_tokens_die_with_the_restart(
    start_server: Callable[..., ServerProcess],
) -> None:
    server = start_server()
    api = Api(server.url)
    try:
        api.create_user("alice")
        token = api.login("alice", "secret")
        directory = ServerDir(server.serverdir)
        old_secret = directory.secret.read_bytes()

        refused = pkgdepot("gen-secret", "--serverdir", str(server.serverdir))
        assert refused.returncode == 1
        assert f"{directory.secret} exists; --force replaces it." in refused.stderr
        assert "stops working" in refused.stderr
        assert "until it is restarted" in refused.stderr
        assert directory.secret.read_bytes() == old_secret

        forced = pkgdepot("gen-secret", "--serverdir", str(server.serverdir), "--force")
        assert forced.returncode == 0, forced.stderr
        assert "Restart the server now" in forced.stdout
        new_secret = directory.secret.read_bytes()
        assert new_secret != old_secret
        assert len(base64.b64decode(new_secret, validate=True)) == 32
        assert stat.S_IMODE(directory.secret.stat().st_mode) == 0o600
        assert not directory.secret.with_name(".secret.tmp").exists()
        # The running server still signs with the secret it read at start-up.
        assert authstatus(api, "alice", token) == ["ok", "alice", []]

        server.restart()
        api.close()
        api = Api(server.url)
        assert authstatus(api, "alice", token) == ["noauth", "", []]
        assert authstatus(api, "alice", "secret") == ["ok", "alice", []]
        fresh = api.login("alice", "secret")
        assert authstatus(api, "alice", fresh) == ["ok", "alice", []]
    finally:
        api.close()


def test_gen_secret_refuses_a_directory_that_is_not_a_server_directory(tmp_path: Path) -> None:
    result = pkgdepot("gen-secret", "--serverdir", str(tmp_path), "--force")
    assert result.returncode == 1
    assert "is not a pkgdepot server directory" in result.stderr
    assert list(tmp_path.iterdir()) == []

"""The ``pkgdepot`` command: ``init``, ``serve``, settings from flags, environment and TOML."""

from __future__ import annotations

import os
import re
import signal
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from pkgdepot.app import open_store
from pkgdepot.serverdir import ServerDir
from tests.support.client import Api, basic
from tests.support.server import ServerProcess

SERVING = re.compile(r"serving on (http://\S+/) \((\d+) workers?\)")


def clean_env(home: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PKGDEPOT_")}
    env["HOME"] = str(home)
    env.update(extra or {})
    return env


def pkgdepot(
    home: Path, *args: str, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pkgdepot", *args],
        capture_output=True,
        text=True,
        env=clean_env(home, env),
        timeout=60,
        check=False,
    )


class Served:
    def __init__(self, url: str, workers: int, output: list[str]) -> None:
        self.url = url
        self.workers = workers
        self.output = output

    def status(self) -> dict[str, object]:
        reply = httpx.get(self.url + "+status", headers={"Accept": "application/json"})
        assert reply.status_code == 200
        result: dict[str, object] = reply.json()["result"]
        return result


@contextmanager
def serving(home: Path, *args: str, env: Mapping[str, str] | None = None) -> Iterator[Served]:
    """``pkgdepot serve`` with exactly these arguments, stopped when the block ends."""
    process = subprocess.Popen(
        [sys.executable, "-m", "pkgdepot", "serve", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=clean_env(home, env),
        start_new_session=True,
    )
    assert process.stdout is not None
    output: list[str] = []
    try:
        for line in process.stdout:
            output.append(line)
            match = SERVING.search(line)
            if match:
                served = Served(match.group(1), int(match.group(2)), output)
                wait_until_answering(served.url)
                yield served
                return
        raise AssertionError("server did not start:\n" + "".join(output))
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)
        process.stdout.close()


def wait_until_answering(url: str) -> None:
    for _ in range(600):
        try:
            if httpx.get(url + "+api", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        subprocess.run(["sleep", "0.05"], check=True)
    raise AssertionError(f"{url} never answered")


def can_log_in(url: str, user: str, password: str) -> bool:
    reply = httpx.post(url.rstrip("/") + "/+login", json={"user": user, "password": password})
    return reply.status_code == 200


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# init


def test_init_creates_root_with_a_random_password_shown_once(
    tmp_path: Path, start_server: Callable[..., ServerProcess]
) -> None:
    serverdir = tmp_path / "srv"
    result = pkgdepot(tmp_path, "init", "--serverdir", str(serverdir))
    assert result.returncode == 0, result.stderr
    match = re.search(r"Created user 'root' with password: (\S+)", result.stdout)
    assert match is not None, result.stdout
    password = match.group(1)
    assert len(password) >= 16
    password_file = serverdir / "root-password.txt"
    assert password_file.read_text().strip() == password
    assert mode(password_file) == 0o600
    secret = serverdir / ".secret"
    assert mode(secret) == 0o600
    assert len(secret.read_bytes()) >= 32
    assert mode(serverdir) == 0o700
    assert mode(serverdir / "db.sqlite") == 0o600  # password hashes: the owner's alone
    # The test server passes --root-password, which must not change an initialised directory.
    server = start_server(serverdir=serverdir)
    assert can_log_in(server.url, "root", password)
    assert not can_log_in(server.url, "root", "root-secret")
    for name in ("db.sqlite", "db.sqlite-wal", "db.sqlite-shm"):
        assert mode(serverdir / name) == 0o600, name


def test_a_database_others_can_read_is_made_private_at_start(
    tmp_path: Path, start_server: Callable[..., ServerProcess]
) -> None:
    serverdir = tmp_path / "srv"
    assert pkgdepot(tmp_path, "init", "--serverdir", str(serverdir)).returncode == 0
    (serverdir / "db.sqlite").chmod(0o644)  # as servers before this check made it
    start_server(serverdir=serverdir)
    for name in ("db.sqlite", "db.sqlite-wal", "db.sqlite-shm"):
        assert mode(serverdir / name) == 0o600, name


def test_two_inits_make_different_passwords_and_secrets(tmp_path: Path) -> None:
    for name in ("a", "b"):
        assert pkgdepot(tmp_path, "init", "--serverdir", str(tmp_path / name)).returncode == 0
    assert (tmp_path / "a/root-password.txt").read_text() != (
        tmp_path / "b/root-password.txt"
    ).read_text()
    assert (tmp_path / "a/.secret").read_bytes() != (tmp_path / "b/.secret").read_bytes()


def test_init_with_given_password_writes_no_password_file(
    tmp_path: Path, start_server: Callable[..., ServerProcess]
) -> None:
    serverdir = tmp_path / "srv"
    result = pkgdepot(tmp_path, "init", "--serverdir", str(serverdir), "--root-password", "Gv-9x7q")
    assert result.returncode == 0, result.stderr
    assert "Gv-9x7q" not in result.stdout
    assert "password:" not in result.stdout
    assert not (serverdir / "root-password.txt").exists()
    server = start_server(serverdir=serverdir)
    assert can_log_in(server.url, "root", "Gv-9x7q")


def test_init_again_changes_nothing(tmp_path: Path) -> None:
    serverdir = tmp_path / "srv"
    assert pkgdepot(tmp_path, "init", "--serverdir", str(serverdir)).returncode == 0
    before = {p.name: p.read_bytes() for p in serverdir.iterdir() if p.is_file()}
    again = pkgdepot(tmp_path, "init", "--serverdir", str(serverdir), "--root-password", "other")
    assert again.returncode == 0, again.stderr
    assert "password" not in again.stdout
    assert "already initialised" in again.stdout
    after = {p.name: p.read_bytes() for p in serverdir.iterdir() if p.is_file()}
    for name in (".secret", ".pkgdepot.json", "root-password.txt"):
        assert after[name] == before[name]
    store = open_store(ServerDir(serverdir))
    try:
        assert store.schema_is_current()
        assert [user.name for user in store.list_users()] == ["root"]
        assert list(store.all_indexes()) == ["root/pypi"]
        assert store.sync_serial() == 2  # root, then root/pypi
    finally:
        store.close()


def test_secret_and_tokens_persist_across_serves(
    tmp_path: Path, start_server: Callable[..., ServerProcess]
) -> None:
    serverdir = tmp_path / "srv"
    first = start_server(serverdir=serverdir)
    secret = (serverdir / ".secret").read_bytes()
    api = Api(first.url)
    token = api.login("root", "root-secret")
    api.close()
    first.stop()
    second = start_server(serverdir=serverdir)
    assert (serverdir / ".secret").read_bytes() == secret
    reply = httpx.get(
        second.url + "/+api", headers={"Accept": "application/json", **basic("root", token)}
    )
    assert reply.json()["result"]["authstatus"][:2] == ["ok", "root"]


# serve on a new or a foreign directory


def test_serve_initialises_an_empty_directory(tmp_path: Path) -> None:
    serverdir = tmp_path / "empty"
    serverdir.mkdir()
    with serving(
        tmp_path, "--serverdir", str(serverdir), "--port", "0", "--host", "127.0.0.1"
    ) as s:
        text = "".join(s.output)
        match = re.search(r"Created user 'root' with password: (\S+)", text)
        assert match is not None, text
        assert (serverdir / "root-password.txt").read_text().strip() == match.group(1)
        assert can_log_in(s.url, "root", match.group(1))
        assert s.status()["serverdir"] == str(serverdir)
    with serving(
        tmp_path, "--serverdir", str(serverdir), "--port", "0", "--host", "127.0.0.1"
    ) as s:
        assert "password" not in "".join(s.output)  # shown once only


@pytest.mark.parametrize("foreign", ["notes.txt", ".git"])
def test_serve_refuses_a_directory_that_holds_something_else(tmp_path: Path, foreign: str) -> None:
    serverdir = tmp_path / "busy"
    serverdir.mkdir()
    (serverdir / foreign).write_text("mine")
    result = pkgdepot(tmp_path, "serve", "--serverdir", str(serverdir), "--port", "0")
    assert result.returncode != 0
    assert f"{serverdir} is not empty and not a pkgdepot server directory" in result.stderr
    assert foreign in result.stderr
    assert "Traceback" not in result.stderr
    assert [p.name for p in serverdir.iterdir()] == [foreign]


def test_serve_refuses_a_file_as_server_directory(tmp_path: Path) -> None:
    target = tmp_path / "a-file"
    target.write_text("x")
    result = pkgdepot(tmp_path, "init", "--serverdir", str(target))
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert str(target) in result.stderr
    assert target.read_text() == "x"


# settings from every source


def test_settings_precedence_through_the_command(tmp_path: Path) -> None:
    config = tmp_path / "pkgdepot.toml"
    config.write_text(
        f'serverdir = "{tmp_path / "from-file"}"\nhost = "127.0.0.1"\nport = 0\n'
        'workers = 1\nmax_upload_size = 1000\nroot_password = "file-pw"\ntoken_expiry = 100\n'
    )
    with serving(tmp_path, "--config", str(config)) as s:
        assert s.workers == 1
        assert token_expiry(s.url) == 100
        assert s.status()["serverdir"] == str(tmp_path / "from-file")
        assert can_log_in(s.url, "root", "file-pw")
        create = httpx.put(s.url + "root/dev", json={}, headers=ROOT_JSON)
        assert create.status_code == 201, create.text
        assert upload_limit(s.url) == 1000
    env = {"PKGDEPOT_CONFIG": str(config), "PKGDEPOT_WORKERS": "2", "PKGDEPOT_TOKEN_EXPIRY": "200"}
    env["PKGDEPOT_MAX_UPLOAD_SIZE"] = "2000"
    with serving(tmp_path, env=env) as s:
        assert s.workers == 2  # the environment beats the file
        assert s.status()["workers"] == 2
        assert upload_limit(s.url) == 2000
        assert token_expiry(s.url) == 200
    args = ("--workers", "1", "--max-upload-size", "3000", "--token-expiry", "300")
    with serving(tmp_path, *args, env=env) as s:
        assert s.workers == 1  # the command line beats both
        assert upload_limit(s.url) == 3000
        assert token_expiry(s.url) == 300


def token_expiry(url: str) -> int:
    reply = httpx.post(url + "+login", json={"user": "root", "password": "file-pw"})
    assert reply.status_code == 200, reply.text
    expiry: int = reply.json()["result"]["expiration"]
    return expiry


ROOT_JSON = {**basic("root", "file-pw"), "Accept": "application/json"}


def upload_limit(url: str) -> int:
    """The limit a server applies, found by posting bodies around the expected sizes."""
    headers = {**ROOT_JSON, "Content-Type": "multipart/form-data; boundary=b"}
    for limit in (1000, 2000, 3000):
        at_limit = httpx.post(url + "root/dev/", content=b"x" * limit, headers=headers)
        beyond = httpx.post(url + "root/dev/", content=b"x" * (limit + 1), headers=headers)
        if beyond.status_code == 413:
            assert at_limit.status_code == 400, at_limit.text  # not multipart, but not too large
            return limit
    raise AssertionError("no limit found")


def test_default_workers_is_half_the_cores_at_least_one_at_most_four(tmp_path: Path) -> None:
    expected = max(1, min(len(os.sched_getaffinity(0)) // 2, 4))
    with serving(
        tmp_path, "--serverdir", str(tmp_path / "s"), "--port", "0", "--host", "127.0.0.1"
    ) as s:
        assert s.workers == expected
        assert s.status()["workers"] == expected


def assert_refused_before_anything_happens(
    tmp_path: Path, command: str, args: list[str], env: dict[str, str], toml: str, message: str
) -> None:
    serverdir = tmp_path / "srv"
    env = {**env, "PKGDEPOT_SERVERDIR": str(serverdir)}
    if toml:
        (tmp_path / "c.toml").write_text(toml)
        env["PKGDEPOT_CONFIG"] = str(tmp_path / "c.toml")
    result = pkgdepot(tmp_path, command, *args, env=env)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert not serverdir.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--port", "abc"], "Invalid value for '--port': 'abc' is not a valid integer"),
        (["--workers", "0"], "workers must be at least 1, not 0"),
        (["--workers", "-3"], "workers must be at least 1, not -3"),
        (["--port", "70000"], "port must be between 0 and 65535, not 70000"),
        (["--log-level", "loud"], "log_level must be debug, info, warning or error"),
        (["--colour", "blue"], "No such option '--colour'"),
    ],
)
def test_bad_flags_are_refused(tmp_path: Path, args: list[str], message: str) -> None:
    assert_refused_before_anything_happens(tmp_path, "serve", args, {}, "", message)


@pytest.mark.parametrize(
    ("env", "toml", "message"),
    [
        ({"PKGDEPOT_PORT": "abc"}, "", "PKGDEPOT_PORT: port must be an integer, not 'abc'"),
        ({"PKGDEPOT_WORKERS": "0"}, "", "workers must be at least 1, not 0"),
        ({"PKGDEPOT_COLOUR": "blue"}, "", "unknown setting(s): PKGDEPOT_COLOUR"),
        ({}, "colour = 'blue'\n", "unknown setting(s): colour"),
        ({}, "port = 'abc'\n", "port must be an integer, not 'abc'"),
        ({}, "workers = 0\n", "workers must be at least 1, not 0"),
        ({}, "port = [\n", "is not valid TOML"),
    ],
)
@pytest.mark.parametrize("command", ["serve", "init"])
def test_bad_environment_or_file_is_refused(
    tmp_path: Path, command: str, env: dict[str, str], toml: str, message: str
) -> None:
    assert_refused_before_anything_happens(tmp_path, command, [], env, toml, message)


def test_missing_config_file_is_refused(tmp_path: Path) -> None:
    result = pkgdepot(tmp_path, "serve", "--config", str(tmp_path / "nope.toml"))
    assert result.returncode != 0
    assert "nope.toml" in result.stderr
    via_env = pkgdepot(tmp_path, "serve", env={"PKGDEPOT_CONFIG": str(tmp_path / "nope.toml")})
    assert via_env.returncode != 0
    assert "cannot read config file" in via_env.stderr


@pytest.mark.parametrize(
    ("command", "flags"),
    [
        ([], ["init", "serve", "--version"]),
        (["init"], ["--serverdir", "--root-password", "--config"]),
        (
            ["serve"],
            [
                "--serverdir",
                "--host",
                "--port",
                "--workers",
                "--root-password",
                "--max-upload-size",
                "--restrict-modify",
                "--token-expiry",
                "--log-level",
                "--config",
                "PKGDEPOT_PORT",
            ],
        ),
    ],
)
def test_help(tmp_path: Path, command: list[str], flags: list[str]) -> None:
    result = pkgdepot(tmp_path, *command, "--help")
    assert result.returncode == 0, result.stderr
    for flag in flags:
        assert flag in result.stdout
    assert not (tmp_path / ".pkgdepot").exists()


def test_version(tmp_path: Path) -> None:
    from pkgdepot import __version__

    result = pkgdepot(tmp_path, "--version")
    assert result.returncode == 0
    assert __version__ in result.stdout

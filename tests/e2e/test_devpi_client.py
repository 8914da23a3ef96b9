"""The real ``devpi`` command against a real server, through every command its users rely on.

The server's root/pypi mirrors a fake upstream that holds real setuptools wheels, so that
``devpi upload`` builds in an isolated environment and ``devpi test`` runs tox, both offline.
Each test works as its own users on one server; the project is built by ``devpi upload``.
"""

from __future__ import annotations

import dataclasses
import io
import itertools
import json
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import BIN, isolated_environment
from tests.support.fake_pages import FakeFile
from tests.support.fake_upstream import FakeUpstream
from tests.support.server import ROOT_PASSWORD, ServerProcess

pytestmark = pytest.mark.e2e

SEED_WHEELS = Path(sys.executable).parent.parent.joinpath(
    "lib", f"python{sys.version_info.major}.{sys.version_info.minor}", "site-packages",
    "virtualenv", "seed", "wheels", "embed",
)  # fmt: skip
JSON = {"Accept": "application/json"}
_names = itertools.count()


@dataclasses.dataclass
class Devpi:
    """Runs ``devpi`` as one person: their own home, client state and working directory."""

    home: Path
    env: dict[str, str]
    server: ServerProcess

    def run(self, *args: str | Path, stdin: str = "", cwd: Path | None = None) -> Run:
        done = subprocess.run(
            [str(BIN / "devpi"), *map(str, args)],
            env=self.env,
            cwd=cwd or self.home,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
        )
        return Run([str(a) for a in args], done.returncode, done.stdout + done.stderr)

    def ok(self, *args: str | Path, stdin: str = "", cwd: Path | None = None) -> str:
        done = self.run(*args, stdin=stdin, cwd=cwd)
        assert done.code == 0, f"devpi {' '.join(done.args)} failed:\n{done.output}"
        return done.output

    def fails(self, *args: str | Path, stdin: str = "", cwd: Path | None = None) -> str:
        done = self.run(*args, stdin=stdin, cwd=cwd)
        assert done.code != 0, f"devpi {' '.join(done.args)} should fail:\n{done.output}"
        return done.output

    def login(self, user: str, password: str) -> None:
        self.ok("use", self.server.url)
        assert f"logged in '{user}'" in self.ok("login", user, "--password", password)


@dataclasses.dataclass(frozen=True)
class Run:
    args: list[str]
    code: int
    output: str


@dataclasses.dataclass
class Scenario:
    server: ServerProcess
    upstream: FakeUpstream
    root: Path
    http: httpx.Client

    def devpi(self, who: str) -> Devpi:
        home = self.root / f"home-{who}"
        home.mkdir(exist_ok=True)
        env = isolated_environment(home)
        # `devpi upload` builds in an isolated environment, whose pip asks our mirror.
        env["PIP_INDEX_URL"] = f"{self.server.url}/root/pypi/+simple/"
        env["PIP_CONFIG_FILE"] = "/dev/null"
        env["PATH"] = f"{BIN}:{env.get('PATH', '')}"
        return Devpi(home, env, self.server)

    def get_json(self, path: str, **params: str) -> Any:
        reply = self.http.get(path, headers=JSON, params=params)
        assert reply.status_code == 200, (path, reply.status_code, reply.text)
        return reply.json()["result"]

    def serial(self) -> int:
        return int(self.http.get("/+api").headers["X-Devpi-Serial"])

    def person(self, prefix: str) -> tuple[str, Devpi]:
        """A new user with a ``dev`` index on top of root/pypi, logged in and using it."""
        user = f"{prefix}{next(_names)}"
        devpi = self.devpi(user)
        devpi.ok("use", self.server.url)
        devpi.ok("user", "-c", user, f"password={user}-pw", f"email={user}@example.test")
        devpi.login(user, f"{user}-pw")
        devpi.ok("index", "-c", "dev", "bases=root/pypi")
        devpi.ok("use", f"{user}/dev")
        return user, devpi


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    root = tmp_path_factory.mktemp("devpi-client")
    upstream = FakeUpstream("json").start()
    for wheel in sorted(SEED_WHEELS.glob("setuptools-*.whl")):
        upstream.add_file("setuptools", FakeFile(wheel.name, wheel.read_bytes(), ">=3.9", False))
    server = ServerProcess(
        root / "server", extra_args=["--mirror-url", upstream.url, "--workers", "1"]
    ).start()
    http = httpx.Client(base_url=server.url, timeout=60)
    try:
        yield Scenario(server, upstream, root, http)
    finally:
        http.close()
        server.stop()
        upstream.stop()


def write_project(directory: Path, name: str, version: str, *, docs_title: str = "") -> Path:
    """A setuptools project with a tox.ini in its sdist and Sphinx docs, as users have them."""
    package = name.replace("-", "_")
    (directory / "src" / package).mkdir(parents=True, exist_ok=True)
    (directory / "docs").mkdir(exist_ok=True)
    (directory / "pyproject.toml").write_text(
        "[build-system]\n"
        'requires = ["setuptools>=70"]\n'
        'build-backend = "setuptools.build_meta"\n\n'
        "[project]\n"
        f'name = "{name}"\n'
        f'version = "{version}"\n'
        'description = "Uploaded by devpi"\n'
        'requires-python = ">=3.9"\n'
    )
    (directory / "src" / package / "__init__.py").write_text(f'VERSION = "{version}"\n')
    (directory / "MANIFEST.in").write_text("include tox.ini\n")
    (directory / "tox.ini").write_text(
        "[tox]\nenvlist = py\n\n[testenv]\n"
        f"commands = python -c \"import {package}; assert {package}.VERSION == '{version}'\"\n"
    )
    (directory / "docs" / "conf.py").write_text(f'project = "{name}"\n')
    title = docs_title or f"{name} {version} docs"
    (directory / "docs" / "index.rst").write_text(f"{title}\n{'=' * len(title)}\n\nHello.\n")
    return directory


def doc_zip(title: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.html", f"<h1>{title}</h1>")
    return buffer.getvalue()


# ---- use, login, logoff, user, passwd --------------------------------------------------------


def test_use_shows_the_server_and_its_indexes(scenario: Scenario) -> None:
    devpi = scenario.devpi("newcomer")
    output = devpi.ok("use", scenario.server.url)
    assert f"using server: {scenario.server.url}/ (not logged in)" in output
    listed = devpi.ok("use", "-l")
    assert "root/pypi" in listed
    assert "volatile=False" in listed
    missing = devpi.fails("use", f"{scenario.server.url}/nobody/nothing")
    assert "nobody/nothing" in missing
    assert "404" in missing or "not found" in missing.lower()


def test_login_logoff_and_wrong_password(scenario: Scenario) -> None:
    devpi = scenario.devpi("login")
    devpi.ok("use", scenario.server.url)
    wrong = devpi.fails("login", "root", "--password", "not-the-password")
    assert "401" in wrong
    assert "could not be authenticated" in wrong
    devpi.login("root", ROOT_PASSWORD)
    assert "logged in as root" in devpi.ok("use")
    assert "login information deleted" in devpi.ok("logoff")
    assert "not logged in" in devpi.ok("use")


def test_user_create_modify_list_passwd_delete(scenario: Scenario) -> None:
    user = f"carol{next(_names)}"
    devpi = scenario.devpi(user)
    devpi.ok("use", scenario.server.url)
    assert f"user created: {user}" in devpi.ok(
        "user", "-c", user, "password=first-pw", "email=c@example.test"
    )
    assert user in devpi.ok("user", "-l").split()
    taken = devpi.fails("user", "-c", user, "password=other")
    assert "409" in taken
    assert user in taken
    devpi.login(user, "first-pw")
    assert f"user modified: {user}" in devpi.ok("user", "-m", user, "email=new@example.test")
    assert scenario.get_json(f"/{user}")["email"] == "new@example.test"
    assert json.loads(devpi.ok("getjson", f"/{user}"))["result"]["email"] == "new@example.test"

    devpi.ok("passwd", user, stdin="second-pw\nsecond-pw\n")
    assert "401" in devpi.fails("login", user, "--password", "first-pw")
    devpi.login(user, "second-pw")

    other = scenario.devpi(f"{user}-other")
    other.login("root", ROOT_PASSWORD)
    refused = devpi.fails("user", "-m", "root", "email=mine@example.test")
    assert "403" in refused
    assert "root" in scenario.get_json("/root")["username"]

    deleted = f"dave{next(_names)}"
    other.ok("user", "-c", deleted, "password=pw")
    other.ok("user", "--delete", "-y", deleted)
    assert deleted not in other.ok("user", "-l").split()
    assert scenario.http.get(f"/{deleted}", headers=JSON).status_code == 404


# ---- index -----------------------------------------------------------------------------------


def test_index_create_list_modify_delete(scenario: Scenario) -> None:
    user, devpi = scenario.person("ian")
    created = devpi.ok("index", "-c", "prod", "volatile=False", "acl_upload=" + user)
    assert "volatile=False" in created
    listed = devpi.ok("index", "-l").split()
    assert f"{user}/dev" in listed
    assert f"{user}/prod" in listed

    devpi.ok("index", f"{user}/dev", "acl_upload+=root")
    assert scenario.get_json(f"/{user}/dev")["acl_upload"] == [user, "root"]
    devpi.ok("index", f"{user}/dev", "acl_upload-=root")
    assert scenario.get_json(f"/{user}/dev")["acl_upload"] == [user]
    devpi.ok("index", f"{user}/dev", "mirror_whitelist=hello-pkg,other")
    assert scenario.get_json(f"/{user}/dev")["mirror_whitelist"] == ["hello-pkg", "other"]
    shown = devpi.ok("index", f"{user}/dev")
    assert "bases=root/pypi" in shown

    before = scenario.get_json(f"/{user}/dev")
    bad = devpi.fails("index", f"{user}/dev", "volatile=maybe")
    assert "400" in bad
    assert scenario.get_json(f"/{user}/dev") == before
    assert devpi.run("index", f"{user}/nothing").code == 1  # the client shows a 404 quietly

    devpi.ok("index", "-c", "scratch")
    devpi.ok("index", "--delete", "-y", f"{user}/scratch")
    assert f"{user}/scratch" not in devpi.ok("index", "-l").split()
    assert scenario.http.get(f"/{user}/scratch", headers=JSON).status_code == 404

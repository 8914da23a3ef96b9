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
import tarfile
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
JSON_SIMPLE = {"Accept": "application/vnd.pypi.simple.v1+json"}
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
        'requires = ["setuptools>=61"]\n'
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


# ---- upload, list, test, docs, install --------------------------------------------------------


@dataclasses.dataclass
class Released:
    """hello-pkg 1.0 uploaded with its docs by ``devpi upload --with-docs``, then tested."""

    user: str
    devpi: Devpi
    project: Path
    upload_output: str
    test_output: str

    @property
    def dev(self) -> str:
        return f"{self.user}/dev"

    @property
    def prod(self) -> str:
        return f"{self.user}/prod"


@pytest.fixture(scope="module")
def released(scenario: Scenario) -> Released:
    user, devpi = scenario.person("alice")
    devpi.ok("index", "-c", "prod", "volatile=False")
    project = write_project(scenario.root / f"{user}-project", "hello-pkg", "1.0")
    uploaded = devpi.ok("upload", "--with-docs", cwd=project)
    tested = devpi.ok("test", "hello-pkg")
    return Released(user, devpi, project, uploaded, tested)


def release_links(scenario: Scenario, index: str, version: str, rel: str) -> list[dict[str, Any]]:
    data = scenario.get_json(f"/{index}/hello-pkg/{version}")
    return [link for link in data["+links"] if link["rel"] == rel]


def test_upload_builds_and_stores_sdist_wheel_and_docs(
    scenario: Scenario, released: Released
) -> None:
    output = released.upload_output
    for filename in ("hello_pkg-1.0-py3-none-any.whl", "hello_pkg-1.0.tar.gz"):
        assert f"file_upload of {filename} to {scenario.server.url}/{released.dev}/" in output
    assert "doc_upload of hello-pkg-1.0.doc.zip" in output
    built = {path.name: path for path in (released.project / "dist").iterdir()}
    for link in release_links(scenario, released.dev, "1.0", "releasefile"):
        filename = link["href"].rsplit("/", 1)[1]
        assert scenario.http.get(link["href"]).content == built[filename].read_bytes()
    assert len(release_links(scenario, released.dev, "1.0", "doczip")) == 1
    page = scenario.http.get(f"/{released.dev}/+simple/hello-pkg/").text
    assert "hello_pkg-1.0.tar.gz" in page
    assert "doc.zip" not in page


def test_docs_are_served_unpacked_after_upload(scenario: Scenario, released: Released) -> None:
    for version in ("1.0", "latest", "stable"):
        page = scenario.http.get(f"/{released.dev}/hello-pkg/{version}/+doc/index.html")
        assert page.status_code == 200, (version, page.text)
        assert "hello-pkg 1.0 docs" in page.text
        assert page.headers["content-type"].startswith("text/html")
    redirect = scenario.http.get(f"/{released.dev}/hello-pkg/1.0/+doc/")
    assert redirect.status_code == 302
    assert redirect.headers["location"].endswith("/hello-pkg/1.0/+doc/index.html")


def test_list_shows_projects_versions_and_files(scenario: Scenario, released: Released) -> None:
    devpi = released.devpi
    assert "hello-pkg" in devpi.ok("list").split()
    files = devpi.ok("list", "hello-pkg")
    base = f"{scenario.server.url}/{released.dev}/+f/"
    assert files.count(base) == 2
    assert "hello_pkg-1.0-py3-none-any.whl" in files
    assert "hello_pkg-1.0.tar.gz" in files
    assert "hello-pkg==1.0" in devpi.ok("list", "-v", "--all")
    mirrored = devpi.ok("list", "setuptools")
    assert "/root/pypi/+f/" in mirrored
    assert "/root/pypi/" not in devpi.ok("list", "--ignore-bases", "hello-pkg")


def test_devpi_test_runs_tox_and_the_result_is_listed(
    scenario: Scenario, released: Released
) -> None:
    output = released.test_output
    assert "congratulations" in output
    assert f"posting tox result data to {scenario.server.url}/{released.dev}/+f/" in output
    results = release_links(scenario, released.dev, "1.0", "toxresult")
    assert len(results) == 1
    assert results[0]["for_href"].endswith("hello_pkg-1.0.tar.gz")
    listed = released.devpi.ok("list", "-t", "hello-pkg")
    assert "tests passed" in listed
    assert " py " in listed


def test_install_into_a_fresh_venv(scenario: Scenario, released: Released) -> None:
    venv = scenario.root / f"{released.user}-venv"
    subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    output = released.devpi.ok("install", "--venv", venv, "hello-pkg")
    assert "Successfully installed hello-pkg-1.0" in output
    shown = subprocess.run(
        [venv / "bin" / "python", "-c", "import hello_pkg; print(hello_pkg.VERSION)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert shown.stdout.strip() == "1.0"


def test_refresh_and_getjson(scenario: Scenario, released: Released) -> None:
    before = len(scenario.upstream.requests_for("/simple/setuptools/"))
    assert "Refreshed setuptools" in released.devpi.ok("refresh", "setuptools")
    scenario.http.get(f"/{released.dev}/+simple/setuptools/")
    assert len(scenario.upstream.requests_for("/simple/setuptools/")) > before
    data = json.loads(released.devpi.ok("getjson", f"/{released.dev}"))
    assert data["type"] == "indexconfig"
    assert "hello-pkg" in data["result"]["projects"]


# ---- push ------------------------------------------------------------------------------------


def test_push_to_another_index_with_docs_and_tox_results(
    scenario: Scenario, released: Released
) -> None:
    output = released.devpi.ok("push", "hello-pkg==1.0", released.prod)
    assert f"200 register hello-pkg 1.0 -> {released.prod}" in output
    assert output.count("200 store_releasefile") == 2
    assert "200 store_toxresult" in output
    assert f"200 store_doczip hello-pkg 1.0 -> {released.prod}" in output

    source = {
        link["hash_spec"] for link in release_links(scenario, released.dev, "1.0", "releasefile")
    }
    pushed = release_links(scenario, released.prod, "1.0", "releasefile")
    assert {link["hash_spec"] for link in pushed} == source
    for link in pushed:
        assert link["href"].startswith(f"{scenario.server.url}/{released.prod}/+f/")
        assert [entry["what"] for entry in link["log"]] == ["upload", "push"]
        assert link["log"][-1]["src"] == released.dev
        assert scenario.http.get(link["href"]).status_code == 200
    docs = scenario.http.get(f"/{released.prod}/hello-pkg/latest/+doc/index.html")
    assert docs.status_code == 200
    assert "hello-pkg 1.0 docs" in docs.text
    assert "tests passed" in released.devpi.ok("list", "-t", "--index", released.prod, "hello-pkg")

    # The same release again: identical files on a non-volatile index are fine.
    assert "Failure" not in released.devpi.ok("push", "hello-pkg==1.0", released.prod)


def test_push_without_docs_then_only_docs(scenario: Scenario, released: Released) -> None:
    devpi = released.devpi
    devpi.ok("index", "-c", "nodocs")
    target = f"{released.user}/nodocs"
    output = devpi.ok("push", "--no-docs", "hello-pkg==1.0", target)
    assert "store_doczip" not in output
    assert len(release_links(scenario, target, "1.0", "releasefile")) == 2
    assert scenario.http.get(f"/{target}/hello-pkg/1.0/+doc/index.html").status_code == 404
    output = devpi.ok("push", "--only-docs", "hello-pkg==1.0", target)
    assert "store_releasefile" not in output
    assert f"200 store_doczip hello-pkg 1.0 -> {target}" in output
    assert (
        "hello-pkg 1.0 docs" in scenario.http.get(f"/{target}/hello-pkg/1.0/+doc/index.html").text
    )


def test_push_failures_change_nothing(scenario: Scenario, released: Released) -> None:
    devpi = released.devpi
    missing = devpi.fails("push", "hello-pkg==1.0", f"{released.user}/nothing")
    assert f"{released.user}/nothing" in missing
    no_release = devpi.fails("push", "hello-pkg==9.9", released.prod)
    assert "there are no files for hello-pkg 9.9" in no_release

    intruder, other = scenario.person("mallory")
    other.ok("use", released.dev)
    serial = scenario.serial()
    refused = other.fails("push", "hello-pkg==1.0", released.prod)
    assert f"user '{intruder}' cannot upload to '{released.prod}'" in refused
    assert scenario.serial() == serial

    # 1.1 reaches prod; then it is rebuilt with other bytes, which prod must refuse.
    project = write_project(scenario.root / f"{released.user}-v11", "hello-pkg", "1.1")
    devpi.ok("upload", "--sdist", cwd=project)
    devpi.ok("push", "hello-pkg==1.1", released.prod)
    before = scenario.get_json(f"/{released.prod}/hello-pkg/1.1")
    (project / "src" / "hello_pkg" / "extra.py").write_text("CHANGED = True\n")
    devpi.ok("upload", "--sdist", cwd=project)
    conflict = devpi.fails("push", "hello-pkg==1.1", released.prod)
    assert "409" in conflict
    assert "hello_pkg-1.1.tar.gz already exists in non-volatile index" in conflict
    assert scenario.get_json(f"/{released.prod}/hello-pkg/1.1") == before


def test_push_to_an_external_repository(scenario: Scenario, released: Released) -> None:
    """pypi:NAME from .pypirc; here another index of the same server, which must not deadlock."""
    devpi = released.devpi
    devpi.ok("index", "-c", "ext", "volatile=False")
    (devpi.home / ".pypirc").write_text(
        "[distutils]\nindex-servers = ext\n\n"
        f"[ext]\nrepository = {scenario.server.url}/{released.user}/ext/\n"
        f"username = {released.user}\npassword = {released.user}-pw\n"
    )
    output = devpi.ok("push", "hello-pkg==1.0", "pypi:ext")
    assert output.count("200 upload") == 2
    assert "200 docfile hello-pkg" in output or "200 doc_upload" in output
    pushed = release_links(scenario, f"{released.user}/ext", "1.0", "releasefile")
    source = release_links(scenario, released.dev, "1.0", "releasefile")
    assert {link["hash_spec"] for link in pushed} == {link["hash_spec"] for link in source}
    docs = scenario.http.get(f"/{released.user}/ext/hello-pkg/1.0/+doc/index.html")
    assert "hello-pkg 1.0 docs" in docs.text

    (devpi.home / ".pypirc").write_text(
        "[distutils]\nindex-servers = ext\n\n"
        f"[ext]\nrepository = {scenario.server.url}/{released.user}/ext/\n"
        f"username = {released.user}\npassword = wrong\n"
    )
    refused = devpi.fails("push", "hello-pkg==1.0", "pypi:ext")
    assert "401" in refused
    assert "Failure during upload" in refused


# ---- upload failures, remove -------------------------------------------------------------------


def test_upload_failures(scenario: Scenario, released: Released) -> None:
    dist = released.project / "dist"
    _, other = scenario.person("eve")
    serial = scenario.serial()
    forbidden = other.fails("upload", "--index", released.dev, "--from-dir", dist)
    assert "403" in forbidden
    assert f"no permission to submit to {released.dev}" in forbidden

    other.ok("logoff")
    anonymous = other.fails("upload", "--index", released.dev, "--from-dir", dist)
    assert "401" in anonymous
    assert scenario.serial() == serial

    released.devpi.ok("upload", "--index", released.prod, "--from-dir", dist)
    project = write_project(scenario.root / f"{released.user}-rebuilt", "hello-pkg", "1.0")
    (project / "src" / "hello_pkg" / "extra.py").write_text("CHANGED = True\n")
    before = scenario.get_json(f"/{released.prod}/hello-pkg/1.0")
    conflict = released.devpi.fails("upload", "--sdist", "--index", released.prod, cwd=project)
    assert "409" in conflict
    assert "hello_pkg-1.0.tar.gz already exists in non-volatile index" in conflict
    assert scenario.get_json(f"/{released.prod}/hello-pkg/1.0") == before


def test_remove_version_file_and_project(scenario: Scenario, released: Released) -> None:
    user, devpi = scenario.person("rita")
    devpi.ok("index", "-c", "keep", "volatile=False")
    project = write_project(scenario.root / f"{user}-project", "rm-pkg", "1.0")
    devpi.ok("upload", cwd=project)
    write_project(project, "rm-pkg", "2.0")
    devpi.ok("upload", cwd=project)
    dev = f"{user}/dev"
    assert sorted(scenario.get_json(f"/{dev}/rm-pkg")) == ["1.0", "2.0"]

    devpi.ok("remove", "-y", "rm-pkg==1.0")
    assert sorted(scenario.get_json(f"/{dev}/rm-pkg")) == ["2.0"]
    wheel = next(
        link["href"]
        for link in scenario.get_json(f"/{dev}/rm-pkg/2.0")["+links"]
        if link["href"].endswith(".whl")
    )
    devpi.ok("remove", "-y", wheel)
    assert scenario.http.get(wheel).status_code == 410
    left = scenario.get_json(f"/{dev}/rm-pkg/2.0")["+links"]
    assert [link["href"].rsplit("/", 1)[1] for link in left] == ["rm_pkg-2.0.tar.gz"]
    devpi.ok("remove", "-y", "rm-pkg")
    assert scenario.http.get(f"/{dev}/rm-pkg", headers=JSON).status_code == 404

    devpi.ok("upload", "--index", f"{user}/keep", "--from-dir", project / "dist")
    refused = devpi.fails("remove", "-y", "--index", f"{user}/keep", "rm-pkg==2.0")
    assert "403" in refused
    assert "non-volatile" in refused
    assert "2.0" in scenario.get_json(f"/{user}/keep/rm-pkg")
    devpi.ok("remove", "-y", "--force", "--index", f"{user}/keep", "rm-pkg==2.0")
    assert scenario.http.get(f"/{user}/keep/rm-pkg", headers=JSON).status_code == 404


# ---- documentation without a release ---------------------------------------------------------


def test_upload_only_docs_of_a_project_without_a_release(scenario: Scenario) -> None:
    user, devpi = scenario.person("dora")
    project = write_project(scenario.root / f"{user}-project", "docs-first", "0.3")
    output = devpi.ok("upload", "--only-docs", cwd=project)
    assert "doc_upload of docs-first-0.3.doc.zip" in output
    dev = f"{user}/dev"
    links = scenario.get_json(f"/{dev}/docs-first/0.3")["+links"]
    assert [link["rel"] for link in links] == ["doczip"]
    for version in ("0.3", "latest", "stable"):
        page = scenario.http.get(f"/{dev}/docs-first/{version}/+doc/index.html")
        assert page.status_code == 200, (version, page.text)
        assert "docs-first 0.3 docs" in page.text
    simple = scenario.http.get(f"/{dev}/+simple/docs-first/", headers=JSON_SIMPLE).json()
    assert simple["files"] == []  # registered by its docs, with no release file


def tar_gz_docs(path: Path, title: str) -> Path:
    data = f"<h1>{title}</h1>".encode()
    with tarfile.open(path, "w:gz") as archive:
        info = tarfile.TarInfo("index.html")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return path


def test_upload_of_doc_archives_named_with_and_without_a_version(scenario: Scenario) -> None:
    user, devpi = scenario.person("nico")
    dev = f"{user}/dev"
    archives = scenario.root / f"{user}-archives"
    archives.mkdir()
    name_only = tar_gz_docs(archives / "named-docs.docs.tar.gz", "name only")
    serial = scenario.serial()
    refused = devpi.fails("upload", name_only)
    assert "repackaged named-docs.docs.tar.gz to named-docs.doc.zip" in refused
    assert "400" in refused
    assert "doczip has no version and 'named-docs' has no releases to derive one from" in refused
    assert scenario.serial() == serial

    versioned = archives / "named-docs-1.1.docs.zip"
    versioned.write_bytes(doc_zip("versioned"))
    devpi.ok("upload", versioned)
    devpi.ok("upload", name_only)  # now 1.1 is registered: the latest
    page = scenario.http.get(f"/{dev}/named-docs/latest/+doc/index.html")
    assert page.text == "<h1>name only</h1>"
    assert [link["rel"] for link in scenario.get_json(f"/{dev}/named-docs/1.1")["+links"]] == [
        "doczip"
    ]

"""twine and uv publish upload to a real server; pip and uv pip install from it, directly and
through an index that inherits it; failures reach the clients' output."""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
from pathlib import Path

import pytest

from tests.e2e.conftest import Clients, clients_in
from tests.support import dists
from tests.support.client import Api
from tests.support.server import ServerProcess

pytestmark = pytest.mark.e2e

SIMPLE_JSON = {"Accept": "application/vnd.pypi.simple.v1+json"}
PASSWORD = "e2e-secret"
_users = itertools.count()


@dataclasses.dataclass
class Published:
    """lib-pkg uploaded by twine and app-pkg by uv publish, to ``base``; ``child`` inherits."""

    server: ServerProcess
    user: str
    base: str
    child: str
    files: dict[str, Path]  # filename -> the file the client uploaded

    def index_url(self, index: str, simple_dir: str) -> str:
        return f"{self.server.url}/{index}/{simple_dir}/"


def built(directory: Path, made: tuple[str, bytes]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    return dists.write(directory, made)


@pytest.fixture(scope="module")
def published(server: ServerProcess, tmp_path_factory: pytest.TempPathFactory) -> Published:
    home = tmp_path_factory.mktemp("publish")
    clients = clients_in(home / "home")
    user = f"e2e{next(_users)}"
    api = Api(server.url)
    try:
        api.create_user(user, password=PASSWORD)
        base, child = f"{user}/base", f"{user}/child"
        api.create_index(base, auth=(user, PASSWORD), volatile=False)
        api.create_index(child, auth=(user, PASSWORD), bases=[base])
    finally:
        api.close()
    dist = home / "dist"
    by_twine = [
        built(dist, dists.make_sdist("lib-pkg", "1.0")),
        built(dist, dists.make_wheel("lib-pkg", "1.0")),
        built(dist, dists.make_wheel("lib-pkg", "1.1")),
    ]
    by_uv = [
        built(dist, dists.make_sdist("App.Pkg", "2.0")),
        built(dist, dists.make_wheel("App.Pkg", "2.0", requires=["lib-pkg<1.1"])),
        built(dist, dists.make_wheel("App.Pkg", "1.0", requires=["lib-pkg"])),
    ]
    upload_url = f"{server.url}/{base}/"
    twine = clients.twine_upload(upload_url, user, PASSWORD, by_twine)
    assert twine.returncode == 0, twine.stdout + twine.stderr
    uv = clients.uv_publish(upload_url, user, PASSWORD, by_uv)
    assert uv.returncode == 0, uv.stdout + uv.stderr
    return Published(server, user, base, child, {p.name: p for p in by_twine + by_uv})


def simple_files(api: Api, index: str, project: str) -> dict[str, str]:
    """filename -> sha256 as the index's PEP 691 page lists them."""
    reply = api.http.get(f"/{index}/+simple/{project}/", headers=SIMPLE_JSON)
    assert reply.status_code == 200, reply.text
    return {f["filename"]: f["hashes"]["sha256"] for f in reply.json()["files"]}


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize(
    ("project", "filenames"),
    [
        (
            "lib-pkg",
            ["lib_pkg-1.0.tar.gz", "lib_pkg-1.0-py3-none-any.whl", "lib_pkg-1.1-py3-none-any.whl"],
        ),
        (
            "app-pkg",
            ["app_pkg-2.0.tar.gz", "app_pkg-2.0-py3-none-any.whl", "app_pkg-1.0-py3-none-any.whl"],
        ),
    ],
    ids=["twine", "uv-publish"],
)
def test_uploaded_files_are_on_the_index(
    published: Published, api: Api, project: str, filenames: list[str]
) -> None:
    expected = {name: sha256_of(published.files[name]) for name in filenames}
    assert simple_files(api, published.base, project) == expected
    assert simple_files(api, published.child, project) == expected
    versions = api.http.get(f"/{published.base}/{project}").json()["result"]
    for data in versions.values():
        for link in data["+links"]:
            assert link["log"][0]["who"] == published.user
            filename = link["href"].rsplit("/", 1)[1]
            download = api.http.get(link["href"], headers={"Accept": "*/*"})
            assert download.content == published.files[filename].read_bytes()


def test_uv_publish_stores_the_metadata_of_the_files(published: Published, api: Api) -> None:
    data = api.http.get(f"/{published.base}/app-pkg/2.0").json()["result"]
    assert data["name"] == "App.Pkg"
    assert data["requires_dist"] == ["lib-pkg<1.1"]
    assert data["summary"] == "test package"


# A venv with pip takes seconds to make, so pip gets two cases that still cover both indexes
# and both URL forms; uv gets every combination.
INSTALL_CASES = [
    ("pip", "base", "+simple"),
    ("pip", "child", "simple"),
    *(("uv", index, d) for index in ("base", "child") for d in ("+simple", "simple")),
]


@pytest.mark.parametrize(
    ("installer", "index", "simple_dir"),
    INSTALL_CASES,
    ids=["-".join(case) for case in INSTALL_CASES],
)
def test_install_with_a_dependency(
    published: Published, clients: Clients, installer: str, index: str, simple_dir: str
) -> None:
    url = published.index_url(getattr(published, index), simple_dir)
    if installer == "pip":
        python = clients.new_venv("venv", with_pip=True)
        clients.pip_install(python, url, "app-pkg")
    else:
        python = clients.new_venv("venv", with_pip=False)
        clients.uv_pip_install(python, url, "App.Pkg")
    # app-pkg 2.0 is the latest and wants lib-pkg<1.1, so lib-pkg 1.1 must be passed over.
    report = clients.check(
        [
            python,
            "-c",
            "import importlib.metadata as m, app_pkg_mod as a, lib_pkg_mod as b;"
            "print(a.VERSION, b.VERSION, m.version('app-pkg'), m.version('lib-pkg'))",
        ]
    )
    assert report.split() == ["2.0", "1.0", "2.0", "1.0"]


# failures reach the clients


def test_twine_shows_the_conflict_message(published: Published, clients: Clients, api: Api) -> None:
    before = simple_files(api, published.base, "lib-pkg")
    other = built(clients.home / "other", dists.make_wheel("lib-pkg", "1.0", payload=b"# other\n"))
    done = clients.twine_upload(
        f"{published.server.url}/{published.base}/", published.user, PASSWORD, [other]
    )
    output = " ".join((done.stdout + done.stderr).split())
    assert done.returncode != 0
    assert "409 Conflict" in output
    assert "lib_pkg-1.0-py3-none-any.whl already exists in non-volatile index" in output
    assert simple_files(api, published.base, "lib-pkg") == before


def test_twine_shows_the_authentication_failure(
    published: Published, clients: Clients, api: Api
) -> None:
    new = built(clients.home / "new", dists.make_wheel("lib-pkg", "3.0"))
    url = f"{published.server.url}/{published.base}/"
    done = clients.twine_upload(url, published.user, "not-the-password", [new])
    output = " ".join((done.stdout + done.stderr).split())
    assert done.returncode != 0
    assert "401 Unauthorized" in output
    assert f"user '{published.user}' could not be authenticated" in output
    assert "lib_pkg-3.0-py3-none-any.whl" not in simple_files(api, published.base, "lib-pkg")


def test_uv_publish_shows_the_conflict_message(
    published: Published, clients: Clients, api: Api
) -> None:
    before = simple_files(api, published.base, "app-pkg")
    other = built(clients.home / "other", dists.make_wheel("App.Pkg", "2.0", payload=b"# other\n"))
    done = clients.uv_publish(
        f"{published.server.url}/{published.base}/", published.user, PASSWORD, [other]
    )
    assert done.returncode != 0
    assert "409 Conflict" in done.stderr
    assert "app_pkg-2.0-py3-none-any.whl already exists in non-volatile index" in done.stderr
    assert simple_files(api, published.base, "app-pkg") == before

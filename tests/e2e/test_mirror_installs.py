"""pip and uv install through root/pypi and through a stage on top of it; then the upstream
breaks in every way we know, and the same installs still succeed from what the mirror cached."""

from __future__ import annotations

import hashlib
import itertools
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest

from tests.e2e.conftest import Clients
from tests.support import dists
from tests.support.client import Api, basic
from tests.support.fake_upstream import FakeUpstream, Fault, running
from tests.support.server import ServerProcess

pytestmark = pytest.mark.e2e

SIMPLE_JSON = {"Accept": "application/vnd.pypi.simple.v1+json"}
_installs = itertools.count()
EXPIRY = 1  # seconds: every install after a pause asks the upstream again
CHECK_VERSIONS = (
    "import importlib.metadata as m;print(*(m.version(n) for n in ('top-pkg', 'dep-pkg')))"
)


@pytest.fixture(params=["json", "html"])
def upstream(request: pytest.FixtureRequest) -> Iterator[FakeUpstream]:
    with running(request.param) as fake:
        # top-pkg 1.0 needs dep-pkg>=2, so the installers must read both pages and pick 2.0
        fake.add_release("top-pkg", "1.0", requires=["dep-pkg>=2"])
        fake.add_release("dep-pkg", "1.0")
        fake.add_release("dep-pkg", "2.0")
        fake.slow_seconds = 20  # longer than the server waits (--request-timeout)
        yield fake


@pytest.fixture
def mirror_server(
    upstream: FakeUpstream, start_server: Callable[..., ServerProcess]
) -> ServerProcess:
    server = start_server(
        extra_args=[
            "--mirror-url", upstream.url,
            "--request-timeout", "1",
            "--upstream-retries", "1",
        ]
    )  # fmt: skip
    api = Api(server.url)
    try:
        reply = api.http.patch(
            "/root/pypi", json=[f"mirror_cache_expiry={EXPIRY}"], headers=api.as_root()
        )
        assert reply.status_code == 200, reply.text
        api.create_user("dev", password="dev-secret")
        api.create_index("dev/stage", auth=("dev", "dev-secret"), bases=["root/pypi"])
        own = dists.make_wheel("own-app", "0.1", requires=["top-pkg"])
        uploaded = api.upload("dev/stage", *own, auth=("dev", "dev-secret"))
        assert uploaded.status_code == 200, uploaded.text
    finally:
        api.close()
    return server


def install(clients: Clients, installer: str, url: str, name: str, *packages: str) -> Path:
    """Install into the venv ``name`` (made on first use), downloading everything afresh:
    no client cache, and everything reinstalled; returns the venv's python."""
    venv = clients.home / name
    python = venv / "bin" / "python"
    if not venv.exists():
        clients.new_venv(name, with_pip=installer == "pip")
    clients.env["UV_CACHE_DIR"] = str(clients.home / f"uv-cache-{next(_installs)}")
    if installer == "pip":
        clients.pip_install(python, url, "--force-reinstall", *packages)
    else:
        clients.uv_pip_install(python, url, "--reinstall", *packages)
    return python


def installed_versions(clients: Clients, python: Path) -> list[str]:
    return clients.check([python, "-c", CHECK_VERSIONS]).split()


def mirrored_state(server: ServerProcess) -> dict[str, Any]:
    """What root/pypi serves: each page's files with hashes, and each cached file's bytes."""
    state: dict[str, Any] = {}
    api = Api(server.url)
    try:
        for project in ("top-pkg", "dep-pkg"):
            page = api.http.get(f"/root/pypi/+simple/{project}/", headers=SIMPLE_JSON)
            assert page.status_code == 200, page.text
            for entry in page.json()["files"]:
                url = urljoin(f"{server.url}/root/pypi/+simple/{project}/", entry["url"])
                state[entry["filename"]] = entry["hashes"]["sha256"]
                body = api.http.get(url, headers={"Accept": "*/*"})
                if body.status_code == 200:
                    state[entry["filename"] + " bytes"] = hashlib.sha256(body.content).hexdigest()
    finally:
        api.close()
    return state


def true_hashes(upstream: FakeUpstream) -> dict[str, str]:
    return {
        file.filename: file.sha256
        for project in upstream.projects.values()
        for file in project.files
    }


FAULTS = [
    Fault.DOWN,
    Fault.SLOW,
    Fault.ERROR_500,
    Fault.RESET,
    Fault.TRUNCATED,
    Fault.WRONG_HASH,
    Fault.OLDER_SERIAL,
]


def test_installs_keep_working_whatever_the_upstream_does(
    upstream: FakeUpstream, mirror_server: ServerProcess, clients: Clients
) -> None:
    mirror = f"{mirror_server.url}/root/pypi/+simple/"
    stage = f"{mirror_server.url}/dev/stage/+simple/"
    python = install(clients, "pip", mirror, "warm-pip", "top-pkg")
    assert installed_versions(clients, python) == ["1.0", "2.0"]
    python = install(clients, "uv", stage, "warm-uv", "own-app")
    assert installed_versions(clients, python) == ["1.0", "2.0"]
    expected = true_hashes(upstream)
    cached = mirrored_state(mirror_server)
    for filename, sha256 in expected.items():
        assert cached[filename] == sha256
    for wheel in ("top_pkg-1.0-py3-none-any.whl", "dep_pkg-2.0-py3-none-any.whl"):
        assert cached[wheel + " bytes"] == expected[wheel]

    for fault in FAULTS:
        upstream.set_fault(fault)
        try:
            time.sleep(EXPIRY + 0.2)  # every page has expired: the mirror must ask again
            asked = len(upstream.requests)
            python = install(clients, "pip", mirror, "warm-pip", "top-pkg")
            assert installed_versions(clients, python) == ["1.0", "2.0"], fault
            python = install(clients, "uv", stage, "warm-uv", "own-app")
            assert installed_versions(clients, python) == ["1.0", "2.0"], fault
            if fault is not Fault.DOWN:
                assert len(upstream.requests) > asked, f"{fault}: the upstream was never asked"
        finally:
            upstream.set_fault(None)
        # nothing bad was stored: the same files, hashes and bytes as before the fault
        assert mirrored_state(mirror_server) == cached, fault


def test_a_private_project_hides_the_mirrored_one_of_the_same_name(
    upstream: FakeUpstream, mirror_server: ServerProcess, clients: Clients
) -> None:
    api = Api(mirror_server.url)
    try:
        mine = dists.make_wheel("dep-pkg", "9.0")
        reply = api.upload("dev/stage", *mine, auth=("dev", "dev-secret"))
        assert reply.status_code == 200, reply.text
        page = api.http.get("/dev/stage/+simple/dep-pkg/", headers=SIMPLE_JSON).json()
        assert [f["filename"] for f in page["files"]] == [mine[0]]
        assert not upstream.requests_for("/simple/dep-pkg/")
        whitelisted = api.http.patch(
            "/dev/stage", json=["mirror_whitelist+=dep-pkg"], headers=basic("dev", "dev-secret")
        )
        assert whitelisted.status_code == 200, whitelisted.text
        page = api.http.get("/dev/stage/+simple/dep-pkg/", headers=SIMPLE_JSON).json()
        assert sorted(f["filename"] for f in page["files"]) == sorted(
            [mine[0], *(f.filename for f in upstream.projects["dep-pkg"].files)]
        )
    finally:
        api.close()
    # the private dep-pkg 9.0 wins the resolution through the stage
    python = install(clients, "uv", f"{mirror_server.url}/dev/stage/+simple/", "mine", "own-app")
    assert installed_versions(clients, python) == ["1.0", "9.0"]

"""The outside URL against real servers: from ``--outside-url``, from ``X-Outside-Url``, and
``X-Forwarded-*`` from trusted and untrusted peers. Every absolute URL (``/+api``, project
and version JSON ``href``s, the PyPI-style JSON, redirects) carries the prefix, and every
relative link on a simple page resolves under it. Cached pages hold no absolute URL, so one
client's outside URL never reaches another."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx
import pytest

from tests.support import dists
from tests.support.client import Api, basic
from tests.support.server import ServerProcess

OUTSIDE = "https://example.test/pkgs"
SIMPLE_JSON = {"Accept": "application/vnd.pypi.simple.v1+json"}
PIP_ACCEPT = {"Accept": "application/vnd.pypi.simple.v1+json, text/html;q=0.01"}
JSON = {"Accept": "application/json"}


@dataclasses.dataclass
class Published:
    server: ServerProcess
    http: httpx.Client
    stage: str  # user/index
    files: dict[str, bytes]  # filename -> content

    def inside(self, url: str) -> str:
        """The request path for a URL the server gave out under OUTSIDE (prefix kept)."""
        assert url.startswith(OUTSIDE + "/"), url
        return url.removeprefix("https://example.test")


def publish(server: ServerProcess, user: str) -> Published:
    api = Api(server.url)
    api.create_user(user)
    stage = f"{user}/dev"
    api.create_index(stage)
    files: dict[str, bytes] = {}
    for name, data in (dists.make_wheel("hello-pkg", "1.0"), dists.make_sdist("hello-pkg", "1.0")):
        assert api.upload(stage, name, data, auth=(user, "secret")).status_code == 200
        files[name] = data
    docs = io.BytesIO()
    with zipfile.ZipFile(docs, "w") as archive:
        archive.writestr("index.html", "<h1>hello docs</h1>")
    reply = api.upload(
        stage, "hello-pkg-1.0.doc.zip", docs.getvalue(), auth=(user, "secret"),
        action="doc_upload", name="hello-pkg", version="1.0",
    )  # fmt: skip
    assert reply.status_code == 200, reply.text
    api.close()
    return Published(server, httpx.Client(base_url=server.url, timeout=30), stage, files)


@pytest.fixture(scope="module")
def behind(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Published]:
    """A server run with ``--outside-url https://example.test/pkgs``."""
    directory = tmp_path_factory.mktemp("outside")
    server = ServerProcess(directory, extra_args=["--outside-url", OUTSIDE]).start()
    published = publish(server, "alice")
    yield published
    published.http.close()
    server.stop()


def absolute_urls(data: Any) -> Iterator[str]:
    """Every string in a JSON document that looks like an absolute URL."""
    if isinstance(data, dict):
        for value in data.values():
            yield from absolute_urls(value)
    elif isinstance(data, list):
        for value in data:
            yield from absolute_urls(value)
    elif isinstance(data, str) and re.match(r"https?://", data):
        yield data


@pytest.mark.parametrize("prefix", ["/pkgs", ""])
def test_api_links_carry_the_outside_url_whether_or_not_the_path_has_the_prefix(
    behind: Published, prefix: str
) -> None:
    root = behind.http.get(f"{prefix}/+api").json()["result"]
    assert root["login"] == f"{OUTSIDE}/+login"
    # devpi-client takes the server's root from the login URL: URL(login, ".")
    assert urljoin(root["login"], ".") == f"{OUTSIDE}/"
    stage = behind.http.get(f"{prefix}/{behind.stage}/+api").json()["result"]
    assert stage["index"] == f"{OUTSIDE}/{behind.stage}"
    assert stage["simpleindex"] == f"{OUTSIDE}/{behind.stage}/+simple/"
    assert stage["pypisubmit"] == f"{OUTSIDE}/{behind.stage}/"


def test_project_and_version_json_hrefs_point_under_the_prefix_and_lead_to_the_files(
    behind: Published,
) -> None:
    project = behind.http.get(f"/pkgs/{behind.stage}/hello-pkg", headers=JSON).json()
    version = behind.http.get(f"/pkgs/{behind.stage}/hello-pkg/1.0", headers=JSON).json()
    links = project["result"]["1.0"]["+links"]
    assert links == version["result"]["+links"]
    assert {link["rel"] for link in links} == {"releasefile", "doczip"}
    urls = list(absolute_urls(project)) + list(absolute_urls(version))
    assert urls
    assert all(url.startswith(OUTSIDE + "/") for url in urls), urls
    for link in links:
        if link["rel"] != "releasefile":
            continue
        reply = behind.http.get(behind.inside(link["href"]))
        assert reply.status_code == 200
        assert link["href"].rsplit("/", 1)[1] in behind.files
        assert hashlib.sha256(reply.content).hexdigest() == link["hashes"]["sha256"]


def test_pypi_style_json_urls_point_under_the_prefix(behind: Published) -> None:
    for path in ("pypi/hello-pkg/json", "pypi/hello-pkg/1.0/json"):
        document = behind.http.get(f"/pkgs/{behind.stage}/{path}").json()
        urls = list(absolute_urls(document))
        assert f"{OUTSIDE}/{behind.stage}/pypi/hello-pkg/" in urls
        assert all(url.startswith(OUTSIDE + "/") for url in urls), urls
        for entry in document["urls"]:
            reply = behind.http.get(behind.inside(entry["url"]))
            assert hashlib.sha256(reply.content).hexdigest() == entry["digests"]["sha256"]


@pytest.mark.parametrize(
    ("path", "headers", "status", "target"),
    [
        ("/pkgs/{stage}/+simple", {}, 301, "/{stage}/+simple/"),
        ("/{stage}/+simple", {}, 301, "/{stage}/+simple/"),
        ("/pkgs/{stage}/+simple/Hello_Pkg/", {}, 301, "/{stage}/+simple/hello-pkg/"),
        ("/pkgs/{stage}/simple/hello-pkg", {}, 301, "/{stage}/simple/hello-pkg/"),
        ("/pkgs/{stage}/Hello.Pkg", JSON, 302, "/{stage}/hello-pkg"),
        ("/pkgs/{stage}/hello-pkg", PIP_ACCEPT, 302, "/{stage}/+simple/hello-pkg/"),
        ("/pkgs/{stage}", PIP_ACCEPT, 302, "/{stage}/+simple/"),
        ("/pkgs/{stage}/pypi/Hello_Pkg/json", {}, 301, "/{stage}/pypi/hello-pkg/json"),
        ("/pkgs/{stage}/hello-pkg/1.0/+doc", {}, 302, "/{stage}/hello-pkg/1.0/+doc/index.html"),
    ],
)
def test_redirects_carry_the_outside_url_and_lead_somewhere(
    behind: Published, path: str, headers: dict[str, str], status: int, target: str
) -> None:
    reply = behind.http.get(path.format(stage=behind.stage), headers=headers)
    assert reply.status_code == status, reply.text
    location = reply.headers["location"]
    assert location == OUTSIDE + target.format(stage=behind.stage)
    assert behind.http.get(behind.inside(location), headers=headers).status_code == 200


@pytest.mark.parametrize("accept", [{}, SIMPLE_JSON])
def test_relative_links_on_simple_pages_resolve_under_the_prefix(
    behind: Published, accept: dict[str, str]
) -> None:
    page_url = f"{OUTSIDE}/{behind.stage}/+simple/hello-pkg/"
    reply = behind.http.get(behind.inside(page_url), headers=accept)
    assert reply.status_code == 200
    if accept:
        hrefs = [(f["url"], f["hashes"]["sha256"]) for f in reply.json()["files"]]
    else:
        found = re.findall(r'href="([^"#]+)#sha256=([0-9a-f]+)"', reply.text)
        hrefs = [(href, sha) for href, sha in found]
    assert len(hrefs) == len(behind.files)
    for href, sha256 in hrefs:
        assert not href.startswith(("http:", "https:", "/")), href
        url = urljoin(page_url, href)
        assert url.startswith(f"{OUTSIDE}/{behind.stage}/+f/"), url
        assert hashlib.sha256(behind.http.get(behind.inside(url)).content).hexdigest() == sha256
    listing = behind.http.get(f"/pkgs/{behind.stage}/+simple/").text
    assert 'href="hello-pkg/"' in listing


# X-Outside-Url on the shared server (no outside_url, no trusted_proxy: believed from anyone)


@pytest.fixture(scope="module")
def shared(server: ServerProcess) -> Iterator[Published]:
    published = publish(server, "outsider")
    yield published
    published.http.close()


def test_each_request_gets_the_urls_of_its_own_header(shared: Published) -> None:
    outsides = ["https://a.example.test/x", "http://b.example.test:8080", None]
    for outside in outsides:
        headers = {"X-Outside-Url": outside} if outside else {}
        base = outside or shared.server.url
        prefix = "/x" if outside and outside.endswith("/x") else ""
        api = shared.http.get(f"{prefix}/{shared.stage}/+api", headers=headers).json()["result"]
        assert api["login"] == f"{base}/+login"
        project = shared.http.get(
            f"{prefix}/{shared.stage}/hello-pkg", headers={**headers, **JSON}
        ).json()
        urls = list(absolute_urls(project))
        assert urls
        assert all(url.startswith(base + "/") for url in urls), (outside, urls)


def test_cached_pages_are_the_same_bytes_for_every_outside_url(shared: Published) -> None:
    """The page caches hold no absolute URL: what one client's header produced is what
    every other client gets."""
    outsides = [None, "https://a.example.test/x", "http://b.example.test:8080", None]
    for path in (f"{shared.stage}/+simple/hello-pkg/", f"{shared.stage}/+simple/"):
        for accept in ({}, SIMPLE_JSON):
            bodies = set()
            for outside in outsides:
                headers = {"X-Outside-Url": outside, **accept} if outside else accept
                reply = shared.http.get(f"/{path}", headers=headers)
                assert reply.status_code == 200
                bodies.add(reply.content)
            assert len(bodies) == 1
            body = bodies.pop()
            assert b"example.test" not in body
            assert b"127.0.0.1" not in body


def test_a_bad_outside_url_header_is_a_400_and_changes_nothing(shared: Published) -> None:
    before = shared.http.get("/+api").headers["x-devpi-serial"]
    reply = shared.http.put(
        "/outsider-new",
        json={"password": "secret"},
        headers={"X-Outside-Url": "example.test/pkgs", **basic("root", "root-secret")},
    )
    assert reply.status_code == 400
    assert reply.json()["message"] == (
        "X-Outside-Url must be an http or https URL, not 'example.test/pkgs'"
    )
    assert reply.reason_phrase.startswith("X-Outside-Url must be an http or https URL")
    assert shared.http.get("/outsider-new").status_code == 404
    assert shared.http.get("/+api").headers["x-devpi-serial"] == before


# trusted proxies


FORWARDED = {
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "pkgs.example.test",
}


def _login_url(server: ServerProcess, headers: dict[str, str]) -> str:
    reply = httpx.get(f"{server.url}/+api", headers=headers)
    assert reply.status_code == 200, reply.text
    login: str = reply.json()["result"]["login"]
    return login


def test_forwarded_headers_and_the_header_from_an_untrusted_peer_are_ignored(
    tmp_path: Path,
) -> None:
    server = ServerProcess(tmp_path / "s", extra_args=["--trusted-proxy", "10.0.0.0/8"]).start()
    try:
        for headers in (FORWARDED, {"X-Outside-Url": "https://proxy.test/p"}):
            assert _login_url(server, headers) == f"{server.url}/+login"
        bad = {"X-Forwarded-Proto": "gopher", "X-Outside-Url": "nonsense"}
        assert _login_url(server, bad) == f"{server.url}/+login"
    finally:
        server.stop()


def test_forwarded_headers_from_a_trusted_peer_are_believed(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "s", extra_args=["--trusted-proxy", "127.0.0.1"]).start()
    try:
        assert _login_url(server, FORWARDED) == "https://pkgs.example.test/+login"
        assert _login_url(server, {"X-Forwarded-Proto": "https"}) == (
            "https://" + server.url.removeprefix("http://") + "/+login"
        )
        # X-Outside-Url wins, and carries a prefix
        both = {**FORWARDED, "X-Outside-Url": "http://p.example.test/pkgs"}
        assert _login_url(server, both) == "http://p.example.test/pkgs/+login"
        reply = httpx.get(f"{server.url}/+api", headers={"X-Forwarded-Proto": "gopher"})
        assert reply.status_code == 400
        assert reply.json()["message"] == "X-Forwarded-Proto must be http or https, not 'gopher'"
    finally:
        server.stop()

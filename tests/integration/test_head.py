"""``HEAD`` is served wherever ``GET`` is (``web/routes.py``), with the same status and headers
(``Content-Length``, ``ETag``, ``Content-Type`` ...) and no body: one table over every route
that serves ``GET``, on a private index, a mirror of a fake upstream and a stage on both."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterator
from urllib.parse import urljoin

import httpx
import pytest
from starlette.routing import Match, Route

from pkgdepot.web.routes import build_routes
from pkgdepot.web.simple import SimpleViews
from tests.support import dists
from tests.support.client import Api
from tests.support.fake_pages import FakeFile
from tests.support.fake_upstream import FakeUpstream, running
from tests.support.server import ROOT_PASSWORD, ServerProcess
from tests.support.uploading import zip_of

pytestmark = pytest.mark.timeout(120)

USER = "headcheck"
INDEX = f"{USER}/dev"
MIRROR = "root/headmirror"
STAGE = f"{USER}/stage"  # bases: INDEX and MIRROR
PROJECT = "hello-pkg"
MIRRORED = "mirrored-pkg"
HTML = "application/vnd.pypi.simple.v1+html"
JSON = "application/vnd.pypi.simple.v1+json"
LIVE = ("content-length",)  # /+status and /+metrics count the requests they answer
# How the body is framed: a streamed GET reply is chunked, its HEAD reply has no body to frame.
NOT_COMPARED = ("date", "transfer-encoding")


@dataclasses.dataclass(frozen=True)
class Setup:
    """URL paths found once the data is there: stored and mirrored files."""

    wheel: str
    sdist: str
    mirrored_wheel: str
    external: str  # a mirrored file its upstream announced without sha256: ``+e``


def file_path(index: str, built: tuple[str, bytes]) -> str:
    sha256 = hashlib.sha256(built[1]).hexdigest()
    return f"/{index}/+f/{sha256[:3]}/{sha256[3:16]}/{built[0]}"


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeUpstream]:
    with running("json") as fake:
        fake.add_release(MIRRORED, "1.0")
        fake.add_file(MIRRORED, FakeFile("mirrored_pkg-1.1.tar.gz", b"sdist", announce_hash=False))
        yield fake


@pytest.fixture(scope="module")
def setup(server: ServerProcess, upstream: FakeUpstream) -> Iterator[Setup]:
    api = Api(server.url)
    api.create_user(USER)
    api.create_index(INDEX)
    root = ("root", ROOT_PASSWORD)
    api.create_index(MIRROR, auth=root, type="mirror", mirror_url=upstream.url)
    api.create_index(STAGE, bases=[INDEX, MIRROR])
    wheel = dists.make_wheel(PROJECT, "2.0")
    sdist = dists.make_sdist(PROJECT, "2.0")
    for built in (wheel, sdist):
        assert api.upload(INDEX, *built, auth=(USER, "secret")).status_code == 200
    docs = zip_of({"index.html": b"<h1>docs</h1>", "sub/page.txt": b"text"})
    reply = api.upload(
        INDEX, "docs.zip", docs, auth=(USER, "secret"), action="doc_upload", version="2.0",
        name=PROJECT,
    )  # fmt: skip
    assert reply.status_code == 200, reply.text
    page = api.http.get(f"/{MIRROR}/+simple/{MIRRORED}/", headers={"Accept": JSON})
    assert page.status_code == 200, page.text
    base = f"{server.url}/{MIRROR}/+simple/{MIRRORED}/"
    urls = {f["filename"]: httpx.URL(urljoin(base, f["url"])).path for f in page.json()["files"]}
    assert "/+e/" in urls["mirrored_pkg-1.1.tar.gz"]
    yield Setup(
        wheel=file_path(INDEX, wheel),
        sdist=file_path(INDEX, sdist),
        mirrored_wheel=urls["mirrored_pkg-1.0-py3-none-any.whl"],
        external=urls["mirrored_pkg-1.1.tar.gz"],
    )
    api.close()


@dataclasses.dataclass(frozen=True)
class Case:
    name: str
    path: str  # str.format'ed with the Setup's fields and the names above
    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    live: bool = False  # a body that changes from one request to the next

    def url(self, found: Setup) -> str:
        names = {"index": INDEX, "user": USER, "mirror": MIRROR, "stage": STAGE}
        return self.path.format(**names, **dataclasses.asdict(found))


def accept(media: str) -> tuple[tuple[str, str], ...]:
    return (("Accept", media),)


CASES = [
    Case("root", "/"),
    Case("api", "/+api"),
    Case("user-api", "/{user}/+api"),
    Case("index-api", "/{index}/+api"),
    Case("status", "/+status", live=True),
    Case("metrics", "/+metrics", live=True),
    Case("openapi", "/+openapi.json"),
    # simple pages: the project list, then one project, in each spelling and format
    Case("simple-no-slash", "/{index}/+simple", 301),
    Case("simple-std-no-slash", "/{index}/simple", 301),
    Case("list-html", "/{index}/+simple/", headers=accept(HTML)),
    Case("list-json", "/{index}/+simple/", headers=accept(JSON)),
    Case("list-std-json", "/{index}/simple/", headers=accept(JSON)),
    Case("list-none-acceptable", "/{index}/+simple/", 406, accept("image/png")),
    Case("list-not-modified", "/{mirror}/+simple/", 304, (*accept(JSON), ("If-None-Match", "*"))),
    Case("list-mirror-html", "/{mirror}/+simple/", headers=accept(HTML)),
    Case("list-mirror-json", "/{mirror}/+simple/", headers=accept(JSON)),
    Case("list-stage-json", "/{stage}/+simple/", headers=accept(JSON)),
    Case("page-html", "/{index}/+simple/hello-pkg/", headers=accept(HTML)),
    Case("page-json", "/{index}/+simple/hello-pkg/", headers=accept(JSON)),
    Case("page-std-json", "/{index}/simple/hello-pkg/", headers=accept(JSON)),
    Case(
        "page-not-modified",
        "/{index}/+simple/hello-pkg/",
        304,
        (*accept(JSON), ("If-None-Match", "*")),
    ),
    Case("page-no-slash", "/{index}/+simple/hello-pkg", 301),
    Case("page-std-no-slash", "/{index}/simple/hello-pkg", 301),
    Case("page-not-normal", "/{index}/+simple/Hello_Pkg/", 301),
    Case("page-missing", "/{index}/+simple/nothing-here/", 404),
    Case("page-mirror-html", "/{mirror}/+simple/mirrored-pkg/", headers=accept(HTML)),
    Case("page-mirror-json", "/{mirror}/+simple/mirrored-pkg/", headers=accept(JSON)),
    Case("page-stage-json", "/{stage}/+simple/mirrored-pkg/", headers=accept(JSON)),
    # files
    Case("file-wheel", "{wheel}"),
    Case("file-sdist", "{sdist}"),
    Case("file-metadata", "{wheel}.metadata"),
    Case("file-json", "{wheel}", headers=accept("application/json")),
    Case("file-range", "{wheel}", 206, (("Range", "bytes=2-9"),)),
    Case("file-bad-range", "{wheel}", 416, (("Range", "bytes=9-2"),)),
    Case("file-not-modified", "{wheel}", 304, (("If-None-Match", "*"),)),
    Case("file-sdist-metadata", "{sdist}.metadata", 404),
    Case("file-missing", "/{index}/+f/abc/def/nothing-1.0.tar.gz", 404),
    Case("file-mirrored", "{mirrored_wheel}"),
    Case("file-mirrored-metadata", "{mirrored_wheel}.metadata"),
    Case("file-external", "{external}"),
    Case("file-external-missing", "/{index}/+e/nothing-1.0.tar.gz", 404),
    # the JSON API
    Case("json-project", "/{index}/pypi/hello-pkg/json"),
    Case("json-version", "/{index}/pypi/hello-pkg/2.0/json"),
    Case("json-mirrored", "/{mirror}/pypi/mirrored-pkg/json"),
    Case("json-missing", "/{index}/pypi/nothing-here/json", 404),
    # documentation
    Case("doc", "/{index}/hello-pkg/2.0/+doc", 302),
    Case("doc-index", "/{index}/hello-pkg/2.0/+doc/index.html"),
    Case("doc-page", "/{index}/hello-pkg/2.0/+doc/sub/page.txt"),
    Case("doc-missing", "/{index}/hello-pkg/2.0/+doc/nothing.html", 404),
    # devpi's JSON: project, version, index, user
    Case("project", "/{index}/hello-pkg"),
    Case("project-slash", "/{index}/hello-pkg/"),
    Case("project-not-normal", "/{index}/Hello_Pkg", 302),
    Case("project-installer", "/{index}/hello-pkg", 302, accept(JSON)),
    Case("project-mirrored", "/{mirror}/mirrored-pkg"),
    Case("project-missing", "/{index}/nothing-here", 404),
    Case("version", "/{index}/hello-pkg/2.0"),
    Case("version-slash", "/{index}/hello-pkg/2.0/"),
    Case("version-missing", "/{index}/hello-pkg/9.9", 404),
    Case("index", "/{index}"),
    Case("index-slash", "/{index}/"),
    Case("index-no-projects", "/{index}?no_projects"),
    Case("index-installer", "/{index}/", 302, accept(JSON)),
    Case("index-missing", "/{user}/nothing", 404),
    Case("user", "/{user}"),
    Case("user-slash", "/{user}/"),
    Case("user-missing", "/nobody-here", 404),
    Case("no-route", "/+nothing", 404),
]


def comparable(reply: httpx.Response, case: Case) -> dict[str, str]:
    skip = NOT_COMPARED + (LIVE if case.live else ())
    return {name: value for name, value in reply.headers.items() if name not in skip}


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_head_answers_as_get_does_without_the_body(
    server: ServerProcess, setup: Setup, case: Case
) -> None:
    url = case.url(setup)
    headers = dict(case.headers)
    with httpx.Client(base_url=server.url, timeout=60, follow_redirects=False) as http:
        http.get(url, headers=headers)  # anything fetched or cached on first use is now
        head = http.head(url, headers=headers)
        get = http.get(url, headers=headers)
    assert get.status_code == case.status, get.text
    assert head.status_code == get.status_code
    assert head.content == b""
    assert comparable(head, case) == comparable(get, case)
    assert ("content-length" in head.headers) == ("content-length" in get.headers)
    if "content-length" in get.headers:
        assert "transfer-encoding" not in head.headers
        assert head.headers["content-length"].isdigit()
        if not case.live:
            assert head.headers["content-length"] == str(len(get.content))


def test_every_route_that_serves_get_is_in_the_table() -> None:
    """A new GET route needs a row above."""
    found = Setup("/u/i/+f/a/b/c.whl", "/u/i/+f/a/b/c.tar.gz", "/m/i/+f/a/b/c.whl", "/m/i/+e/x")
    routes = [route for route in build_routes(SimpleViews()) if isinstance(route, Route)]
    gets = [route for route in routes if "GET" in (route.methods or ())]
    covered = set()
    for case in CASES:
        path = httpx.URL(case.url(found)).path
        scope = {"type": "http", "path": path, "method": "GET", "root_path": ""}
        first = next((r for r in gets if r.matches(scope)[0] is Match.FULL), None)
        if first is not None:
            covered.add(first.path)
    assert {route.path for route in gets} - covered == set()
    assert all("HEAD" in (route.methods or ()) for route in gets)

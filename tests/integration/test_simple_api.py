"""The simple API of every index (PEP 503/629/691/700/592/658/714) against a real server."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import re
import zipfile
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from urllib.parse import urldefrag, urljoin

import httpx
import pytest

from tests.support import dists
from tests.support.api_checks import assert_error as error
from tests.support.client import Api, basic
from tests.support.server import ServerProcess

HTML = {"Accept": "text/html"}
SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"
JSON = {"Accept": SIMPLE_JSON}
PIP_ACCEPT = (
    "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, "
    "text/html; q=0.01"
)
UV_ACCEPT = (
    "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, "
    "text/html;q=0.01"
)
UPLOAD_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z")


def root(http: httpx.Client) -> str:
    return str(http.base_url).rstrip("/")


def core_metadata(wheel: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(wheel)) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        return archive.read(name)


class Anchors(HTMLParser):
    """The anchors of a simple page: (attributes, text)."""

    def __init__(self) -> None:
        super().__init__()
        self.anchors: list[tuple[dict[str, str | None], str]] = []
        self.meta: dict[str | None, str | None] = {}
        self._attrs: dict[str, str | None] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "meta":
            self.meta[dict(attrs).get("name")] = dict(attrs).get("content")
        self._attrs = dict(attrs) if tag == "a" else None

    def handle_data(self, data: str) -> None:
        if self._attrs is not None:
            self.anchors.append((self._attrs, data))
            self._attrs = None


def anchors(html: str) -> dict[str, dict[str, str | None]]:
    parser = Anchors()
    parser.feed(html)
    assert parser.meta["pypi:repository-version"] == "1.1"
    return {text: attrs for attrs, text in parser.anchors}


@dataclasses.dataclass
class Published:
    index: str
    owner: str
    uploads: dict[str, bytes]  # filename -> content
    wheels: set[str]


@pytest.fixture(scope="module")
def http(server: ServerProcess) -> Iterator[httpx.Client]:
    """A client with no default Accept header."""
    client = httpx.Client(base_url=server.url, timeout=60)
    del client.headers["accept"]
    yield client
    client.close()


@pytest.fixture(scope="module")
def published(server: ServerProcess) -> Iterator[Published]:
    """An index with wheels and sdists of hello-pkg; 1.1 yanked with a reason, 2.0 without;
    3.0 registered without files. Tests must not change it."""
    api = Api(server.url)
    owner = "simpleapi"
    api.create_user(owner)
    index = f"{owner}/dev"
    api.create_index(index)
    built = [
        dists.make_wheel("Hello.Pkg", "1.0", requires_python=">=3.8,<4"),
        dists.make_sdist("Hello.Pkg", "1.0", requires_python=">=3.8,<4"),
        dists.make_wheel("Hello.Pkg", "1.1"),
        dists.make_sdist("Hello.Pkg", "2.0"),
        dists.make_wheel("Hello.Pkg", "2.0", requires_python=">=3.10"),
    ]
    for filename, data in built:
        reply = api.upload(index, filename, data, auth=(owner, "secret"), name="Hello.Pkg")
        assert reply.status_code == 200, reply.text
    auth = basic(owner, "secret")
    reply = api.http.patch(
        f"/{index}/hello-pkg/1.1", json={"yanked": 'broken "build" <b>'}, headers=auth
    )
    assert reply.status_code == 200, reply.text
    reply = api.http.patch(f"/{index}/hello-pkg/2.0", json={"yanked": True}, headers=auth)
    assert reply.status_code == 200, reply.text
    form = {":action": "submit", "name": "Hello.Pkg", "version": "3.0"}
    multipart = {key: (None, value) for key, value in form.items()}
    reply = api.http.post(f"/{index}/", files=multipart, headers=auth)
    assert reply.status_code == 200, reply.text
    yield Published(
        index=index,
        owner=owner,
        uploads=dict(built),
        wheels={name for name, _ in built if name.endswith(".whl")},
    )
    api.close()


@pytest.mark.parametrize("simple", ["+simple", "simple"])
def test_html_page_lists_every_file_with_its_attributes(
    http: httpx.Client, published: Published, simple: str
) -> None:
    page_url = f"{root(http)}/{published.index}/{simple}/hello-pkg/"
    reply = http.get(page_url, headers=HTML)
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"] == "text/html; charset=utf-8"
    assert reply.headers["vary"] == "Accept"
    assert 'data-requires-python="&gt;=3.8,&lt;4"' in reply.text
    assert 'data-yanked="broken &quot;build&quot; &lt;b&gt;"' in reply.text
    links = anchors(reply.text)
    assert set(links) == set(published.uploads)
    for filename, attrs in links.items():
        data = published.uploads[filename]
        href = attrs["href"]
        assert href is not None
        url, fragment = urldefrag(urljoin(page_url, href))
        assert fragment == f"sha256={hashlib.sha256(data).hexdigest()}"
        download = http.get(url)
        assert download.status_code == 200, (url, download.text)
        assert download.content == data
        if filename in published.wheels:
            value = f"sha256={hashlib.sha256(core_metadata(data)).hexdigest()}"
            assert attrs["data-core-metadata"] == value
            assert attrs["data-dist-info-metadata"] == value
        else:
            assert "data-core-metadata" not in attrs
            assert "data-dist-info-metadata" not in attrs
    wheel_10 = links["hello_pkg-1.0-py3-none-any.whl"]
    assert wheel_10["data-requires-python"] == ">=3.8,<4"
    assert "data-yanked" not in wheel_10
    assert links["hello_pkg-1.1-py3-none-any.whl"]["data-yanked"] == 'broken "build" <b>'
    assert "data-requires-python" not in links["hello_pkg-1.1-py3-none-any.whl"]
    assert links["hello_pkg-2.0.tar.gz"]["data-yanked"] == ""
    assert list(links) == sorted(links, key=lambda name: (name.split("-")[1], name))


@pytest.mark.parametrize("simple", ["+simple", "simple"])
def test_json_page_is_api_1_1_with_versions_sizes_and_upload_times(
    http: httpx.Client, published: Published, simple: str
) -> None:
    page_url = f"{root(http)}/{published.index}/{simple}/hello-pkg/"
    reply = http.get(page_url, headers=JSON)
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"] == SIMPLE_JSON
    assert reply.headers["vary"] == "Accept"
    document = reply.json()
    assert document["meta"] == {"api-version": "1.1"}
    assert document["name"] == "hello-pkg"
    # PEP 700 "versions": the versions uploaded; 3.0 was only registered, it has no files.
    assert document["versions"] == ["1.0", "1.1", "2.0"]
    files = {f["filename"]: f for f in document["files"]}
    assert set(files) == set(published.uploads)
    for filename, entry in files.items():
        data = published.uploads[filename]
        assert entry["hashes"] == {"sha256": hashlib.sha256(data).hexdigest()}
        assert entry["size"] == len(data)
        assert UPLOAD_TIME.fullmatch(entry["upload-time"]), entry
        assert "dist-info-metadata" not in entry
        assert "#" not in entry["url"]
        download = http.get(urljoin(page_url, entry["url"]))
        assert download.status_code == 200
        assert download.content == data
        if filename in published.wheels:
            digest = hashlib.sha256(core_metadata(data)).hexdigest()
            assert entry["core-metadata"] == {"sha256": digest}
        else:
            assert "core-metadata" not in entry
    assert files["hello_pkg-1.0.tar.gz"]["requires-python"] == ">=3.8,<4"
    assert "requires-python" not in files["hello_pkg-1.1-py3-none-any.whl"]
    assert "yanked" not in files["hello_pkg-1.0.tar.gz"]
    assert files["hello_pkg-1.1-py3-none-any.whl"]["yanked"] == 'broken "build" <b>'
    assert files["hello_pkg-2.0.tar.gz"]["yanked"] is True


def test_metadata_file_of_every_wheel_and_none_for_sdists(
    http: httpx.Client, published: Published
) -> None:
    page_url = f"{root(http)}/{published.index}/+simple/hello-pkg/"
    files = http.get(page_url, headers=JSON).json()["files"]
    for entry in files:
        metadata_url = urljoin(page_url, entry["url"]) + ".metadata"
        reply = http.get(metadata_url)
        if entry["filename"] in published.wheels:
            expected = core_metadata(published.uploads[entry["filename"]])
            assert reply.status_code == 200, reply.text
            assert reply.content == expected
            assert hashlib.sha256(reply.content).hexdigest() == entry["core-metadata"]["sha256"]
            assert reply.headers["content-length"] == str(len(expected))
            head = http.head(metadata_url)
            assert head.status_code == 200
            assert head.headers["content-length"] == str(len(expected))
        else:
            error(reply, 404, "only wheels")


def test_accept_negotiation(http: httpx.Client, published: Published) -> None:
    page = f"/{published.index}/+simple/hello-pkg/"
    cases = {
        None: "text/html; charset=utf-8",
        "*/*": "text/html; charset=utf-8",
        PIP_ACCEPT: SIMPLE_JSON,
        UV_ACCEPT: SIMPLE_JSON,
        "application/vnd.pypi.simple.latest+json": SIMPLE_JSON,
        "application/vnd.pypi.simple.v1+html": "application/vnd.pypi.simple.v1+html",
        "application/vnd.pypi.simple.latest+html": "application/vnd.pypi.simple.v1+html",
        f"text/html;q=0.9, {SIMPLE_JSON};q=0.8": "text/html; charset=utf-8",
    }
    etags: dict[str, dict[str, str]] = {}
    for accept, content_type in cases.items():
        headers = {} if accept is None else {"Accept": accept}
        for path in (page, f"/{published.index}/+simple/"):
            reply = http.get(path, headers=headers)
            assert reply.status_code == 200, (accept, reply.text)
            assert reply.headers["content-type"] == content_type, accept
            assert reply.headers["vary"] == "Accept"
            etags.setdefault(path, {})[content_type] = reply.headers["etag"]
    for by_type in etags.values():
        assert len(set(by_type.values())) == 3  # one ETag per representation
    html = http.get(page, headers=HTML).content
    assert http.get(page, headers={"Accept": "application/vnd.pypi.simple.v1+html"}).content == html
    for accept in ("application/json", "text/plain", "text/html;q=0", f"{SIMPLE_JSON};q=0"):
        for path in (page, f"/{published.index}/+simple/"):
            reply = http.get(path, headers={"Accept": accept})
            error(reply, 406, "text/html", SIMPLE_JSON, "application/vnd.pypi.simple.v1+html")


@pytest.mark.parametrize("simple", ["+simple", "simple"])
def test_redirects_to_the_normalised_name_and_the_trailing_slash(
    http: httpx.Client, published: Published, simple: str
) -> None:
    base = f"{root(http)}/{published.index}/{simple}"
    cases = {
        f"{base}/Hello.Pkg/": f"{base}/hello-pkg/",
        f"{base}/HELLO_PKG": f"{base}/hello-pkg/",
        f"{base}/hello-pkg": f"{base}/hello-pkg/",
        f"{base}/hello--pkg/?x=1": f"{base}/hello-pkg/?x=1",
        base: f"{base}/",
    }
    for url, target in cases.items():
        reply = http.get(url, headers=JSON)
        assert reply.status_code == 301, (url, reply.status_code)
        assert reply.headers["location"] == target
        followed = http.get(url, headers=JSON, follow_redirects=True)
        assert followed.status_code == 200
        assert len(followed.history) == 1


def test_invalid_project_names_get_400(http: httpx.Client, published: Published) -> None:
    page = f"/{published.index}/+simple/hello-pkg/"
    before = http.get(page, headers=JSON).content
    for name in ("caf\u00e9", "-dash", "a%20b", "dot.", "%2Bplus", "x" * 201):
        for simple in ("+simple", "simple"):
            reply = http.get(f"/{published.index}/{simple}/{name}/", headers=JSON)
            error(reply, 400, "invalid project name")
    assert http.get(page, headers=JSON).content == before


def test_unknown_project_user_or_index_get_404(http: httpx.Client, published: Published) -> None:
    reply = http.get(f"/{published.index}/+simple/no-such-project/", headers=JSON)
    error(reply, 404, "The project no-such-project does not exist.")
    reply = http.get(f"/{published.owner}/nope/+simple/hello-pkg/", headers=JSON)
    error(reply, 404, f"{published.owner}/nope could not be found")
    error(http.get("/nobody-here/dev/+simple/", headers=HTML), 404, "nobody-here/dev")
    error(http.get(f"/{published.owner}/nope/simple/", headers=HTML), 404, "could not be found")


def test_project_list_in_html_and_json(http: httpx.Client, published: Published) -> None:
    for simple in ("+simple", "simple"):
        list_url = f"{root(http)}/{published.index}/{simple}/"
        reply = http.get(list_url, headers=HTML)
        assert reply.status_code == 200
        links = anchors(reply.text)
        assert list(links) == ["hello-pkg"]
        page_url = urljoin(list_url, str(links["hello-pkg"]["href"]))
        assert page_url == f"{list_url}hello-pkg/"
        assert http.get(page_url, headers=HTML).status_code == 200
        reply = http.get(list_url, headers=JSON)
        assert reply.headers["content-type"] == SIMPLE_JSON
        assert reply.json() == {"meta": {"api-version": "1.1"}, "projects": [{"name": "hello-pkg"}]}


def test_etag_and_conditional_requests(
    http: httpx.Client, api: Api, unique: Callable[[str], str]
) -> None:
    user = unique("etag")
    api.create_user(user)
    index = f"{user}/dev"
    api.create_index(index)
    filename, data = dists.make_sdist("tagged", "1.0")
    assert api.upload(index, filename, data, auth=(user, "secret")).status_code == 200
    tags: dict[str, str] = {}
    for path in (f"/{index}/+simple/tagged/", f"/{index}/+simple/"):
        first = http.get(path, headers=JSON)
        etag = first.headers["etag"]
        assert re.fullmatch(r'"[^"]+"', etag)
        for condition in (etag, f"W/{etag}", f'"other", {etag}', "*"):
            reply = http.get(path, headers={**JSON, "If-None-Match": condition})
            assert reply.status_code == 304, condition
            assert reply.content == b""
            assert reply.headers["etag"] == etag
            assert reply.headers["vary"] == "Accept"
        assert http.get(path, headers={**JSON, "If-None-Match": '"other"'}).status_code == 200
        html_reply = http.get(path, headers={**HTML, "If-None-Match": etag})
        assert html_reply.status_code == 200  # another representation, another ETag
        tags[path] = etag
    filename, data = dists.make_wheel("tagged", "1.1")
    assert api.upload(index, filename, data, auth=(user, "secret")).status_code == 200
    for path, old in tags.items():
        reply = http.get(path, headers={**JSON, "If-None-Match": old})
        if path.endswith("/tagged/"):
            assert reply.status_code == 200
            assert reply.headers["etag"] != old
            assert filename in reply.text
        else:
            assert reply.status_code == 304  # the list of names did not change

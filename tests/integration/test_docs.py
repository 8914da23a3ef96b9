"""Documentation: doc zips uploaded with ``:action=doc_upload``, checked before anything is
stored, and served unpacked at ``/USER/INDEX/PROJECT/VERSION/+doc/PATH``."""

from __future__ import annotations

import hashlib
import io
import shutil
import socket
import stat
import threading
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.support.client import Api
from tests.support.doczips import (
    Member,
    make_zip,
    same_content_zip,
    sphinx_like,
    symlink,
    with_mode,
)
from tests.support.server import ServerProcess
from tests.support.uploading import (  # noqa: F401 - fixtures too
    ANY,
    Stage,
    assert_refused,
    fixture_make_stage,
    fixture_no_server_errors,
    fixture_stage,
    post,
    snapshot,
)

pytestmark = pytest.mark.usefixtures("no_server_errors")

SPHINX = make_zip(list(sphinx_like().items()))


def upload_docs(
    stage: Stage, data: bytes, version: str = "1.0", name: str = "hello-pkg"
) -> httpx.Response:
    form = [(":action", "doc_upload"), ("name", name), ("version", version)]
    return post(stage, form, (f"{name}-{version}.doc.zip", data))


def uploaded(stage: Stage, data: bytes, version: str = "1.0", name: str = "hello-pkg") -> None:
    reply = upload_docs(stage, data, version, name)
    assert reply.status_code == 200, reply.text


def doc(stage: Stage, path: str, version: str = "1.0", project: str = "hello-pkg") -> str:
    return f"/{stage.path}/{project}/{version}/+doc/{path}"


def get(stage: Stage, url: str, **headers: str) -> httpx.Response:
    return stage.api.http.get(url, headers={**ANY, **headers})


def page(text: str) -> bytes:
    return make_zip([("index.html", text.encode())])


def assert_not_found(reply: httpx.Response, message: str) -> None:
    assert reply.status_code == 404, reply.text
    assert reply.headers["content-type"] == "application/json"
    assert reply.json() == {"message": message}


# serving


def test_pages_are_served_with_their_bytes_and_types(stage: Stage) -> None:
    uploaded(stage, SPHINX)
    for path, data in sphinx_like().items():
        reply = get(stage, doc(stage, path))
        assert reply.status_code == 200, reply.text
        assert reply.content == data
    types = {
        "index.html": "text/html; charset=utf-8",
        "api/module.html": "text/html; charset=utf-8",
        "_static/style.css": "text/css; charset=utf-8",
        "_static/logo.png": "image/png",
    }
    for path, media_type in types.items():
        assert get(stage, doc(stage, path)).headers["content-type"] == media_type


def test_pages_have_validators_and_ranges(stage: Stage) -> None:
    uploaded(stage, SPHINX)
    url = doc(stage, "_static/logo.png")
    reply = get(stage, url)
    assert reply.headers["etag"] == f'"{hashlib.sha256(SPHINX).hexdigest()}"'
    assert reply.headers["last-modified"]
    assert reply.headers["accept-ranges"] == "bytes"
    again = get(stage, url, **{"If-None-Match": reply.headers["etag"]})
    assert again.status_code == 304
    assert again.content == b""
    part = get(stage, url, Range="bytes=0-7")
    assert part.status_code == 206
    assert part.content == b"\x89PNG\r\n\x1a\n"
    head = stage.api.http.head(url, headers=ANY)
    assert head.status_code == 200
    assert head.headers["content-length"] == str(len(sphinx_like()["_static/logo.png"]))


def test_folders_redirect_to_their_index_html(stage: Stage) -> None:
    uploaded(stage, SPHINX)
    base = f"/{stage.path}/hello-pkg/1.0/+doc"
    redirects = {
        base: f"{base}/index.html",
        f"{base}/": f"{base}/index.html",
        f"{base}/api": f"{base}/api/index.html",
        f"{base}/api/": f"{base}/api/index.html",
    }
    for url, target in redirects.items():
        reply = get(stage, url)
        assert reply.status_code == 302, url
        assert reply.headers["location"] == stage.api.url + target
    followed = stage.api.http.get(base, headers=ANY, follow_redirects=True)
    assert followed.content == sphinx_like()["index.html"]


def test_docs_of_a_version_without_release_files(make_stage: Callable[..., Stage]) -> None:
    stage = make_stage()
    uploaded(stage, SPHINX, version="0.1", name="Docs.Only")
    reply = get(stage, doc(stage, "index.html", version="0.1", project="docs-only"))
    assert reply.status_code == 200
    assert reply.content == sphinx_like()["index.html"]
    version = stage.api.http.get(f"/{stage.path}/docs-only/0.1").json()["result"]
    assert [link["rel"] for link in version["+links"]] == ["doczip"]
    latest = get(stage, doc(stage, "api/index.html", version="latest", project="docs-only"))
    assert latest.content == sphinx_like()["api/index.html"]


def test_latest_and_stable(stage: Stage) -> None:
    for version in ("1.0", "2.0", "3.0rc1", "1.5"):
        uploaded(stage, page(f"docs of {version}"), version=version)
    assert get(stage, doc(stage, "index.html", "latest")).text == "docs of 3.0rc1"
    assert get(stage, doc(stage, "index.html", "stable")).text == "docs of 2.0"
    assert get(stage, doc(stage, "index.html", "1.5")).text == "docs of 1.5"
    reply = get(stage, f"/{stage.path}/hello-pkg/stable/+doc/")
    assert reply.headers["location"].endswith(f"/{stage.path}/hello-pkg/stable/+doc/index.html")


def test_stable_falls_back_to_latest(stage: Stage) -> None:
    for version in ("2.0a1", "2.0b1", "2.0.dev3"):
        uploaded(stage, page(f"docs of {version}"), version=version, name="pre-only")
    for alias in ("latest", "stable"):
        reply = get(stage, doc(stage, "index.html", alias, project="pre-only"))
        assert reply.text == "docs of 2.0b1"


def test_a_second_upload_replaces_the_docs(stage: Stage) -> None:
    uploaded(stage, SPHINX)
    assert get(stage, doc(stage, "api/module.html")).status_code == 200
    uploaded(stage, page("second edition"))
    assert get(stage, doc(stage, "index.html")).text == "second edition"
    assert_not_found(
        get(stage, doc(stage, "api/module.html")),
        "no page 'api/module.html' in the documentation of hello-pkg 1.0",
    )
    version = stage.api.http.get(f"/{stage.path}/hello-pkg/1.0").json()["result"]
    [docs] = [link for link in version["+links"] if link["rel"] == "doczip"]
    assert docs["hashes"]["sha256"] == hashlib.sha256(page("second edition")).hexdigest()
    assert [entry["what"] for entry in docs["log"]] == ["upload", "overwrite"]


def test_docs_resolve_through_inheritance(api: Api, make_stage: Callable[..., Stage]) -> None:
    base = make_stage()
    uploaded(base, page("base 1.0"), version="1.0")
    uploaded(base, page("base 2.0"), version="2.0")
    child = Stage(api, base.user, f"{base.user}/child")
    api.create_index(child.path, bases=[base.path])
    assert get(child, doc(child, "index.html", "1.0")).text == "base 1.0"
    uploaded(child, page("child 1.0"), version="1.0")
    assert get(child, doc(child, "index.html", "1.0")).text == "child 1.0"
    assert get(child, doc(child, "index.html", "latest")).text == "base 2.0"
    assert get(base, doc(base, "index.html", "1.0")).text == "base 1.0"


def test_what_is_not_there_is_404(stage: Stage) -> None:
    uploaded(stage, SPHINX)
    cases = {
        doc(stage, "index.html", project="nothing"): (
            f"no documentation for project nothing on {stage.path}"
        ),
        doc(stage, "index.html", version="9.9"): (
            f"no documentation for hello-pkg 9.9 on {stage.path}"
        ),
        doc(stage, "missing.html"): "no page 'missing.html' in the documentation of hello-pkg 1.0",
        doc(stage, "index.html/"): "no page 'index.html/' in the documentation of hello-pkg 1.0",
        doc(stage, "index.html/x"): "no page 'index.html/x' in the documentation of hello-pkg 1.0",
        f"/{stage.user}/nope/hello-pkg/1.0/+doc/index.html": (
            f"The stage {stage.user}/nope could not be found."
        ),
    }
    for url, message in cases.items():
        assert_not_found(get(stage, url), message)


def test_a_version_without_docs_is_404(stage: Stage) -> None:
    """hello-pkg 1.0 has a wheel but no docs."""
    assert_not_found(
        get(stage, doc(stage, "index.html")),
        f"no documentation for project hello-pkg on {stage.path}",
    )
    uploaded(stage, page("2.0"), version="2.0")
    assert_not_found(
        get(stage, doc(stage, "index.html")),
        f"no documentation for hello-pkg 1.0 on {stage.path}",
    )


def test_names_that_are_not_normal_redirect(stage: Stage) -> None:
    uploaded(stage, SPHINX)
    reply = get(stage, f"/{stage.path}/Hello.Pkg/1.0/+doc/api/index.html")
    assert reply.status_code == 302
    target = f"{stage.api.url}/{stage.path}/hello-pkg/1.0/+doc/api/index.html"
    assert reply.headers["location"] == target


# From the docs' folder (SERVERDIR/+docs/SHA256), two levels up is the server directory.
TRAVERSALS = [
    "%2e%2e/%2e%2e/db.sqlite",
    "api/%2e%2e/%2e%2e/%2e%2e/db.sqlite",
    "..%2f..%2fdb.sqlite",
    "..%5c..%5cdb.sqlite",
    "%2fetc%2fpasswd",
    "%00index.html",
]


@pytest.mark.parametrize("path", TRAVERSALS)
def test_paths_that_escape_are_not_found(stage: Stage, path: str) -> None:
    uploaded(stage, SPHINX)
    reply = get(stage, doc(stage, path))
    assert reply.status_code == 404, reply.text
    assert reply.json()["message"].startswith("no page ")
    assert b"SQLite format" not in reply.content


def test_dot_segments_sent_as_they_are_are_not_found(stage: Stage) -> None:
    """httpx removes ``..`` from URLs; a raw request keeps them."""
    uploaded(stage, SPHINX)
    url = httpx.URL(stage.api.url)
    assert url.port is not None
    request = (
        f"GET /{stage.path}/hello-pkg/1.0/+doc/../../db.sqlite HTTP/1.1\r\n"
        f"Host: {url.host}\r\nConnection: close\r\n\r\n"
    )
    with socket.create_connection((url.host, url.port)) as connection:
        connection.sendall(request.encode())
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 404 ")
    assert b"SQLite format" not in answer


# rejected uploads

BAD_ZIPS: list[tuple[str, list[Member] | bytes, str]] = [
    ("absolute", [("/etc/cron.d/x", b"x")], "'/etc/cron.d/x' is an absolute path"),
    ("drive", [("C:\\evil.html", b"x")], "'C:\\\\evil.html' is an absolute path"),
    ("unc", [("\\\\server\\share\\x", b"x")], "'\\\\\\\\server\\\\share\\\\x' is an absolute path"),
    (
        "dotdot",
        [("index.html", b"ok"), ("a/../../../x.html", b"x")],
        "'a/../../../x.html' has a '..' segment that would escape its folder",
    ),
    ("backslash", [("a\\..\\x.html", b"x")], "'a\\\\..\\\\x.html' contains a backslash"),
    (
        "symlink",
        [("index.html", b"ok"), (symlink("passwd"), b"/etc/passwd")],
        "'passwd' is a symbolic link",
    ),
    (
        "fifo",
        [(with_mode("pipe", stat.S_IFIFO | 0o644), b"")],
        "'pipe' is not a regular file or folder",
    ),
    (
        "duplicate",
        [("index.html", b"1"), ("index.html", b"2")],
        "'index.html' appears more than once",
    ),
]


@pytest.mark.parametrize(
    ("members", "problem"), [c[1:] for c in BAD_ZIPS], ids=[c[0] for c in BAD_ZIPS]
)
def test_unsafe_zips_are_refused_and_nothing_is_stored(
    stage: Stage, server: ServerProcess, members: list[Member], problem: str
) -> None:
    assert_nothing_stored(stage, server, make_zip(members), f"documentation zip entry {problem}")


def test_a_zip_bomb_is_refused(stage: Stage, server: ServerProcess) -> None:
    data = make_zip([("index.html", b"ok"), ("bomb.html", bytes(10 * 1024 * 1024))])
    packed = zipfile.ZipFile(io.BytesIO(data)).getinfo("bomb.html").compress_size
    message = (
        f"documentation zip entry 'bomb.html' expands from {packed} to 10485760 bytes, "
        "more than 200:1 (a zip bomb?)"
    )
    assert_nothing_stored(stage, server, data, message)


def test_too_many_entries_are_refused(stage: Stage, server: ServerProcess) -> None:
    data = same_content_zip([f"page{n}.html" for n in range(20_001)], b"<p>page</p>")
    message = "documentation zip has 20001 entries, more than the limit of 20000"
    assert_nothing_stored(stage, server, data, message)


def test_more_than_a_gibibyte_is_refused(stage: Stage, server: ServerProcess) -> None:
    data = same_content_zip([f"page{n}.html" for n in range(1025)], bytes(1024 * 1024))
    message = (
        "documentation zip unpacks to 1074790400 bytes, more than the limit of 1073741824 bytes"
    )
    assert_nothing_stored(stage, server, data, message)


def assert_nothing_stored(stage: Stage, server: ServerProcess, data: bytes, message: str) -> None:
    """Refused with ``message``: no serial used, no file row, no blob, nothing served."""
    before = snapshot(stage, "hello-pkg")
    assert_refused(upload_docs(stage, data), 400, message)
    assert snapshot(stage, "hello-pkg") == before
    sha256 = hashlib.sha256(data).hexdigest()
    assert not (server.serverdir / "+blobs" / sha256[:2] / sha256[2:4] / sha256).exists()
    assert not (server.serverdir / "+docs" / sha256).exists()
    assert_not_found(
        get(stage, doc(stage, "index.html")),
        f"no documentation for project hello-pkg on {stage.path}",
    )


def test_the_entry_limit_itself_is_allowed(stage: Stage) -> None:
    data = same_content_zip([f"page{n}.html" for n in range(20_000)], b"<p>page</p>")
    uploaded(stage, data)
    assert get(stage, doc(stage, "page19999.html")).text == "<p>page</p>"


# the unpacked trees


def test_a_deleted_tree_is_unpacked_again(stage: Stage, server: ServerProcess) -> None:
    data = make_zip([*sphinx_like().items(), ("unique.html", stage.path.encode())])
    uploaded(stage, data)
    tree = server.serverdir / "+docs" / hashlib.sha256(data).hexdigest()
    assert not tree.exists()  # unpacked on the first request, not at upload
    assert get(stage, doc(stage, "index.html")).status_code == 200
    assert (tree / "api" / "module.html").read_bytes() == sphinx_like()["api/module.html"]
    shutil.rmtree(tree)
    reply = get(stage, doc(stage, "api/module.html"))
    assert reply.status_code == 200
    assert reply.content == sphinx_like()["api/module.html"]
    assert tree.is_dir()
    assert no_partial_trees(server.serverdir)


def no_partial_trees(serverdir: Path) -> bool:
    work = serverdir / "+docs" / ".work"
    return all(p.suffix == ".lock" for p in work.iterdir())


def test_two_workers_serve_the_same_docs_at_once(
    start_server: Callable[..., ServerProcess],
) -> None:
    server = start_server(workers=2)
    api = Api(server.url)
    api.create_user("alice")
    api.create_index("alice/dev")
    stage = Stage(api, "alice", "alice/dev")
    pages = {f"page{n}.html": f"<p>page {n}</p>".encode() * 100 for n in range(200)}
    data = make_zip(list(pages.items()))
    uploaded(stage, data)
    start = threading.Barrier(20)

    def fetch(n: int) -> tuple[int, bytes]:
        with httpx.Client(base_url=server.url) as client:  # one connection each
            start.wait()
            reply = client.get(doc(stage, f"page{n % 4}.html"))
            return reply.status_code, reply.content

    with ThreadPoolExecutor(20) as pool:
        replies = list(pool.map(fetch, range(20)))
    assert replies == [(200, pages[f"page{n % 4}.html"]) for n in range(20)]
    trees = [p.name for p in (server.serverdir / "+docs").iterdir() if p.name != ".work"]
    assert trees == [hashlib.sha256(data).hexdigest()]
    assert no_partial_trees(server.serverdir)
    api.close()

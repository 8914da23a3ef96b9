"""Project and version JSON (``projectconfig``, ``versiondata``), redirects and installer Accept."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import zipfile
from collections.abc import Callable

import pytest

from tests.support.client import Api
from tests.support.stages import PIP_ACCEPT, auth_of, new_user, sdist, upload, versions, wheel

ANY = {"Accept": "*/*"}
UV_ACCEPT = {
    "Accept": "application/vnd.pypi.simple.v1+json, "
    "application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01"
}


@pytest.fixture
def hello(api: Api, unique: Callable[[str], str]) -> str:
    """An index with Hello.Pkg 1.0 (sdist and wheel) and 2.0 (wheel)."""
    user = new_user(api, unique, "pd")
    index = f"{user}/dev"
    api.create_index(index)
    fields = {"summary": "Says hello", "requires_python": ">=3.9"}
    upload(api, index, sdist("Hello.Pkg", "1.0"), name="Hello.Pkg", fields=fields)
    upload(api, index, wheel("Hello.Pkg", "1.0"), name="Hello.Pkg", fields=fields)
    upload(api, index, wheel("Hello.Pkg", "2.0"), name="Hello.Pkg")
    return index


def test_projectconfig_is_keyed_by_version(api: Api, hello: str) -> None:
    user = hello.split("/")[0]
    reply = api.http.get(f"/{hello}/hello-pkg")
    assert reply.status_code == 200
    assert reply.headers["content-type"] == "application/json"
    body = reply.json()
    assert body["type"] == "projectconfig"
    result = body["result"]
    assert sorted(result) == ["1.0", "2.0"]
    one = result["1.0"]
    assert one["name"] == "Hello.Pkg"
    assert one["version"] == "1.0"
    assert one["summary"] == "Says hello"
    assert one["requires_python"] == ">=3.9"
    links = sorted(one["+links"], key=lambda link: link["href"])
    assert len(links) == 2
    today = dt.datetime.now(dt.UTC)
    for link in links:
        assert link["rel"] == "releasefile"
        assert link["href"].startswith(f"{api.url}/{hello}/+f/")
        assert "#" not in link["href"]
        digest = link["hashes"]["sha256"]
        assert link["hash_spec"] == f"sha256={digest}"
        assert link["href"].split("/+f/")[1].startswith(f"{digest[:3]}/{digest[3:16]}/")
        (entry,) = link["log"]
        assert entry["what"] == "upload"
        assert entry["who"] == user
        assert entry["dst"] == hello
        assert entry["when"][:2] == [today.year, today.month]
        assert len(entry["when"]) == 6
        content = api.http.get(link["href"], headers=ANY)
        assert content.status_code == 200
        assert hashlib.sha256(content.content).hexdigest() == digest
    filenames = [link["href"].rsplit("/", 1)[1] for link in links]
    assert sorted(filenames) == ["hello_pkg-1.0-py3-none-any.whl", "hello_pkg-1.0.tar.gz"]
    assert [link["rel"] for link in result["2.0"]["+links"]] == ["releasefile"]


def test_versiondata_matches_the_projectconfig_entry(api: Api, hello: str) -> None:
    everything = versions(api, hello, "hello-pkg")
    for version in ("1.0", "2.0"):
        reply = api.http.get(f"/{hello}/hello-pkg/{version}")
        assert reply.status_code == 200
        assert reply.json() == {"type": "versiondata", "result": everything[version]}


@pytest.mark.parametrize(
    "path",
    ["/hello-pkg", "/hello-pkg/", "/hello-pkg/1.0", "/hello-pkg/1.0/"],
)
def test_trailing_slash_variants(api: Api, hello: str, path: str) -> None:
    reply = api.http.get(f"/{hello}{path}")
    assert reply.status_code == 200
    expected = "versiondata" if "1.0" in path else "projectconfig"
    assert reply.json()["type"] == expected


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("/Hello.Pkg", "/hello-pkg"),
        ("/Hello.Pkg/", "/hello-pkg/"),
        ("/HELLO_PKG/1.0", "/hello-pkg/1.0"),
        ("/hello.pkg/1.0/?ignore_bases", "/hello-pkg/1.0/?ignore_bases"),
    ],
)
def test_names_are_redirected_to_the_normal_form(
    api: Api, hello: str, given: str, expected: str
) -> None:
    reply = api.http.get(f"/{hello}{given}")
    assert reply.status_code == 302
    assert reply.headers["location"] == f"{api.url}/{hello}{expected}"
    followed = api.http.get(reply.headers["location"])
    assert followed.status_code == 200


def test_unknown_things_are_404_with_a_message(api: Api, hello: str) -> None:
    cases = {
        f"/{hello}/nope": "The project nope does not exist.",
        f"/{hello}/nope/1.0": "The project nope does not exist.",
        f"/{hello}/hello-pkg/3.0": "The version 3.0 of project hello-pkg does not exist.",
        f"/{hello}x/hello-pkg": f"The stage {hello}x could not be found.",
        f"/{hello}x/hello-pkg/1.0": f"The stage {hello}x could not be found.",
    }
    for path, text in cases.items():
        reply = api.http.get(path)
        assert reply.status_code == 404, path
        assert reply.json() == {"message": text}, path


def test_invalid_project_name_is_400(api: Api, hello: str) -> None:
    reply = api.http.get(f"/{hello}/-bad-")
    assert reply.status_code == 400
    assert "invalid project name" in reply.json()["message"]


@pytest.mark.parametrize("accept", [PIP_ACCEPT, UV_ACCEPT], ids=["pip", "uv"])
def test_installers_are_sent_to_the_simple_pages(
    api: Api, hello: str, accept: dict[str, str]
) -> None:
    project = api.http.get(f"/{hello}/hello-pkg", headers=accept)
    assert project.status_code == 302
    assert project.headers["location"] == f"{api.url}/{hello}/+simple/hello-pkg/"
    index = api.http.get(f"/{hello}", headers=accept)
    assert index.status_code == 302
    assert index.headers["location"] == f"{api.url}/{hello}/+simple/"
    page = api.http.get(project.headers["location"], headers=accept)
    assert page.status_code == 200
    assert page.headers["content-type"] == "application/vnd.pypi.simple.v1+json"
    names = {f["filename"] for f in page.json()["files"]}
    assert "hello_pkg-2.0-py3-none-any.whl" in names


def test_doc_zip_is_linked_as_doczip(api: Api, hello: str) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.html", "<h1>docs</h1>")
    user = hello.split("/")[0]
    reply = api.upload(
        hello,
        "hello_pkg-1.0.doc.zip",
        buffer.getvalue(),
        auth=(user, "secret"),
        name="Hello.Pkg",
        version="1.0",
        action="doc_upload",
    )
    assert reply.status_code == 200, reply.text
    links = versions(api, hello, "hello-pkg")["1.0"]["+links"]
    docs = [link for link in links if link["rel"] == "doczip"]
    assert len(docs) == 1
    assert docs[0]["href"].endswith("/hello-pkg-1.0.doc.zip")
    assert api.http.get(docs[0]["href"], headers=ANY).content == buffer.getvalue()
    # A doc zip is not a release file: the simple page does not list it.
    page = api.http.get(f"/{hello}/+simple/hello-pkg/", headers={"Accept": "text/html"})
    assert "doc.zip" not in page.text


def test_registered_version_without_files(api: Api, hello: str) -> None:
    user = hello.split("/")[0]
    reply = api.http.post(
        f"/{hello}/",
        files={
            key: (None, value)
            for key, value in {
                ":action": "submit",
                "name": "Hello.Pkg",
                "version": "3.0",
                "summary": "soon",
            }.items()
        },
        headers=auth_of(user),
    )
    assert reply.status_code == 200, reply.text
    data = api.http.get(f"/{hello}/hello-pkg/3.0").json()["result"]
    assert data["summary"] == "soon"
    assert data["+links"] == []

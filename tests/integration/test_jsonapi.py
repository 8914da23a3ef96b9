"""The JSON API at /USER/INDEX/pypi/NAME/json and .../NAME/VERSION/json, in the public shape."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from typing import Any

import pytest

from tests.support.client import Api
from tests.support.stages import auth_of, new_user, sdist, upload, wheel

ANY = {"Accept": "*/*"}
TWINE_FIELDS = {
    "summary": "Says hello",
    "requires_python": ">=3.9",
    "requires_dist": ["attrs>=20", "idna; extra == 'net'"],
    "provides_extras": ["net"],
    "classifiers": ["Programming Language :: Python :: 3"],
    "project_urls": [
        "Homepage, https://example.invalid/hello",
        "Source, https://example.invalid/src",
    ],
    "author": "Ann Author",
    "license_expression": "MIT",
    "keywords": "hello,world",
    "description": "Long text",
    "description_content_type": "text/markdown",
}


def document(api: Api, path: str) -> dict[str, Any]:
    reply = api.http.get(path)
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"] == "application/json"
    body: dict[str, Any] = reply.json()
    return body


@pytest.fixture
def hello(api: Api, unique: Callable[[str], str]) -> tuple[str, dict[str, str]]:
    """Hello.Pkg 1.0 (sdist, wheel), 1.1 (wheel), 2.0rc1 (wheel); returns index, sha256s."""
    user = new_user(api, unique, "ja")
    index = f"{user}/dev"
    api.create_index(index)
    hashes: dict[str, str] = {}
    for built, fields in (
        (sdist("Hello.Pkg", "1.0"), TWINE_FIELDS),
        (wheel("Hello.Pkg", "1.0", requires_python=">=3.9"), TWINE_FIELDS),
        (wheel("Hello.Pkg", "1.1"), {"summary": "Newer"}),
        (wheel("Hello.Pkg", "2.0rc1"), {"summary": "Pre"}),
    ):
        hashes[built[0]] = upload(api, index, built, name="Hello.Pkg", fields=fields)
    return index, hashes


def test_project_document_shape(api: Api, hello: tuple[str, dict[str, str]]) -> None:
    index, hashes = hello
    doc = document(api, f"/{index}/pypi/hello-pkg/json")
    assert set(doc) >= {"info", "last_serial", "urls", "releases", "vulnerabilities"}
    assert isinstance(doc["last_serial"], int)
    info = doc["info"]
    assert info["name"] == "Hello.Pkg"
    assert info["version"] == "1.1"  # 2.0rc1 is a pre-release
    assert info["summary"] == "Newer"
    assert info["yanked"] is False
    assert info["yanked_reason"] is None
    assert info["package_url"] == f"{api.url}/{index}/pypi/hello-pkg/"
    assert info["release_url"] == f"{api.url}/{index}/pypi/hello-pkg/1.1/"
    assert sorted(doc["releases"]) == ["1.0", "1.1", "2.0rc1"]
    (url,) = doc["urls"]
    assert url["filename"] == "hello_pkg-1.1-py3-none-any.whl"
    assert doc["releases"]["1.1"] == doc["urls"]
    filenames = sorted(f["filename"] for f in doc["releases"]["1.0"])
    assert filenames == ["hello_pkg-1.0-py3-none-any.whl", "hello_pkg-1.0.tar.gz"]
    for files in doc["releases"].values():
        for entry in files:
            check_file_entry(api, index, entry, hashes)


def check_file_entry(api: Api, index: str, entry: dict[str, Any], hashes: dict[str, str]) -> None:
    filename = entry["filename"]
    digest = hashes[filename]
    assert entry["digests"]["sha256"] == digest
    assert entry["url"].startswith(f"{api.url}/{index}/+f/{digest[:3]}/{digest[3:16]}/")
    assert entry["url"].endswith(filename)
    content = api.http.get(entry["url"], headers=ANY)
    assert content.status_code == 200
    assert hashlib.sha256(content.content).hexdigest() == digest
    assert entry["size"] == len(content.content)
    is_wheel = filename.endswith(".whl")
    assert entry["packagetype"] == ("bdist_wheel" if is_wheel else "sdist")
    assert entry["python_version"] == ("py3" if is_wheel else "source")
    moment = dt.datetime.fromisoformat(entry["upload_time_iso_8601"])
    assert moment.tzinfo is not None
    assert abs(dt.datetime.now(dt.UTC) - moment) < dt.timedelta(days=1)
    assert entry["upload_time_iso_8601"].endswith("Z")
    assert dt.datetime.fromisoformat(entry["upload_time"]).tzinfo is None
    assert entry["yanked"] is False
    assert entry["yanked_reason"] is None
    assert "requires_python" in entry


def test_info_carries_the_core_metadata(api: Api, hello: tuple[str, dict[str, str]]) -> None:
    index, _ = hello
    info = document(api, f"/{index}/pypi/hello-pkg/1.0/json")["info"]
    assert info["name"] == "Hello.Pkg"
    assert info["version"] == "1.0"
    assert info["summary"] == "Says hello"
    assert info["requires_python"] == ">=3.9"
    assert info["requires_dist"] == ["attrs>=20", "idna; extra == 'net'"]
    assert info["provides_extra"] == ["net"]
    assert info["classifiers"] == ["Programming Language :: Python :: 3"]
    assert info["project_urls"] == {
        "Homepage": "https://example.invalid/hello",
        "Source": "https://example.invalid/src",
    }
    assert info["author"] == "Ann Author"
    assert info["license_expression"] == "MIT"
    assert info["keywords"] == "hello,world"
    assert info["description"] == "Long text"
    assert info["description_content_type"] == "text/markdown"
    newer = document(api, f"/{index}/pypi/hello-pkg/1.1/json")["info"]
    assert newer["requires_dist"] is None
    assert newer["requires_python"] is None
    assert newer["project_urls"] is None


def test_version_document(api: Api, hello: tuple[str, dict[str, str]]) -> None:
    index, hashes = hello
    doc = document(api, f"/{index}/pypi/hello-pkg/1.0/json")
    assert "releases" not in doc
    assert doc["info"]["version"] == "1.0"
    assert sorted(u["filename"] for u in doc["urls"]) == [
        "hello_pkg-1.0-py3-none-any.whl",
        "hello_pkg-1.0.tar.gz",
    ]
    for entry in doc["urls"]:
        check_file_entry(api, index, entry, hashes)
        assert entry["requires_python"] == ">=3.9"
    pre = document(api, f"/{index}/pypi/hello-pkg/2.0rc1/json")
    assert pre["info"]["version"] == "2.0rc1"
    assert [u["filename"] for u in pre["urls"]] == ["hello_pkg-2.0rc1-py3-none-any.whl"]


def yank(api: Api, index: str, version: str, value: object) -> None:
    user = index.split("/")[0]
    reply = api.http.patch(
        f"/{index}/hello-pkg/{version}", json={"yanked": value}, headers=auth_of(user)
    )
    assert reply.status_code == 200, reply.text


def test_latest_skips_yanked_and_pre_releases(api: Api, hello: tuple[str, dict[str, str]]) -> None:
    index, _ = hello
    path = f"/{index}/pypi/hello-pkg/json"
    yank(api, index, "1.1", "broken")
    doc = document(api, path)
    assert doc["info"]["version"] == "1.0"
    assert sorted(doc["releases"]) == ["1.0", "1.1", "2.0rc1"]
    assert [f["yanked_reason"] for f in doc["releases"]["1.1"]] == ["broken"]
    yank(api, index, "1.0", True)
    # Every final release is yanked: the newest release that is not yanked is the pre-release.
    assert document(api, path)["info"]["version"] == "2.0rc1"
    yank(api, index, "2.0rc1", True)
    # Everything yanked: the newest final release, shown as yanked.
    info = document(api, path)["info"]
    assert info["version"] == "1.1"
    assert info["yanked"] is True
    assert info["yanked_reason"] == "broken"
    yank(api, index, "1.1", False)
    assert document(api, path)["info"]["version"] == "1.1"


def test_only_pre_releases(api: Api, unique: Callable[[str], str]) -> None:
    user = new_user(api, unique, "pre")
    index = f"{user}/dev"
    api.create_index(index)
    for version in ("1.0a1", "1.0b2", "0.9rc1", "1.0.dev3"):
        upload(api, index, wheel("early", version))
    assert document(api, f"/{index}/pypi/early/json")["info"]["version"] == "1.0b2"


def test_version_order_is_by_pep440_not_text(api: Api, unique: Callable[[str], str]) -> None:
    user = new_user(api, unique, "ord")
    index = f"{user}/dev"
    api.create_index(index)
    for version in ("1.9", "1.10", "1.2.post1"):
        upload(api, index, sdist("ordered", version))
    doc = document(api, f"/{index}/pypi/ordered/json")
    assert doc["info"]["version"] == "1.10"
    assert list(doc["releases"]) == ["1.2.post1", "1.9", "1.10"]


def test_merged_over_bases(api: Api, unique: Callable[[str], str]) -> None:
    user = new_user(api, unique, "jm")
    base, child = f"{user}/base", f"{user}/child"
    api.create_index(base)
    api.create_index(child, bases=[base])
    in_base = upload(api, base, sdist("merged", "1.0", summary="b"), fields={"summary": "base"})
    upload(api, base, sdist("merged", "2.0"), fields={"summary": "base 2"})
    own = upload(api, child, sdist("merged", "1.0", summary="c"), fields={"summary": "child"})
    assert own != in_base
    doc = document(api, f"/{child}/pypi/merged/json")
    assert doc["info"]["version"] == "2.0"
    assert doc["info"]["summary"] == "base 2"
    assert sorted(doc["releases"]) == ["1.0", "2.0"]
    (one,) = doc["releases"]["1.0"]
    assert one["digests"]["sha256"] == own
    assert one["url"].startswith(f"{api.url}/{child}/+f/")
    assert doc["releases"]["2.0"][0]["url"].startswith(f"{api.url}/{base}/+f/")
    assert document(api, f"/{child}/pypi/merged/1.0/json")["info"]["summary"] == "child"
    assert document(api, f"/{base}/pypi/merged/1.0/json")["info"]["summary"] == "base"
    only_base = document(api, f"/{base}/pypi/merged/json")
    assert only_base["releases"]["1.0"][0]["digests"]["sha256"] == in_base


def test_unknown_things_are_404(api: Api, hello: tuple[str, dict[str, str]]) -> None:
    index, _ = hello
    cases = {
        f"/{index}/pypi/nope/json": "The project nope does not exist.",
        f"/{index}/pypi/nope/1.0/json": "The project nope does not exist.",
        f"/{index}/pypi/hello-pkg/9.9/json": "The version 9.9 of project hello-pkg does not exist.",
        f"/{index}x/pypi/hello-pkg/json": f"The stage {index}x could not be found.",
    }
    for path, text in cases.items():
        reply = api.http.get(path)
        assert reply.status_code == 404, path
        assert reply.json() == {"message": text}


def test_invalid_name_is_400(api: Api, hello: tuple[str, dict[str, str]]) -> None:
    index, _ = hello
    reply = api.http.get(f"/{index}/pypi/-x-/json")
    assert reply.status_code == 400
    assert "invalid project name" in reply.json()["message"]


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("Hello.Pkg/json", "hello-pkg/json"),
        ("HELLO_PKG/1.0/json", "hello-pkg/1.0/json"),
    ],
)
def test_names_are_redirected(
    api: Api, hello: tuple[str, dict[str, str]], given: str, expected: str
) -> None:
    index, _ = hello
    reply = api.http.get(f"/{index}/pypi/{given}")
    assert reply.status_code == 301
    assert reply.headers["location"] == f"{api.url}/{index}/pypi/{expected}"
    assert api.http.get(reply.headers["location"]).status_code == 200


def test_registered_only_version(api: Api, hello: tuple[str, dict[str, str]]) -> None:
    index, _ = hello
    user = index.split("/")[0]
    form = {":action": "submit", "name": "Hello.Pkg", "version": "3.0", "summary": "soon"}
    reply = api.http.post(
        f"/{index}/", files={k: (None, v) for k, v in form.items()}, headers=auth_of(user)
    )
    assert reply.status_code == 200, reply.text
    doc = document(api, f"/{index}/pypi/hello-pkg/json")
    assert doc["releases"]["3.0"] == []
    assert doc["info"]["version"] == "1.1"  # a release without files is not installable
    three = document(api, f"/{index}/pypi/hello-pkg/3.0/json")
    assert three["info"]["summary"] == "soon"
    assert three["urls"] == []

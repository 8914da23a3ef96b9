"""What successful uploads store: files, digests, overwrites, registered metadata, the core
metadata of wheels and sdists, and documentation zips."""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Callable

import pytest

from tests.support import dists
from tests.support.uploading import (  # noqa: F401 - fixtures too
    BOUNDARY,
    DOCS,
    Stage,
    assert_refused,
    download,
    encode_multipart,
    file_link,
    fixture_make_stage,
    fixture_no_server_errors,
    fixture_stage,
    post,
    raw_post,
    replaced,
    sdist_with_pkg_info,
    simple_page,
    snapshot,
    twine_form,
    upload,
    zip_of,
)

pytestmark = pytest.mark.usefixtures("no_server_errors")


def test_right_digests_are_accepted(stage: Stage) -> None:
    built = dists.make_sdist("hello-pkg", "2.0")
    reply = post(stage, twine_form("hello-pkg", "2.0", built[1]), built)
    assert reply.status_code == 200, reply.text
    assert reply.reason_phrase == "OK"
    by_name = {f["filename"]: f for f in simple_page(stage, "hello-pkg")["files"]}
    assert by_name[built[0]]["hashes"] == {"sha256": hashlib.sha256(built[1]).hexdigest()}
    assert by_name[built[0]]["size"] == len(built[1])


def test_upload_without_digests_is_accepted(stage: Stage) -> None:
    built = dists.make_wheel("hello-pkg", "2.0")
    reply = post(stage, twine_form("hello-pkg", "2.0"), built)
    assert reply.status_code == 200, reply.text
    link = file_link(stage, "hello-pkg", built[0])
    assert download(stage, link).content == built[1]


def test_volatile_overwrite_serves_the_new_content(stage: Stage) -> None:
    old = dists.make_wheel("hello-pkg", "2.0", payload=b"# old\n")
    new = dists.make_wheel("hello-pkg", "2.0", payload=b"# new\n")
    assert old[0] == new[0]
    assert upload(stage, old, "hello-pkg", "2.0").status_code == 200
    old_link = file_link(stage, "hello-pkg", old[0])
    reply = upload(stage, new, "hello-pkg", "2.0")
    assert reply.status_code == 200, reply.text
    new_link = file_link(stage, "hello-pkg", new[0])
    assert new_link != old_link
    assert download(stage, new_link).content == new[1]
    gone = download(stage, old_link)
    assert gone.status_code == 410
    page = simple_page(stage, "hello-pkg")
    hashes = [f["hashes"]["sha256"] for f in page["files"] if f["filename"] == new[0]]
    assert hashes == [hashlib.sha256(new[1]).hexdigest()]
    [link] = stage.api.http.get(f"/{stage.path}/hello-pkg/2.0").json()["result"]["+links"]
    assert [entry["what"] for entry in link["log"]] == ["upload", "overwrite"]
    assert link["log"][1]["count"] == 1


def test_non_volatile_identical_upload_is_200_and_changes_nothing(
    make_stage: Callable[..., Stage],
) -> None:
    stage = make_stage(volatile=False)
    built = dists.make_wheel("stable-pkg", "1.0")
    assert upload(stage, built, "stable-pkg", "1.0").status_code == 200
    before = snapshot(stage, "stable-pkg")
    reply = upload(stage, built, "stable-pkg", "1.0")
    assert reply.status_code == 200, reply.text
    message = "Upload of identical file to non volatile index."
    assert reply.json() == {"message": message}
    assert reply.reason_phrase == message
    assert snapshot(stage, "stable-pkg") == before


def test_non_volatile_different_content_is_409(make_stage: Callable[..., Stage]) -> None:
    stage = make_stage(volatile=False)
    first = dists.make_wheel("stable-pkg", "1.0", payload=b"# first\n")
    assert upload(stage, first, "stable-pkg", "1.0").status_code == 200
    before = snapshot(stage, "stable-pkg")
    second = dists.make_wheel("stable-pkg", "1.0", payload=b"# second\n")
    reply = upload(stage, second, "stable-pkg", "1.0")
    assert_refused(reply, 409, f"{first[0]} already exists in non-volatile index")
    assert snapshot(stage, "stable-pkg") == before
    assert download(stage, file_link(stage, "stable-pkg", first[0])).content == first[1]


def test_submit_registers_metadata(stage: Stage) -> None:
    form = [
        (":action", "submit"),
        ("name", "Registered.Pkg"),
        ("version", "0.5"),
        ("summary", "registered, not uploaded"),
        ("classifiers", "Programming Language :: Python :: 3"),
        ("classifiers", "License :: OSI Approved :: MIT License"),
        ("author", "UNKNOWN"),
    ]
    reply = post(stage, form, None)
    assert reply.status_code == 200, reply.text
    data = stage.api.http.get(f"/{stage.path}/registered-pkg/0.5").json()["result"]
    assert data["name"] == "Registered.Pkg"
    assert data["summary"] == "registered, not uploaded"
    assert data["classifiers"] == [
        "Programming Language :: Python :: 3",
        "License :: OSI Approved :: MIT License",
    ]
    assert data["author"] == ""
    assert data["requires_dist"] == []
    assert data["+links"] == []


def test_submit_on_non_volatile_index_may_not_change_metadata(
    make_stage: Callable[..., Stage],
) -> None:
    stage = make_stage(volatile=False)
    form = [(":action", "submit"), ("name", "frozen"), ("version", "1.0"), ("summary", "one")]
    assert post(stage, form, None).status_code == 200
    again = post(stage, form, None)
    assert again.status_code == 200, again.text
    before = snapshot(stage, "frozen")
    reply = post(stage, replaced(form, "summary", "two"), None)
    assert_refused(reply, 409, "frozen 1.0 already registered in non-volatile index")
    assert snapshot(stage, "frozen") == before


def test_wheel_metadata_is_served_byte_for_byte(stage: Stage) -> None:
    built = dists.make_wheel("hello-pkg", "2.0", requires=["six>=1.0"], requires_python=">=3.9")
    assert upload(stage, built, "hello-pkg", "2.0").status_code == 200
    with zipfile.ZipFile(io.BytesIO(built[1])) as archive:
        metadata = archive.read("hello_pkg-2.0.dist-info/METADATA")
    page = simple_page(stage, "hello-pkg")
    [entry] = [f for f in page["files"] if f["filename"] == built[0]]
    assert entry["core-metadata"] == {"sha256": hashlib.sha256(metadata).hexdigest()}
    reply = download(stage, file_link(stage, "hello-pkg", built[0]) + ".metadata")
    assert reply.status_code == 200
    assert reply.content == metadata


def test_sdist_pkg_info_fills_what_the_form_leaves_out(stage: Stage) -> None:
    pkg_info = (
        "Metadata-Version: 2.2\n"
        "Name: hello-pkg\n"
        "Version: 2.0\n"
        "Summary: from PKG-INFO\n"
        "Author: Jürgen Müller\n"
        "Requires-Python: >=3.10\n"
        "Classifier: Programming Language :: Python :: 3\n"
        "Classifier: Typing :: Typed\n"
        "Project-URL: Source, https://example.org/src\n"
        "Requires-Dist: attrs>=23\n"
        "License: UNKNOWN\n"
        "Description-Content-Type: text/markdown\n"
        "\n"
        "# Hello\n\nThe long description.\n"
    )
    built = sdist_with_pkg_info("hello_pkg-2.0", pkg_info)
    form = twine_form("hello-pkg", "2.0", built[1], summary="from the form")
    reply = post(stage, form, built)
    assert reply.status_code == 200, reply.text
    data = stage.api.http.get(f"/{stage.path}/hello-pkg/2.0").json()["result"]
    assert data["summary"] == "from the form"  # the form wins
    assert data["metadata_version"] == "2.1"
    assert data["author"] == "Jürgen Müller"
    assert data["requires_python"] == ">=3.10"
    assert data["classifiers"] == ["Programming Language :: Python :: 3", "Typing :: Typed"]
    assert data["project_urls"] == ["Source, https://example.org/src"]
    assert data["requires_dist"] == ["attrs>=23"]
    assert data["license"] == ""
    assert data["description_content_type"] == "text/markdown"
    assert data["description"] == "# Hello\n\nThe long description.\n"
    page = simple_page(stage, "hello-pkg")
    [entry] = [f for f in page["files"] if f["filename"] == built[0]]
    assert entry["requires-python"] == ">=3.10"
    assert "core-metadata" not in entry


# documentation


def test_doc_upload_stores_a_zip(stage: Stage) -> None:
    form = [(":action", "doc_upload"), ("name", "hello-pkg"), ("version", "1.0")]
    reply = post(stage, form, ("hello-pkg-1.0.doc.zip", DOCS))
    assert reply.status_code == 200, reply.text
    links = stage.api.http.get(f"/{stage.path}/hello-pkg/1.0").json()["result"]["+links"]
    [doczip] = [link for link in links if link["rel"] == "doczip"]
    assert doczip["href"].endswith("/hello-pkg-1.0.doc.zip")
    assert download(stage, doczip["href"]).content == DOCS
    page = simple_page(stage, "hello-pkg")
    assert [f["filename"] for f in page["files"]] == [dists.wheel_name("hello-pkg", "1.0")]


def test_doc_upload_without_version_uses_the_latest(stage: Stage) -> None:
    assert (
        upload(stage, dists.make_wheel("hello-pkg", "1.10"), "hello-pkg", "1.10").status_code == 200
    )
    form = [(":action", "doc_upload"), ("name", "hello-pkg")]
    reply = post(stage, form, ("docs.zip", zip_of({"index.html": b"latest"})))
    assert reply.status_code == 200, reply.text
    links = stage.api.http.get(f"/{stage.path}/hello-pkg/1.10").json()["result"]["+links"]
    assert [link["rel"] for link in links].count("doczip") == 1


def test_name_matches_the_filename_after_normalisation(stage: Stage) -> None:
    built = dists.make_sdist("Spelled.Out_Name", "1.0")
    assert built[0] == "spelled_out_name-1.0.tar.gz"
    reply = upload(stage, built, "Spelled.Out_Name", "1.0")
    assert reply.status_code == 200, reply.text
    data = stage.api.http.get(f"/{stage.path}/spelled-out-name/1.0").json()["result"]
    assert data["name"] == "Spelled.Out_Name"
    assert [f["filename"] for f in simple_page(stage, "spelled-out-name")["files"]] == [built[0]]


def test_media_type_of_the_upload_is_case_insensitive(stage: Stage) -> None:
    built = dists.make_wheel("hello-pkg", "2.0")
    body = encode_multipart(twine_form("hello-pkg", "2.0", built[1]), built)
    reply = raw_post(stage, body, f"Multipart/Form-Data; boundary={BOUNDARY}")
    assert reply.status_code == 200, reply.text
    assert download(stage, file_link(stage, "hello-pkg", built[0])).content == built[1]

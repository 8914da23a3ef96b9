"""Uploads in setuptools' pre-wheel formats (zip sdist, bdist_dumb, egg, wininst, msi, rpm): each
is stored, listed on the simple pages and in devpi's and PyPI's JSON views, and served as
uploaded; one whose name does not match the stated name and version is a precise 400."""

from __future__ import annotations

import hashlib
import re

import pytest

from tests.support import legacy_dists
from tests.support.uploading import (  # noqa: F401 - fixtures too
    ANY,
    Built,
    Stage,
    assert_refused,
    file_link,
    fixture_make_stage,
    fixture_no_server_errors,
    fixture_stage,
    post,
    simple_page,
    snapshot,
    twine_form,
    upload,
)

pytestmark = pytest.mark.usefixtures("no_server_errors")

FORMATS = legacy_dists.every_format("Old.Pkg", "1.0")


def _uploaded(stage: Stage) -> dict[str, bytes]:
    for _type, built in FORMATS:
        reply = upload(stage, built, "Old.Pkg", "1.0")
        assert reply.status_code == 200, reply.text
    return {filename: data for _type, (filename, data) in FORMATS}


def test_each_format_is_listed_on_the_json_simple_page(stage: Stage) -> None:
    uploaded = _uploaded(stage)
    page = simple_page(stage, "old-pkg")
    files = {f["filename"]: f for f in page["files"]}
    assert set(files) == set(uploaded)
    for filename, data in uploaded.items():
        assert files[filename]["hashes"] == {"sha256": hashlib.sha256(data).hexdigest()}
        assert files[filename]["size"] == len(data)
        assert "core-metadata" not in files[filename]
    assert page["versions"] == ["1.0"]


def test_each_format_is_listed_on_the_html_simple_page(stage: Stage) -> None:
    uploaded = _uploaded(stage)
    reply = stage.api.http.get(f"/{stage.path}/+simple/old-pkg/", headers={"Accept": "text/html"})
    assert reply.status_code == 200
    anchors = re.findall(r"<a ([^>]*)>([^<]*)</a>", reply.text)
    assert {text for _attrs, text in anchors} == set(uploaded)
    for attrs, text in anchors:
        assert f"#sha256={hashlib.sha256(uploaded[text]).hexdigest()}" in attrs
        assert "data-core-metadata" not in attrs


MEDIA_TYPES = {
    "zip": "application/zip",
    "egg": "application/zip",
    "gz": "application/octet-stream",
    "exe": "application/vnd.microsoft.portable-executable",
    "msi": "application/x-msi",
    "rpm": "application/x-rpm",
}


def test_each_format_downloads_as_uploaded(stage: Stage) -> None:
    for filename, data in _uploaded(stage).items():
        reply = stage.api.http.get(file_link(stage, "old-pkg", filename), headers=ANY)
        assert reply.status_code == 200, filename
        assert hashlib.sha256(reply.content).hexdigest() == hashlib.sha256(data).hexdigest()
        assert reply.headers["content-type"] == MEDIA_TYPES[filename.rsplit(".", 1)[1]]
        metadata = stage.api.http.get(file_link(stage, "old-pkg", filename) + ".metadata")
        assert metadata.status_code == 404, filename


def test_devpi_json_view_lists_each_format(stage: Stage) -> None:
    uploaded = _uploaded(stage)
    reply = stage.api.http.get(f"/{stage.path}/old-pkg/1.0", headers={"Accept": "application/json"})
    assert reply.status_code == 200, reply.text
    links = reply.json()["result"]["+links"]
    assert {link["href"].rsplit("/", 1)[1] for link in links} == set(uploaded)
    assert {link["rel"] for link in links} == {"releasefile"}
    for link in links:
        data = uploaded[link["href"].rsplit("/", 1)[1]]
        assert link["hash_spec"] == f"sha256={hashlib.sha256(data).hexdigest()}"


def test_json_api_names_each_package_type(stage: Stage) -> None:
    _uploaded(stage)
    reply = stage.api.http.get(f"/{stage.path}/pypi/old-pkg/1.0/json")
    assert reply.status_code == 200, reply.text
    types = {f["filename"]: f["packagetype"] for f in reply.json()["urls"]}
    assert types == {filename: packagetype for packagetype, (filename, _data) in FORMATS}
    pythons = {f["filename"]: f["python_version"] for f in reply.json()["urls"]}
    assert pythons[legacy_dists.egg("Old.Pkg", "1.0")[0]] == "3.11"
    assert pythons[legacy_dists.zip_sdist("Old.Pkg", "1.0")[0]] == "source"


def test_zip_sdist_metadata_fills_the_release(stage: Stage) -> None:
    built = legacy_dists.zip_sdist("Old.Pkg", "1.0")
    form = [(k, v) for k, v in twine_form("Old.Pkg", "1.0", built[1]) if k != "summary"]
    assert post(stage, form, built).status_code == 200
    reply = stage.api.http.get(f"/{stage.path}/old-pkg/1.0", headers={"Accept": "application/json"})
    assert reply.json()["result"]["summary"] == "legacy"


MISMATCHED: list[tuple[str, Built, str, str]] = [
    (
        "egg-other-version",
        legacy_dists.egg("Old.Pkg", "1.0.1"),
        "1.0",
        "filename 'old_pkg-1.0.1-py3.11.egg' does not contain version '1.0': "
        "a bdist_egg is named NAME-VERSION-pyX.Y[-PLATFORM].egg",
    ),
    (
        "dumb-other-version",
        legacy_dists.dumb_tar_gz("Old.Pkg", "1.0rc1"),
        "1.0",
        "filename 'old_pkg-1.0rc1.linux-x86_64.tar.gz' does not contain version '1.0': "
        "a bdist_dumb is named NAME-VERSION.PLATFORM.tar.gz (or .zip)",
    ),
    (
        "dumb-zip-other-name",
        legacy_dists.dumb_zip("Older.Pkg", "1.0"),
        "1.0",
        "filename 'older_pkg-1.0.linux-x86_64.zip' does not match project name 'Old.Pkg'",
    ),
    (
        "zip-sdist-other-version",
        legacy_dists.zip_sdist("Old.Pkg", "1.1"),
        "1.0",
        "filename 'old_pkg-1.1.zip' does not contain version '1.0'",
    ),
    (
        "exe-other-name",
        legacy_dists.wininst("Pkg", "1.0"),
        "1.0",
        "filename 'pkg-1.0.win-amd64.exe' does not match project name 'Old.Pkg'",
    ),
    (
        "msi-other-version",
        legacy_dists.msi("Old.Pkg", "1.0"),
        "1.0.post2",
        "filename 'old_pkg-1.0.win-amd64.msi' does not contain version '1.0.post2': "
        "a bdist_msi is named NAME-VERSION[.PLATFORM][-pyX.Y].msi",
    ),
    (
        "rpm-other-version",
        legacy_dists.rpm("Old.Pkg", "1.0"),
        "1",
        "filename 'old-pkg-1.0-1.noarch.rpm' does not contain version '1': "
        "a bdist_rpm is named NAME-VERSION-RELEASE.ARCH.rpm",
    ),
]


@pytest.mark.parametrize(
    ("built", "version", "message"),
    [case[1:] for case in MISMATCHED],
    ids=[case[0] for case in MISMATCHED],
)
def test_mismatched_name_or_version_is_400_and_stores_nothing(
    stage: Stage, built: Built, version: str, message: str
) -> None:
    before = snapshot(stage, "old-pkg", "older-pkg", "pkg")
    reply = post(stage, twine_form("Old.Pkg", version, built[1]), built)
    assert_refused(reply, 400, message)
    assert snapshot(stage, "old-pkg", "older-pkg", "pkg") == before

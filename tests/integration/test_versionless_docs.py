"""Documentation uploaded without registering first, in every name devpi-client gives a doc
archive: ``NAME[-VERSION].doc[s].zip``, and ``.doc[s].tar.gz`` / ``.tgz`` repacked to
``NAME[-VERSION].doc.zip``. devpi-client sends ``version`` only when the name holds one.

The version is the form's, else the one the file's name holds, else the latest registered on
this index, pre-releases included (devpi-server 6 takes the form's or the latest: it never
reads the file name).
"""

from __future__ import annotations

import io
import tarfile
from collections.abc import Callable

import httpx
import pytest

from tests.support import dists
from tests.support.uploading import (  # noqa: F401 - fixtures too
    ANY,
    Stage,
    assert_refused,
    fixture_make_stage,
    fixture_no_server_errors,
    post,
    snapshot,
    upload,
    zip_of,
)

pytestmark = pytest.mark.usefixtures("no_server_errors")

NAME_ONLY = ("hello-pkg.doc.zip", "hello-pkg.docs.zip", "Hello_Pkg.doc.zip")
VERSIONED = ("hello-pkg-1.0.doc.zip", "hello-pkg-1.0.docs.zip", "Hello_Pkg-1.0.DOCS.zip")
NO_RELEASES = "doczip has no version and 'hello-pkg' has no releases to derive one from"


@pytest.fixture(name="stage")
def fixture_empty_stage(make_stage: Callable[..., Stage]) -> Stage:
    """An index on which hello-pkg is not known."""
    return make_stage()


def docs(text: str) -> bytes:
    return zip_of({"index.html": text.encode(), "api/index.html": b"api"})


def tar_gz(text: str) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        data = text.encode()
        info = tarfile.TarInfo("index.html")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def send(
    stage: Stage, filename: str, data: bytes, version: str | None = None, name: str = "hello-pkg"
) -> httpx.Response:
    """What ``devpi upload`` posts for a doc archive: ``version`` only when there is one."""
    form = [(":action", "doc_upload"), ("protocol_version", "1"), ("name", name)]
    if version is not None:
        form.append(("version", version))
    return post(stage, form, (filename, data))


def stored(stage: Stage, filename: str, data: bytes, version: str | None = None) -> None:
    reply = send(stage, filename, data, version)
    assert reply.status_code == 200, reply.text


def served(stage: Stage, version: str, path: str = "index.html") -> str:
    reply = stage.api.http.get(f"/{stage.path}/hello-pkg/{version}/+doc/{path}", headers=ANY)
    assert reply.status_code == 200, (version, reply.text)
    return reply.text


def rels(stage: Stage) -> dict[str, list[str]]:
    """Each version of hello-pkg on the stage with the file names it links."""
    reply = stage.api.http.get(f"/{stage.path}/hello-pkg")
    assert reply.status_code == 200, reply.text
    return {
        version: sorted(link["href"].rsplit("/", 1)[1] for link in data["+links"])
        for version, data in reply.json()["result"].items()
    }


def release(stage: Stage, *versions: str) -> None:
    for version in versions:
        reply = upload(stage, dists.make_wheel("hello-pkg", version), "hello-pkg", version)
        assert reply.status_code == 200, reply.text


def wheel(version: str) -> str:
    return dists.wheel_name("hello-pkg", version)


# a version in the form: what devpi-client sends for a name with a version


@pytest.mark.parametrize("filename", VERSIONED + NAME_ONLY)
def test_a_new_project_gets_the_forms_version(stage: Stage, filename: str) -> None:
    stored(stage, filename, docs("one"), "1.0")
    assert rels(stage) == {"1.0": ["hello-pkg-1.0.doc.zip"]}
    for version in ("1.0", "latest", "stable"):
        assert served(stage, version) == "one"
    assert served(stage, "latest", "api/index.html") == "api"


def test_the_forms_version_wins_over_the_file_name(stage: Stage) -> None:
    release(stage, "1.0")
    stored(stage, "hello-pkg-1.0.doc.zip", docs("two"), "2.0")
    assert rels(stage) == {"1.0": [wheel("1.0")], "2.0": ["hello-pkg-2.0.doc.zip"]}
    assert served(stage, "2.0") == "two"


# no version in the form


@pytest.mark.parametrize("filename", NAME_ONLY)
def test_a_name_only_archive_gets_the_latest_release(stage: Stage, filename: str) -> None:
    release(stage, "1.0", "2.0", "3.0a1")  # like devpi: the latest, pre-releases too
    stored(stage, filename, docs("latest"))
    assert rels(stage)["3.0a1"] == sorted([wheel("3.0a1"), "hello-pkg-3.0a1.doc.zip"])
    assert rels(stage)["2.0"] == [wheel("2.0")]
    for version in ("3.0a1", "latest", "stable"):  # stable: no stable version has docs
        assert served(stage, version) == "latest"


@pytest.mark.parametrize("filename", VERSIONED)
def test_a_versioned_name_gives_its_version(stage: Stage, filename: str) -> None:
    release(stage, "1.0", "2.0")  # devpi-server would store these docs as 2.0's
    stored(stage, filename, docs("named"))
    assert rels(stage)["1.0"] == sorted([wheel("1.0"), "hello-pkg-1.0.doc.zip"])
    assert rels(stage)["2.0"] == [wheel("2.0")]
    assert served(stage, "1.0") == "named"


@pytest.mark.parametrize("filename", VERSIONED)
def test_a_versioned_name_on_a_new_project(stage: Stage, filename: str) -> None:
    stored(stage, filename, docs("new"))
    assert rels(stage) == {"1.0": ["hello-pkg-1.0.doc.zip"]}
    assert served(stage, "stable") == "new"


def test_a_name_of_another_project_says_nothing(stage: Stage) -> None:
    release(stage, "1.0", "2.0")
    stored(stage, "other-1.0.doc.zip", docs("other"))
    assert rels(stage)["2.0"] == sorted([wheel("2.0"), "hello-pkg-2.0.doc.zip"])


# refused: a precise 400, nothing changed


def assert_refused_unchanged(
    reply_of: Callable[[], httpx.Response], stage: Stage, message: str
) -> None:
    before = snapshot(stage, "hello-pkg")
    assert_refused(reply_of(), 400, message)
    assert snapshot(stage, "hello-pkg") == before


@pytest.mark.parametrize("filename", NAME_ONLY)
def test_no_version_for_a_new_project(stage: Stage, filename: str) -> None:
    assert_refused_unchanged(lambda: send(stage, filename, docs("x")), stage, NO_RELEASES)


def test_no_version_when_the_last_release_was_deleted(stage: Stage) -> None:
    release(stage, "1.0")
    gone = stage.api.http.delete(f"/{stage.path}/hello-pkg/1.0", headers=stage.auth)
    assert gone.status_code == 200, gone.text
    assert_refused_unchanged(
        lambda: send(stage, "hello-pkg.doc.zip", docs("x")), stage, NO_RELEASES
    )


def test_releases_of_a_base_index_do_not_count(make_stage: Callable[..., Stage]) -> None:
    base = make_stage()
    release(base, "1.0")
    stage = make_stage(bases=[base.path])
    assert rels(stage) == {"1.0": [wheel("1.0")]}  # seen through the base
    assert_refused_unchanged(
        lambda: send(stage, "hello-pkg.doc.zip", docs("x")), stage, NO_RELEASES
    )


def test_an_empty_version_field(stage: Stage) -> None:
    release(stage, "1.0")
    message = "doc_upload for hello-pkg: the 'version' field is empty"
    reply_of = lambda: send(stage, "hello-pkg-1.0.doc.zip", docs("x"), "")  # noqa: E731
    assert_refused_unchanged(reply_of, stage, message)


TARS = [
    ("hello-pkg-1.0.doc.tar.gz", "1.0"),
    ("hello-pkg-1.0.docs.tgz", "1.0"),
    ("hello-pkg.docs.tar.gz", None),
    ("hello-pkg-1.0.doc.zip", "1.0"),  # named a zip, but it is not one
]


@pytest.mark.parametrize(("filename", "version"), TARS)
def test_a_tar_archive_as_it_is(stage: Stage, filename: str, version: str | None) -> None:
    release(stage, "1.0")  # devpi-server stores it as a .doc.zip that cannot be unpacked
    message = (
        f"documentation '{filename}' is a tar archive, not a zip: "
        "repack it as a zip (devpi upload does that for .tar.gz and .tgz docs)"
    )
    assert_refused_unchanged(lambda: send(stage, filename, tar_gz("x"), version), stage, message)

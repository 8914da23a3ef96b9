"""The names devpi-client gives documentation archives, read as devpi-client reads them."""

from __future__ import annotations

import pytest

from pkgdepot.domain.docnames import DocArchiveName, looks_like_tar, parse, version_for


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        ("hello-pkg.doc.zip", DocArchiveName("hello-pkg", None, False)),
        ("hello-pkg.docs.zip", DocArchiveName("hello-pkg", None, False)),
        ("hello-pkg-1.0.doc.zip", DocArchiveName("hello-pkg", "1.0", False)),
        ("Hello_Pkg-1.0rc1.DOCS.ZIP", DocArchiveName("hello-pkg", "1.0rc1", False)),
        (
            "hello-pkg-2.0.post1.dev3.doc.tar.gz",
            DocArchiveName("hello-pkg", "2.0.post1.dev3", True),
        ),
        ("hello-pkg.docs.tgz", DocArchiveName("hello-pkg", None, True)),
        ("py3-thing-1.2.doc.zip", DocArchiveName("py3-thing", "1.2", False)),
        ("hello-pkg-latest.doc.zip", DocArchiveName("hello-pkg-latest", None, False)),
    ],
)
def test_names_devpi_client_recognises(filename: str, expected: DocArchiveName) -> None:
    assert parse(filename) == expected


@pytest.mark.parametrize(
    "filename", ["docs.zip", "hello-pkg-1.0.zip", "hello-pkg-1.0.doc.tar", "hello-pkg.doc.zip.gz"]
)
def test_other_names_say_nothing(filename: str) -> None:
    assert parse(filename) is None
    assert version_for(filename, "hello-pkg") is None


def test_a_version_counts_only_for_the_project_named() -> None:
    assert version_for("Hello.Pkg-1.0.doc.zip", "hello-pkg") == "1.0"
    assert version_for("other-1.0.doc.zip", "hello-pkg") is None


def test_tar_names() -> None:
    assert looks_like_tar("x.doc.TAR.GZ")
    assert looks_like_tar("x.tgz")
    assert not looks_like_tar("x.doc.zip")

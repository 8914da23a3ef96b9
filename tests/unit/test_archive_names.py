"""Which file names an upload of a project at a version may carry, and as what package type."""

from __future__ import annotations

import pytest

from pkgdepot import archives, legacy_archives
from pkgdepot.errors import InvalidInput

ACCEPTED = [
    ("hello_pkg-2.0-py3-none-any.whl", "2.0", "bdist_wheel"),
    ("hello_pkg-2.0.tar.gz", "2.0", "sdist"),
    ("hello-pkg-2.0.zip", "2.0", "sdist"),
    ("Hello.Pkg-2.0.zip", "2.0", "sdist"),
    ("hello_pkg-2.0-py3.11.egg", "2.0", "bdist_egg"),
    ("hello_pkg-2.0-py3.11-linux-x86_64.egg", "2.0", "bdist_egg"),
    ("hello_pkg-2.0_1-py3.11.egg", "2.0-1", "bdist_egg"),
    ("hello-pkg-2.0.linux-x86_64.tar.gz", "2.0", "bdist_dumb"),
    ("hello_pkg-2.0.macosx-10.9-x86_64.tar.gz", "2.0", "bdist_dumb"),
    ("hello_pkg-2.0.win32.zip", "2.0", "bdist_dumb"),
    ("hello_pkg-2.0.post1.linux-x86_64.tar.gz", "2.0.post1", "bdist_dumb"),
    ("hello_pkg-2.0+local.1.linux-x86_64.tar.gz", "2.0+local.1", "bdist_dumb"),
    ("hello_pkg-2.0_local.1.linux-x86_64.tar.gz", "2.0+local.1", "bdist_dumb"),
    ("hello_pkg-2.0.win-amd64-py3.11.exe", "2.0", "bdist_wininst"),
    ("hello_pkg-2.0.win32.exe", "2.0", "bdist_wininst"),
    ("hello_pkg-2.0.exe", "2.0", "bdist_wininst"),
    ("hello_pkg-2.0.win32.msi", "2.0", "bdist_msi"),
    ("hello_pkg-2.0.win-amd64-py3.11.msi", "2.0", "bdist_msi"),
    ("hello-pkg-2.0-1.noarch.rpm", "2.0", "bdist_rpm"),
    ("hello-pkg-2.0-1.src.rpm", "2.0", "bdist_rpm"),
    ("hello-pkg-2.0_1-1.x86_64.rpm", "2.0-1", "bdist_rpm"),
]


@pytest.mark.parametrize(("filename", "version", "packagetype"), ACCEPTED)
def test_accepted(filename: str, version: str, packagetype: str) -> None:
    dist = archives.check_dist_filename(filename, "hello-pkg", "hello-pkg", version)
    assert dist.packagetype == packagetype
    assert dist.project == "hello-pkg"
    assert archives.packagetype(filename)[1] == packagetype


REFUSED = [
    ("hello_pkg-2.0.1-py3.11.egg", "2.0", "does not contain version '2.0'"),
    ("hello_pkg-2.0.egg", "2.0", "does not contain version '2.0'"),
    ("hello_pkg-2.0.post1.linux-x86_64.tar.gz", "2.0", "does not contain version '2.0'"),
    ("hello_pkg-2.0.1.linux-x86_64.tar.gz", "2.0", "does not contain version '2.0'"),
    ("hello_pkg-2.0rc1.win32.exe", "2.0", "does not contain version '2.0'"),
    ("hello-pkg-2.0.noarch.rpm", "2.0", "does not contain version '2.0'"),
    ("hello-pkg-2.0-1-1.noarch.rpm", "2.0", "does not contain version '2.0'"),
    ("hello-2.0.win32.msi", "2.0", "does not match project name 'hello-pkg'"),
    ("hello_pkgs-2.0-py3.11.egg", "2.0", "does not match project name 'hello-pkg'"),
    ("hello_pkg-2.0.tar.gz", "2.1", "does not contain version '2.1'"),
    ("hello_pkg.tar.gz", "2.0", "is not a valid archive name: an sdist is named"),
    ("hello_pkg-2.0.deb", "2.0", "is not a valid archive name: only wheels"),
    ("hello_pkg-2.0.whl", "2.0", "is not a valid archive name: a wheel is named"),
    ("../hello_pkg-2.0.win32.exe", "2.0", "is not a valid archive name"),
    ("hello_pkg-2.0.doc.zip", "2.0", "documentation is uploaded with :action=doc_upload"),
]


@pytest.mark.parametrize(("filename", "version", "message"), REFUSED)
def test_refused(filename: str, version: str, message: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        archives.check_dist_filename(filename, "hello-pkg", "hello-pkg", version)
    assert message in refused.value.message


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        ("hello_pkg-2.0-py3-none-any.whl", ("py3", "bdist_wheel")),
        ("hello_pkg-2.0.tar.gz", ("source", "sdist")),
        ("hello_pkg-2.0.zip", ("source", "sdist")),
        ("hello_pkg-2.0-py3.11.egg", ("3.11", "bdist_egg")),
        ("hello_pkg-2.0.win32-py2.7.exe", ("2.7", "bdist_wininst")),
        ("hello_pkg-2.0.linux-x86_64.tar.gz", ("any", "bdist_dumb")),
        ("hello-pkg-2.0-1.noarch.rpm", ("any", "bdist_rpm")),
    ],
)
def test_packagetype(filename: str, expected: tuple[str, str]) -> None:
    assert archives.packagetype(filename) == expected


@pytest.mark.parametrize(
    ("filename", "version"),
    [
        ("hello_pkg-2.0-py3.11-linux-x86_64.egg", "2.0"),
        ("hello_pkg-2.0.post1.linux-x86_64.tar.gz", "2.0.post1"),
        ("hello_pkg-2.0+local.1.linux-x86_64.tar.gz", "2.0+local.1"),
        ("hello_pkg-2.0.win-amd64-py3.11.exe", "2.0"),
        ("hello-pkg-2.0_1-1.src.rpm", "2.0-1"),
        ("hello-pkg-2.0.noarch.rpm", None),
        ("other-2.0.win32.msi", None),
    ],
)
def test_version_read_from_a_legacy_name(filename: str, version: str | None) -> None:
    assert legacy_archives.version_in(filename, "hello-pkg") == version

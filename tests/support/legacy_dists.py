"""Small real archives in setuptools' pre-wheel formats, built in memory, the same bytes each
time they are built."""

from __future__ import annotations

import gzip
import io
import tarfile
import zipfile

from packaging.utils import canonicalize_name

Built = tuple[str, bytes]


def _pkg_info(name: str, version: str) -> bytes:
    return f"Metadata-Version: 1.1\nName: {name}\nVersion: {version}\nSummary: legacy\n".encode()


def _escaped(name: str) -> str:
    return canonicalize_name(name).replace("-", "_")


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in members.items():
            archive.writestr(zipfile.ZipInfo(path, date_time=(2000, 1, 1, 0, 0, 0)), data)
    return buffer.getvalue()


def _tar_gz(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for path, data in members.items():
            info = tarfile.TarInfo(path)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return gzip.compress(buffer.getvalue(), mtime=0)


def zip_sdist(name: str, version: str) -> Built:
    """``sdist --formats=zip``: NAME-VERSION.zip with PKG-INFO, setup.py and a module that
    pip can build and install."""
    base, module = f"{_escaped(name)}-{version}", _escaped(name) + "_mod"
    setup = (
        "from setuptools import setup\n"
        f"setup(name={name!r}, version={version!r}, packages=[{module!r}])\n"
    )
    members = {
        f"{base}/PKG-INFO": _pkg_info(name, version),
        f"{base}/setup.py": setup.encode(),
        # Without it pip would also ask the index for "wheel", which setuptools no longer needs.
        f"{base}/pyproject.toml": b'[build-system]\nrequires = ["setuptools"]\n'
        b'build-backend = "setuptools.build_meta"\n',
        f"{base}/{module}/__init__.py": f"VERSION = {version!r}\n".encode(),
    }
    return f"{base}.zip", _zip(members)


def _dumb_members(name: str) -> dict[str, bytes]:
    module = _escaped(name)
    return {f"usr/lib/python3/site-packages/{module}/__init__.py": b"VALUE = 1\n"}


def dumb_tar_gz(name: str, version: str, platform: str = "linux-x86_64") -> Built:
    return f"{_escaped(name)}-{version}.{platform}.tar.gz", _tar_gz(_dumb_members(name))


def dumb_zip(name: str, version: str, platform: str = "linux-x86_64") -> Built:
    return f"{_escaped(name)}-{version}.{platform}.zip", _zip(_dumb_members(name))


def egg(name: str, version: str, python: str = "3.11") -> Built:
    module = _escaped(name)
    members = {f"{module}/__init__.py": b"", "EGG-INFO/PKG-INFO": _pkg_info(name, version)}
    return f"{module}-{version}-py{python}.egg", _zip(members)


def wininst(name: str, version: str) -> Built:
    return f"{_escaped(name)}-{version}.win-amd64.exe", b"MZ\x90\x00 a wininst blob " * 8


def msi(name: str, version: str) -> Built:
    return f"{_escaped(name)}-{version}.win-amd64.msi", b"\xd0\xcf\x11\xe0 an msi blob " * 8


def rpm(name: str, version: str) -> Built:
    return f"{canonicalize_name(name)}-{version}-1.noarch.rpm", b"\xed\xab\xee\xdb an rpm " * 8


def every_format(name: str, version: str) -> list[tuple[str, Built]]:
    """(package type, archive) for each legacy format and the zip sdist."""
    return [
        ("sdist", zip_sdist(name, version)),
        ("bdist_dumb", dumb_tar_gz(name, version)),
        ("bdist_dumb", dumb_zip(name, version)),
        ("bdist_egg", egg(name, version)),
        ("bdist_wininst", wininst(name, version)),
        ("bdist_msi", msi(name, version)),
        ("bdist_rpm", rpm(name, version)),
    ]

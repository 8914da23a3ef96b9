"""Release archives: filename rules and core metadata (wheel METADATA, sdist PKG-INFO)."""

from __future__ import annotations

import dataclasses
import tarfile
import zipfile
import zlib
from email.parser import Parser
from email.policy import compat32
from pathlib import Path

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import Version

from pkgdepot import legacy_archives
from pkgdepot.domain.names import short_repr
from pkgdepot.errors import InvalidInput

MAX_METADATA_SIZE = 10 * 1024 * 1024
SDIST_SUFFIXES = (".tar.gz", ".zip")
# What reading a corrupt archive raises: bad headers, truncated or encrypted members,
# unsupported compression methods.
ARCHIVE_ERRORS = (
    zipfile.BadZipFile,
    tarfile.TarError,
    zlib.error,
    EOFError,
    OSError,
    RuntimeError,  # also NotImplementedError
    ValueError,
)


@dataclasses.dataclass(frozen=True)
class DistFilename:
    project: str  # normalised
    version: Version
    packagetype: str  # bdist_wheel, sdist, or a legacy format's (bdist_egg, bdist_dumb, ...)

    @property
    def is_wheel(self) -> bool:
        return self.packagetype == "bdist_wheel"


ACCEPTED = (
    "only wheels (.whl), sdists (.tar.gz, .zip) and setuptools' legacy formats "
    "(.egg, .exe, .msi, .rpm, bdist_dumb .tar.gz and .zip) are accepted"
)


def _checked_name(filename: str) -> str:
    if "/" in filename or "\\" in filename or filename.startswith(".") or "\x00" in filename:
        raise InvalidInput(f"{short_repr(filename)} is not a valid archive name")
    return filename


def _wheel_filename(filename: str) -> DistFilename:
    try:
        name, version, _build, _tags = parse_wheel_filename(filename)
    except InvalidWheelFilename:
        raise InvalidInput(
            f"{short_repr(filename)} is not a valid archive name: a wheel is named "
            "NAME-VERSION[-BUILD]-PYTHON-ABI-PLATFORM.whl"
        ) from None
    return DistFilename(name, version, "bdist_wheel")


def _sdist_filename(filename: str) -> DistFilename | None:
    try:
        name, version = parse_sdist_filename(filename)
    except InvalidSdistFilename:
        return None
    return DistFilename(canonicalize_name(name), version, "sdist")


def _check_modern(dist: DistFilename, filename: str, name: str, project: str, version: str) -> None:
    if dist.project != project:
        raise InvalidInput(f"filename {filename!r} does not match project name {name!r}")
    if dist.version != Version(version):
        raise InvalidInput(f"filename {filename!r} does not contain version {version!r}")


def check_dist_filename(filename: str, name: str, project: str, version: str) -> DistFilename:
    """The upload's file as what it claims to be: ``name`` (normalised: ``project``) at
    ``version``. Wheels (PEP 427) and sdists (PEP 625) are parsed strictly; the legacy
    formats are matched against the stated name and version (``legacy_archives``)."""
    _checked_name(filename)
    if filename.endswith(".whl"):
        dist = _wheel_filename(filename)
    elif filename.endswith(SDIST_SUFFIXES) and (sdist := _sdist_filename(filename)):
        dist = sdist
    else:
        return _legacy_filename(filename, name, project, version)
    _check_modern(dist, filename, name, project, version)
    return dist


def _legacy_filename(filename: str, name: str, project: str, version: str) -> DistFilename:
    fmt = legacy_archives.format_of(filename)
    if fmt is None:
        raise InvalidInput(f"{short_repr(filename)} is not a valid archive name: {ACCEPTED}")
    if filename.endswith(".doc.zip"):
        raise InvalidInput(
            f"{short_repr(filename)} is not a valid archive name: documentation is uploaded "
            "with :action=doc_upload"
        )
    if fmt is legacy_archives.DUMB and not legacy_archives.DUMB.after_version.search(filename):
        raise InvalidInput(
            f"{short_repr(filename)} is not a valid archive name: an sdist is named "
            f"NAME-VERSION.tar.gz (or .zip), a bdist_dumb {fmt.shape}"
        )
    legacy_archives.check(filename, fmt, name, project, version)
    return DistFilename(project, Version(version), fmt.packagetype)


def packagetype(filename: str) -> tuple[str, str]:
    """A stored release file's Python version and package type, as PyPI's JSON API and twine
    give them: (``py3``, ``bdist_wheel``), (``source``, ``sdist``), (``3.11``, ``bdist_egg``)."""
    if filename.endswith(".whl"):
        return filename.removesuffix(".whl").split("-")[-3], "bdist_wheel"
    fmt = legacy_archives.format_of(filename)
    if fmt is None or (filename.endswith(SDIST_SUFFIXES) and _sdist_filename(filename)):
        return "source", "sdist"
    return legacy_archives.python_version(filename), fmt.packagetype


def _read_limited(stream: object, what: str) -> bytes:
    read = getattr(stream, "read")  # noqa: B009 - zip and tar members share only this method
    data: bytes = read(MAX_METADATA_SIZE + 1)
    if len(data) > MAX_METADATA_SIZE:
        raise InvalidInput(f"{what} is larger than {MAX_METADATA_SIZE} bytes")
    return data


def _wheel_metadata(path: Path, filename: str) -> bytes:
    with zipfile.ZipFile(path) as archive:
        candidates = [
            name
            for name in archive.namelist()
            if name.count("/") == 1 and name.endswith(".dist-info/METADATA")
        ]
        if len(candidates) != 1:
            raise InvalidInput(f"{filename} has no single .dist-info/METADATA")
        with archive.open(candidates[0]) as member:
            return _read_limited(member, "METADATA")


def _sdist_metadata(path: Path, filename: str) -> bytes | None:
    if filename.endswith(".zip"):
        with zipfile.ZipFile(path) as archive:
            names = [n for n in archive.namelist() if n.count("/") == 1 and n.endswith("/PKG-INFO")]
            if not names:
                return None
            with archive.open(names[0]) as member:
                return _read_limited(member, "PKG-INFO")
    with tarfile.open(path, mode="r:gz") as tar:
        for info in tar:
            if info.isfile() and info.name.count("/") == 1 and info.name.endswith("/PKG-INFO"):
                extracted = tar.extractfile(info)
                if extracted is None:
                    return None
                return _read_limited(extracted, "PKG-INFO")
    return None


def extract_core_metadata(path: Path, filename: str) -> bytes | None:
    """The archive's core metadata: required for wheels, best effort for sdists, and none for
    the legacy formats."""
    try:
        if filename.endswith(".whl"):
            return _wheel_metadata(path, filename)
        if packagetype(filename)[1] != "sdist":
            return None
        return _sdist_metadata(path, filename)
    except ARCHIVE_ERRORS as error:
        raise InvalidInput(f"{filename} is not a valid archive: {error}") from None


def metadata_fields(raw: bytes) -> dict[str, str | list[str]]:
    """Core metadata as a dict of lower-case, underscore keys; repeated fields become lists."""
    # Core metadata is UTF-8; parsing text keeps non-ASCII values readable (no surrogates).
    message = Parser(policy=compat32).parsestr(raw.decode("utf-8", "replace"))
    fields: dict[str, str | list[str]] = {}
    multiple = {
        "classifier",
        "requires",
        "provides",
        "obsoletes",
        "requires_dist",
        "provides_extra",
        "project_url",
        "platform",
        "supported_platform",
        "dynamic",
        "license_file",
        "obsoletes_dist",
        "provides_dist",
        "requires_external",
    }
    for key, value in message.items():
        name = key.lower().replace("-", "_")
        text = str(value)
        if name in multiple:
            existing = fields.setdefault(name, [])
            assert isinstance(existing, list)
            existing.append(text)
        else:
            fields[name] = text
    body = message.get_payload()
    if isinstance(body, str) and body.strip() and "description" not in fields:
        fields["description"] = body
    return fields

"""The archives setuptools made before wheels: eggs, bdist_dumb, bdist_wininst, bdist_msi and
bdist_rpm files.

Their names follow no standard, so, as devpi does, they are judged against the name and
version the upload states: a file's name is the project's name (any spelling that normalises
to it), a dash, a spelling of the version, then what the format's tool appends.
"""

from __future__ import annotations

import dataclasses
import re

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from pkgdepot.errors import InvalidInput


@dataclasses.dataclass(frozen=True)
class LegacyFormat:
    packagetype: str
    suffixes: tuple[str, ...]
    after_version: re.Pattern[str]  # what the tool appends to NAME-VERSION
    shape: str


# A platform (linux-x86_64, win32, win-amd64, macosx-10.9-x86_64) starts with a letter, so a
# version's digits are never taken for one.
_PLATFORM = r"\.[a-z][\w.+-]*"
_PYTHON = r"-py\d+(?:\.\d+)*"
EGG = LegacyFormat(
    "bdist_egg",
    (".egg",),
    re.compile(rf"{_PYTHON}(?:-[\w.+-]+)?\.egg", re.IGNORECASE),
    "NAME-VERSION-pyX.Y[-PLATFORM].egg",
)
DUMB = LegacyFormat(
    "bdist_dumb",
    (".tar.gz", ".zip"),
    re.compile(rf"{_PLATFORM}\.(?:tar\.gz|zip)", re.IGNORECASE),
    "NAME-VERSION.PLATFORM.tar.gz (or .zip)",
)
WININST = LegacyFormat(
    "bdist_wininst",
    (".exe",),
    re.compile(rf"(?:{_PLATFORM})?\.exe", re.IGNORECASE),
    "NAME-VERSION[.PLATFORM][-pyX.Y].exe",
)
MSI = LegacyFormat(
    "bdist_msi",
    (".msi",),
    re.compile(rf"(?:{_PLATFORM})?\.msi", re.IGNORECASE),
    "NAME-VERSION[.PLATFORM][-pyX.Y].msi",
)
RPM = LegacyFormat(
    "bdist_rpm",
    (".rpm",),
    re.compile(r"-[\w.+~]+\.\w+\.rpm", re.IGNORECASE),
    "NAME-VERSION-RELEASE.ARCH.rpm",
)
FORMATS = (EGG, DUMB, WININST, MSI, RPM)
SUFFIXES = tuple(suffix for fmt in FORMATS for suffix in fmt.suffixes)
_PY_TAG = re.compile(r"-py(\d+(?:\.\d+)*)", re.IGNORECASE)


def format_of(filename: str) -> LegacyFormat | None:
    """The legacy format a name ending in ``.tar.gz`` or ``.zip`` is, if not an sdist's."""
    lower = filename.lower()
    return next((f for f in FORMATS if lower.endswith(f.suffixes)), None)


def _escaped(version: str) -> str:
    """The version as setuptools, bdist_rpm and wheel write it into a file name."""
    return re.sub(r"[^\w.]+", "_", version)


def _spellings(version: str) -> list[str]:
    normal = str(Version(version))
    # Longest first: "1.0.post1" before "1.0", so a longer spelling is never cut short.
    return sorted({version, normal, _escaped(version), _escaped(normal)}, key=len, reverse=True)


def _extends_version(spelling: str, rest: str) -> bool:
    """Whether what follows the version in the name would make a longer version: the
    ``.post1`` of ``NAME-1.0.post1.linux-x86_64.tar.gz`` when version 1.0 was stated."""
    if not rest.startswith(".") or "+" in spelling:  # a local version ends only at the suffix
        return False
    try:
        Version(spelling + "." + rest[1:].split(".")[0])
    except InvalidVersion:
        return False
    return True


def _names_project(prefix: str, project: str) -> bool:
    return canonicalize_name(prefix) == project


def _after_name(filename: str, project: str) -> list[int]:
    """Where a version may start: after each ``-`` that ends a spelling of ``project``."""
    return [
        at + 1
        for at, char in enumerate(filename)
        if char == "-" and _names_project(filename[:at], project)
    ]


def _is_version(text: str) -> bool:
    try:
        Version(text)
    except InvalidVersion:
        return False
    return True


def version_in(filename: str, project: str) -> str | None:
    """The longest version that ``filename``, a legacy archive of ``project``, can be read to
    carry (for old devpi exports, which did not record it), unescaped; None if none."""
    fmt = format_of(filename)
    for start in _after_name(filename, project) if fmt else ():
        rest = filename[start:]
        for end in range(len(rest), 0, -1):
            spelling, tail = rest[:end], rest[end:]
            if not fmt or not fmt.after_version.fullmatch(tail):
                continue
            for version in (spelling, spelling.replace("_", "-")):
                if _is_version(version) and not _extends_version(spelling, tail):
                    return version
    return None


def check(filename: str, fmt: LegacyFormat, name: str, project: str, version: str) -> None:
    """Raise InvalidInput unless ``filename`` is ``fmt``'s name for ``project`` ``version``."""
    after_name = _after_name(filename, project)
    if not after_name:
        raise InvalidInput(f"filename {filename!r} does not match project name {name!r}")
    for start in after_name:
        rest = filename[start:]
        for spelling in _spellings(version):
            tail = rest[len(spelling) :]
            if (
                rest.startswith(spelling)
                and fmt.after_version.fullmatch(tail)
                and not _extends_version(spelling, tail)
            ):
                return
    raise InvalidInput(
        f"filename {filename!r} does not contain version {version!r}: "
        f"a {fmt.packagetype} is named {fmt.shape}"
    )


def python_version(filename: str) -> str:
    """The Python an egg or Windows installer was built for (``3.11``), else ``any``."""
    if format_of(filename) not in (EGG, WININST, MSI):
        return "any"
    tags = _PY_TAG.findall(filename)
    return str(tags[-1]) if tags else "any"

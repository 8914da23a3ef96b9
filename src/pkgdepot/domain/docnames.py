"""The names devpi-client gives documentation archives, and what they say.

``devpi upload`` recognises ``NAME[-VERSION].doc[s].(zip|tar.gz|tgz)`` with the pattern below
(its ``doc_archive_regex``) and sends ``NAME`` and ``VERSION`` as form fields, repacking a tar
archive to ``NAME[-VERSION].doc.zip`` first.
"""

from __future__ import annotations

import dataclasses
import re

from packaging.utils import canonicalize_name
from packaging.version import VERSION_PATTERN

_DOC_ARCHIVE = re.compile(
    r"^(?P<name>.*?)(-(?P<version>" + VERSION_PATTERN + r"))?\.docs?\.(?P<ext>zip|tar\.gz|tgz)$",
    re.VERBOSE | re.IGNORECASE,
)
TAR_SUFFIXES = (".tar.gz", ".tgz")


@dataclasses.dataclass(frozen=True)
class DocArchiveName:
    project: str  # normalised
    version: str | None
    is_tar: bool


def parse(filename: str) -> DocArchiveName | None:
    """What a documentation archive's file name says; None if it is not named like one."""
    found = _DOC_ARCHIVE.match(filename)
    if found is None:
        return None
    return DocArchiveName(
        canonicalize_name(found["name"]),
        found["version"],
        found["ext"].lower() != "zip",
    )


def version_for(filename: str, project: str) -> str | None:
    """The version a doc archive's name gives for ``project`` (normalised), if it names one."""
    named = parse(filename)
    if named is None or named.project != project:
        return None
    return named.version


def looks_like_tar(filename: str) -> bool:
    return filename.lower().endswith(TAR_SUFFIXES)

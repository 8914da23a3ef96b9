"""The things pkgdepot stores, as frozen values. No I/O, no framework."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

ANONYMOUS = ":ANONYMOUS:"
AUTHENTICATED = ":AUTHENTICATED:"


@dataclasses.dataclass(frozen=True)
class User:
    name: str
    pwhash: str | None
    config: Mapping[str, Any]  # email, title, description, custom_data
    created: str
    modified: str


@dataclasses.dataclass(frozen=True)
class Index:
    id: int
    user: str
    name: str
    type: str
    config: Mapping[str, Any]
    serial: int

    @property
    def path(self) -> str:
        return f"{self.user}/{self.name}"

    @property
    def is_mirror(self) -> bool:
        return self.type == "mirror"

    @property
    def bases(self) -> tuple[str, ...]:
        return tuple(self.config.get("bases", ()))

    @property
    def volatile(self) -> bool:
        return bool(self.config.get("volatile", True))

    @property
    def acl_upload(self) -> tuple[str, ...]:
        return tuple(self.config.get("acl_upload", ()))

    @property
    def acl_toxresult_upload(self) -> tuple[str, ...]:
        return tuple(self.config.get("acl_toxresult_upload", ()))

    @property
    def mirror_whitelist(self) -> frozenset[str]:
        return frozenset(self.config.get("mirror_whitelist", ()))

    @property
    def whitelist_inheritance(self) -> str:
        return str(self.config.get("mirror_whitelist_inheritance", "union"))

    # mirrors

    @property
    def mirror_url(self) -> str:
        return str(self.config.get("mirror_url", ""))

    @property
    def cache_expiry(self) -> int:
        return int(self.config.get("mirror_cache_expiry", 1800))

    @property
    def lists_upstream_projects(self) -> bool:
        return not self.config.get("mirror_no_project_list", False)

    @property
    def redirects_to_upstream(self) -> bool:
        return bool(self.config.get("mirror_use_external_urls", False))

    @property
    def trusts_serial_header(self) -> bool:
        return not self.config.get("mirror_ignore_serial_header", False)


@dataclasses.dataclass(frozen=True)
class ReleaseFile:
    """A stored file of an index: a release file, a doc zip or a tox result."""

    index: str  # "user/index"
    relpath: str  # "user/index/+f/abc/def0123456789/Name-1.0.tar.gz"
    project: str  # normalised
    version: str
    filename: str
    kind: str  # "releasefile" | "doczip" | "toxresult"
    sha256: str  # "" for a mirrored file whose upstream announced no sha256, until fetched
    size: int | None  # None only for a mirrored file not yet fetched whose size is unknown
    upload_time: str | None  # ISO 8601 UTC; None where an upstream did not say
    requires_python: str | None = None
    yanked: str | None = None  # None: not yanked; "": yanked without reason
    core_metadata_sha256: str | None = None
    for_relpath: str | None = None
    log: tuple[Mapping[str, Any], ...] = ()
    url: str | None = None  # where a mirrored file comes from upstream
    cached: bool = True  # False: a mirrored file whose bytes are not fetched yet


def file_values(file: ReleaseFile) -> dict[str, Any]:
    """A stored file's facts as plain values, keyed as the ``files`` table and exports have
    them (all but its index and relpath, which say where it is)."""
    return {
        "project": file.project,
        "version": file.version,
        "filename": file.filename,
        "kind": file.kind,
        "sha256": file.sha256,
        "size": file.size,
        "upload_time": file.upload_time,
        "requires_python": file.requires_python,
        "yanked": file.yanked,
        "core_metadata_sha256": file.core_metadata_sha256,
        "for_relpath": file.for_relpath,
        "log": [dict(entry) for entry in file.log],
        "url": file.url,
        "cached": file.cached,
    }


@dataclasses.dataclass(frozen=True)
class MirrorPageState:
    """What a mirror's upstream last answered for one project page."""

    found: bool  # False: the upstream said the project does not exist
    etag: str | None
    upstream_serial: int  # X-PyPI-Last-Serial; -1 when the upstream sent none
    fetched_at: float  # Unix time of that answer


# One release file of a simple page: (filename, version, fragment), where the fragment is its
# pre-rendered HTML anchor line or JSON object. A plain tuple: pages list thousands of them.
PageLink = tuple[str, str, str]


def file_relpath(index_path: str, sha256: str, filename: str) -> str:
    """The stable location of a stored file, as devpi spells it."""
    return f"{index_path}/+f/{sha256[:3]}/{sha256[3:16]}/{filename}"


def attached_relpath(release_relpath: str, filename: str) -> str:
    """Where a file attached to a release file (a tox result) lives: in the same folder."""
    return f"{release_relpath.rsplit('/', 1)[0]}/{filename}"


def external_relpath(index_path: str, url_digest: str, filename: str) -> str:
    """Where a mirror serves a file its upstream announced without a sha256 (devpi's ``+e``)."""
    return f"{index_path}/+e/{url_digest[:3]}/{url_digest[3:16]}/{filename}"

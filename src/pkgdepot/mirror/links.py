"""An upstream link as a mirror stores it: a release file row that may not be fetched yet."""

from __future__ import annotations

import hashlib

from pkgdepot.domain.models import ReleaseFile, external_relpath, file_relpath
from pkgdepot.mirror.parse import UpstreamLink, archive_name_and_version


def to_release_file(index_path: str, project: str, link: UpstreamLink) -> ReleaseFile | None:
    """The stored form of ``link``; None for a filename that names no version of ``project``.

    A file with an announced sha256 gets devpi's stable ``+f`` location, which is the same on
    every mirror of the same upstream; one without gets a ``+e`` location made from its URL.
    """
    parsed = archive_name_and_version(link.filename)
    if parsed is None or parsed[0] != project:
        return None
    sha256 = link.sha256 or ""
    if sha256:
        relpath = file_relpath(index_path, sha256, link.filename)
    else:
        url_digest = hashlib.sha256(link.url.encode()).hexdigest()
        relpath = external_relpath(index_path, url_digest, link.filename)
    metadata = link.core_metadata
    core_metadata_sha256 = metadata.get("sha256") if not isinstance(metadata, bool) else None
    yanked = (link.yanked_reason or "") if link.yanked else None
    return ReleaseFile(
        index=index_path,
        relpath=relpath,
        project=project,
        version=parsed[1],
        filename=link.filename,
        kind="releasefile",
        sha256=sha256,
        size=link.size,
        upload_time=link.upload_time,
        requires_python=link.requires_python,
        yanked=yanked,
        core_metadata_sha256=core_metadata_sha256,
        url=link.url,
        cached=False,
    )

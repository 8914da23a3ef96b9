"""Database rows to domain values."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from pkgdepot.domain.models import Index, ReleaseFile, User


def to_user(row: sa.Row[Any]) -> User:
    return User(
        name=row.name,
        pwhash=row.pwhash,
        config=row.config,
        created=row.created,
        modified=row.modified,
    )


def to_index(row: sa.Row[Any]) -> Index:
    return Index(
        id=row.id, user=row.user, name=row.name, type=row.type, config=row.config, serial=row.serial
    )


def to_file(row: sa.Row[Any], index_path: str) -> ReleaseFile:
    return ReleaseFile(
        index=index_path,
        relpath=row.relpath,
        project=row.project,
        version=row.version,
        filename=row.filename,
        kind=row.kind,
        sha256=row.sha256,
        size=row.size,
        upload_time=row.upload_time,
        requires_python=row.requires_python,
        yanked=row.yanked,
        core_metadata_sha256=row.core_metadata_sha256,
        for_relpath=row.for_relpath,
        log=tuple(row.log),
        url=row.url,
        cached=bool(row.cached),
    )


def index_path_of(relpath: str) -> str:
    return "/".join(relpath.split("/", 2)[:2])

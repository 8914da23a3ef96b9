"""The rows of ``docs/export-format.md``: written from stored values, read back with checks.

Reading never trusts a row: a missing key or a value of the wrong type stops the import with
the table, the row and the key named, before anything is committed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pkgdepot.domain.models import Index, MirrorPageState, ReleaseFile, User, file_values
from pkgdepot.domain.names import short_repr
from pkgdepot.storage.snapshot import ProjectRow, ReleaseRow
from pkgdepot.transfer.source import ExportError, Row

FILE_KINDS = ("releasefile", "doczip", "toxresult")

# writing


def user_row(user: User) -> dict[str, Any]:
    return {
        "name": user.name,
        "pwhash": user.pwhash,
        "config": dict(user.config),
        "created": user.created,
        "modified": user.modified,
    }


def index_row(index: Index) -> dict[str, Any]:
    return {"user": index.user, "name": index.name, "type": index.type, "config": index.config}


def project_row(index_path: str, project: ProjectRow) -> dict[str, Any]:
    row: dict[str, Any] = {
        "index": index_path,
        "name": project.name,
        "display_name": project.display_name,
    }
    page = project.mirror_page
    if page is not None:
        row["mirror_page"] = {
            "etag": page.etag,
            "upstream_serial": page.upstream_serial,
            "fetched_at": page.fetched_at,
        }
    return row


def release_row(index_path: str, release: ReleaseRow) -> dict[str, Any]:
    return {
        "index": index_path,
        "project": release.project,
        "version": release.version,
        "metadata": release.metadata,
    }


def file_row(file: ReleaseFile) -> dict[str, Any]:
    return {"index": file.index, "relpath": file.relpath, **file_values(file)}


# reading


class Fields:
    """Typed access to one row; every complaint names the table, the row and the key."""

    def __init__(self, table: str, row: Row, *naming: str, joiner: str = " ") -> None:
        if not isinstance(row, Mapping):
            raise ExportError(f"{table}: a row is not a JSON object: {short_repr(row)}")
        self.table = table
        self.row = row
        named = [str(row[key]) for key in naming if isinstance(row.get(key), str)]
        self.name = joiner.join(named) or short_repr(dict(row))

    def fail(self, problem: str) -> ExportError:
        return ExportError(f"{self.table}: {self.name}: {problem}")

    def _get(self, key: str) -> Any:
        if key not in self.row:
            raise self.fail(f"the key {key!r} is missing")
        return self.row[key]

    def _wrong(self, key: str, expected: str) -> ExportError:
        return self.fail(f"{key!r} must be {expected}, not {short_repr(self.row[key])}")

    def text(self, key: str) -> str:
        value = self._get(key)
        if not isinstance(value, str) or not value:
            raise self._wrong(key, "a non-empty string")
        return value

    def optional_text(self, key: str, default: str | None = None) -> str | None:
        value = self.row.get(key, default)
        if value is not None and not isinstance(value, str):
            raise self._wrong(key, "a string or null")
        return value

    def optional_int(self, key: str) -> int | None:
        value = self.row.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise self._wrong(key, "an integer or null")
        return value

    def mapping(self, key: str, default: Mapping[str, Any] | None = None) -> dict[str, Any]:
        value = self.row.get(key, default) if default is not None else self._get(key)
        if not isinstance(value, Mapping):
            raise self._wrong(key, "a JSON object")
        return dict(value)

    def flag(self, key: str, default: bool) -> bool:
        value = self.row.get(key, default)
        if not isinstance(value, bool):
            raise self._wrong(key, "true or false")
        return value


def read_user(row: Row) -> User:
    f = Fields("users", row, "name")
    return User(
        name=f.text("name"),
        pwhash=f.optional_text("pwhash"),
        config=f.mapping("config", {}),
        created=f.text("created"),
        modified=f.optional_text("modified") or f.text("created"),
    )


def read_mirror_page(f: Fields) -> MirrorPageState | None:
    page = f.row.get("mirror_page")
    if page is None:
        return None
    p = Fields(f.table, f.mapping("mirror_page"))
    p.name = f"{f.name} mirror_page"
    serial = p.optional_int("upstream_serial")
    fetched_at = p.row.get("fetched_at")
    if isinstance(fetched_at, bool) or not isinstance(fetched_at, int | float):
        raise p.fail(f"'fetched_at' must be a number, not {short_repr(fetched_at)}")
    return MirrorPageState(
        True, p.optional_text("etag"), -1 if serial is None else serial, float(fetched_at)
    )


def read_file(row: Row, *, cached: bool, core_metadata_sha256: str | None) -> ReleaseFile:
    """A ``files`` row as stored here: ``cached`` and the core metadata are the importer's
    findings (are the bytes here), not what the export says."""
    f = Fields("files", row, "relpath")
    kind = f.text("kind")
    if kind not in FILE_KINDS:
        raise f.fail(f"'kind' must be one of {', '.join(FILE_KINDS)}, not {short_repr(kind)}")
    log = f.row.get("log", [])
    if not isinstance(log, list) or not all(isinstance(entry, Mapping) for entry in log):
        raise f.fail(f"'log' must be a list of JSON objects, not {short_repr(log)}")
    return ReleaseFile(
        index=f.text("index"),
        relpath=f.text("relpath"),
        project=f.text("project"),
        version=f.optional_text("version") or "",
        filename=f.text("filename"),
        kind=kind,
        sha256=f.optional_text("sha256") or "",
        size=f.optional_int("size"),
        upload_time=f.optional_text("upload_time"),
        requires_python=f.optional_text("requires_python"),
        yanked=f.optional_text("yanked"),
        core_metadata_sha256=core_metadata_sha256,
        for_relpath=f.optional_text("for_relpath"),
        log=tuple(dict(entry) for entry in log),
        url=f.optional_text("url"),
        cached=cached,
    )

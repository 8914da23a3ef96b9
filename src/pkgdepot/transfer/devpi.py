"""A devpi-server export (``devpi-export DIR``) read as the rows of ``docs/export-format.md``.

devpi writes one ``dataindex.json`` (users, and per index its config, the versions of each
project and a list of files) beside the files themselves, under ``USER/INDEX/...``. Dump
version 2 is what devpi-server 4 to 6 write; version 1 (devpi-server 2 and 3) left out the
version of each file, had only md5 hashes at first, and called ``mirror_whitelist``
``pypi_whitelist``. Both become the same rows; ``pkgdepot import`` does the rest.

Everything is read when the export is opened, so a broken export fails before anything is
imported, and the manifest's counts are exact. Files are not copied: ``blob`` names them in
the export directory (wheels' core metadata, which devpi does not keep apart, is extracted
into a temporary directory).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import shutil
import tempfile
import weakref
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from pkgdepot import archives
from pkgdepot.domain.models import attached_relpath, file_relpath
from pkgdepot.domain.names import check_user_or_index_name, normalize_project, short_repr
from pkgdepot.errors import InvalidInput
from pkgdepot.transfer import devpi_rows
from pkgdepot.transfer.devpi_rows import DevpiExportError, Warn
from pkgdepot.transfer.source import Row

log = logging.getLogger("pkgdepot.transfer")

DATAINDEX = "dataindex.json"
DUMP_VERSIONS = ("1", "2")
KINDS = ("releasefile", "doczip", "toxresult")  # the order files are read in, per index


def is_devpi_export(path: Path) -> bool:
    return (path / DATAINDEX).is_file()


def _sha256_of(path: Path) -> str:
    with path.open("rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()


def _read_dump(path: Path) -> dict[str, Any]:
    dataindex = path / DATAINDEX
    if not dataindex.is_file():
        raise DevpiExportError(f"{path} holds no {DATAINDEX}: it is not a devpi-server export")
    try:
        dump = json.loads(dataindex.read_bytes())
    except OSError as error:
        raise DevpiExportError(f"cannot read {dataindex}: {error.strerror}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise DevpiExportError(f"{dataindex} is not valid JSON: {error}") from None
    if not isinstance(dump, dict) or "dumpversion" not in dump:
        raise DevpiExportError(f"{dataindex} has no dumpversion: it is not a devpi-server export")
    version = str(dump["dumpversion"])
    if version not in DUMP_VERSIONS:
        raise DevpiExportError(
            f"{dataindex}: devpi-server dump version {short_repr(dump['dumpversion'])} is not "
            f"supported; pkgdepot reads dump versions {' and '.join(DUMP_VERSIONS)} "
            "(devpi-server 2 to 6)"
        )
    if not isinstance(dump.get("users"), dict) or not isinstance(dump.get("indexes"), dict):
        raise DevpiExportError(f"{dataindex} has no 'users' and 'indexes' objects")
    return dump


class DevpiExport:
    """An ``ExportSource`` over the directory a devpi-server export wrote."""

    def __init__(self, path: Path | str, warn: Warn | None = None) -> None:
        self.path = Path(path)
        self.warnings: list[str] = []  # everything dropped or skipped, one line each
        self._warn_to = warn or log.warning
        dump = _read_dump(self.path)
        self.dumpversion = str(dump["dumpversion"])
        self._users: list[Row] = []
        self._indexes: list[Row] = []
        self._projects: list[Row] = []
        self._releases: list[Row] = []
        self._files: list[Row] = []
        self._blobs: dict[str, Path] = {}
        self._extracted: Path | None = None  # core metadata taken out of wheels
        for name, record in dump["users"].items():
            self._read_user(name, record)
        users = {row["name"] for row in self._users}
        for index_path, index in dump["indexes"].items():
            try:
                self._read_index(index_path, index, users)
            except InvalidInput as error:
                raise DevpiExportError(f"index {index_path}: {error.message}") from None
            except OSError as error:
                raise DevpiExportError(f"cannot read {error.filename}: {error.strerror}") from None
            except (KeyError, TypeError, ValueError, AttributeError) as error:
                raise DevpiExportError(
                    f"{self.path / DATAINDEX}: index {short_repr(index_path)} is malformed: "
                    f"{type(error).__name__}: {error}"
                ) from None
        self._manifest = self._make_manifest(dump)

    # ExportSource

    @property
    def manifest(self) -> Row:
        return self._manifest

    def users(self) -> Iterator[Row]:
        return iter(self._users)

    def indexes(self) -> Iterator[Row]:
        return iter(self._indexes)

    def projects(self) -> Iterator[Row]:
        return iter(self._projects)

    def releases(self) -> Iterator[Row]:
        return iter(self._releases)

    def files(self) -> Iterator[Row]:
        return iter(self._files)

    def blob(self, sha256: str) -> Path | None:
        return self._blobs.get(sha256)

    # reading

    def warn(self, message: str) -> None:
        self.warnings.append(message)
        self._warn_to(message)

    def _make_manifest(self, dump: Mapping[str, Any]) -> dict[str, Any]:
        stamp = (self.path / DATAINDEX).stat().st_mtime
        mirrors = {
            f"{row['user']}/{row['name']}" for row in self._indexes if row["type"] == "mirror"
        }
        return {
            "format": "pkgdepot-export",
            "version": 1,
            "source": "devpi-server",
            "devpi_server": dump.get("devpi_server"),
            "dumpversion": self.dumpversion,
            "pkgdepot_version": None,
            "exported_at": dt.datetime.fromtimestamp(stamp, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "serial": None,
            "include_mirrored_files": any(row["index"] in mirrors for row in self._files),
            "counts": {
                "users": len(self._users),
                "indexes": len(self._indexes),
                "projects": len(self._projects),
                "releases": len(self._releases),
                "files": len(self._files),
                "blobs": len(self._blobs),
            },
        }

    def _read_user(self, name: str, record: object) -> None:
        if not isinstance(record, Mapping):
            raise DevpiExportError(f"{self.path / DATAINDEX}: user {short_repr(name)} is malformed")
        try:
            check_user_or_index_name(name, "user")
        except InvalidInput as error:
            raise DevpiExportError(f"{self.path / DATAINDEX}: {error.message}") from None
        self._users.append(devpi_rows.user_row(name, record, self.warn))

    def _read_index(self, index_path: str, index: Mapping[str, Any], users: set[str]) -> None:
        user, _, name = index_path.partition("/")
        try:
            check_user_or_index_name(name, "index")
        except InvalidInput as error:
            raise DevpiExportError(f"{self.path / DATAINDEX}: {error.message}") from None
        if user not in users:
            self.warn(f"index {index_path}: skipped, its user {user!r} is not in the export")
            return
        config = devpi_rows.index_config(index_path, index["indexconfig"], self.warn)
        if config is None:
            return
        stored = {key: value for key, value in config.items() if key != "type"}
        self._indexes.append({"user": user, "name": name, "type": config["type"], "config": stored})
        reading = _IndexReading(self, index_path, is_mirror=config["type"] == "mirror")
        reading.read_versions(index.get("projects") or {})
        descs = index.get("files") or []
        for kind in KINDS:
            for desc in descs:
                if desc["type"] == kind:
                    reading.read_file(desc)
        for desc in descs:
            if desc["type"] not in KINDS:
                self.warn(f"index {index_path}: skipped {desc['relpath']}: type {desc['type']!r}")
        reading.finish()

    def source_file(self, relpath: str) -> Path:
        """A file the dump names, which must be inside the export directory."""
        path = (self.path / relpath).resolve()
        if not path.is_relative_to(self.path.resolve()):
            raise DevpiExportError(f"{DATAINDEX} names a file outside the export: {relpath!r}")
        if not path.is_file():
            raise DevpiExportError(f"{self.path / relpath} is missing ({DATAINDEX} names it)")
        return path

    def add_blob(self, sha256: str, path: Path) -> None:
        self._blobs.setdefault(sha256, path)

    def core_metadata(self, index_path: str, path: Path, filename: str) -> str | None:
        """A wheel's METADATA, kept as a blob of its own (served as ``.metadata``)."""
        try:
            raw = archives.extract_core_metadata(path, filename)
        except InvalidInput as error:
            self.warn(f"index {index_path}: {filename}: no core metadata ({error.message})")
            return None
        if raw is None:
            return None
        sha256 = hashlib.sha256(raw).hexdigest()
        if sha256 not in self._blobs:
            if self._extracted is None:
                self._extracted = Path(tempfile.mkdtemp(prefix="pkgdepot-devpi-"))
                weakref.finalize(self, shutil.rmtree, self._extracted, ignore_errors=True)
            target = self._extracted / sha256
            target.write_bytes(raw)
            self._blobs[sha256] = target
        return sha256

    def add_rows(self, projects: list[Row], releases: list[Row], files: list[Row]) -> None:
        self._projects += projects
        self._releases += releases
        self._files += files


class _IndexReading:
    """The projects, releases and files of one index, as they are read."""

    def __init__(self, export: DevpiExport, index_path: str, *, is_mirror: bool) -> None:
        self.export = export
        self.index = index_path
        self.is_mirror = is_mirror  # pkgdepot keeps no release rows for mirrors
        self.versions: dict[str, dict[str, Mapping[str, Any]]] = {}  # project -> version -> data
        self.display: dict[str, str] = {}
        self.releasefiles: dict[tuple[str, str], Row] = {}  # (project, filename) -> row
        self.doczips: dict[tuple[str, str], Row] = {}  # (project, version) -> row
        self.toxresults: list[Row] = []

    def read_versions(self, projects: Mapping[str, Mapping[str, Any]]) -> None:
        for name, versions in projects.items():
            try:
                project = normalize_project(name)
            except InvalidInput as error:
                self.export.warn(f"index {self.index}: skipped a project: {error.message}")
                continue
            # old dumps keyed projects by their display name: merge spellings, as devpi does
            self.versions.setdefault(project, {}).update(versions)
            for data in versions.values():
                self.display.setdefault(project, data.get("name") or name)
            self.display.setdefault(project, name)

    def _version_of(self, desc: Mapping[str, Any], project: str, filename: str) -> str:
        mapping = desc.get("entrymapping") or {}
        version = desc.get("version") or mapping.get("version")
        version = version or devpi_rows.version_from_filename(project, filename)
        if not version:
            raise DevpiExportError(
                f"index {self.index}: cannot tell the version of {desc['relpath']}"
            )
        return str(version)

    def read_file(self, desc: Mapping[str, Any]) -> None:
        source = self.export.source_file(desc["relpath"])
        project = normalize_project(desc["projectname"])
        mapping = desc.get("entrymapping") or {}
        kind = desc["type"]
        sha256 = devpi_rows.declared_sha256(mapping)
        if sha256 is None or kind == "toxresult":
            # devpi 6.5 to 6.8 recorded a tox result's release file hash as its own
            sha256 = _sha256_of(source)
        log_entries = devpi_rows.log_entries(desc.get("log"))
        row: dict[str, Any] = {
            "index": self.index,
            "project": project,
            "kind": kind,
            "sha256": sha256,
            "size": source.stat().st_size,
            "upload_time": devpi_rows.upload_time(mapping, log_entries),
            "requires_python": None,
            "yanked": None,
            "core_metadata_sha256": None,
            "for_relpath": None,
            "log": log_entries,
            "url": None,
            "cached": True,
        }
        if kind == "releasefile":
            self._releasefile(row, desc, source)
        elif kind == "doczip":
            version = self._version_of(desc, project, source.name)
            filename = f"{project}-{version}.doc.zip"
            relpath = file_relpath(self.index, sha256, filename)
            row.update(version=version, filename=filename, relpath=relpath)
            self.doczips[(project, version)] = row  # devpi exports only the newest anyway
            self.export.add_blob(sha256, source)
        else:
            self._toxresult(row, desc, source)

    def _releasefile(self, row: dict[str, Any], desc: Mapping[str, Any], source: Path) -> None:
        project, filename = row["project"], source.name
        version = self._version_of(desc, project, filename)
        data = self.versions.get(project, {}).get(version, {})
        row.update(
            version=version,
            filename=filename,
            relpath=file_relpath(self.index, row["sha256"], filename),
            requires_python=data.get("requires_python") or None,
            yanked=devpi_rows.yanked(data),
        )
        if self.is_mirror:
            url = (desc.get("entrymapping") or {}).get("url")
            row["url"] = url.split("#", 1)[0] if isinstance(url, str) else None
        elif filename.endswith(".whl"):
            row["core_metadata_sha256"] = self.export.core_metadata(self.index, source, filename)
        if (project, filename) in self.releasefiles:
            self.export.warn(f"index {self.index}: skipped a second {filename}")
            return
        self.releasefiles[(project, filename)] = row
        self.export.add_blob(row["sha256"], source)

    def _toxresult(self, row: dict[str, Any], desc: Mapping[str, Any], source: Path) -> None:
        for_name = Path(str(desc.get("for_entrypath", ""))).name
        release = self.releasefiles.get((row["project"], for_name))
        if release is None:
            self.export.warn(
                f"index {self.index}: skipped the tox result {desc['relpath']}: "
                f"its release file {for_name!r} is not in the export"
            )
            return
        row.update(
            version=release["version"],
            filename=source.name,
            relpath=attached_relpath(release["relpath"], source.name),
            for_relpath=release["relpath"],
        )
        self.toxresults.append(row)
        self.export.add_blob(row["sha256"], source)

    def finish(self) -> None:
        files = [*self.releasefiles.values(), *self.doczips.values(), *self.toxresults]
        if self.is_mirror:  # a project row per project with files; pages come from upstream
            names = dict.fromkeys(row["project"] for row in files)
            mirrored: list[Row] = [
                {"index": self.index, "name": n, "display_name": n} for n in names
            ]
            self.export.add_rows(mirrored, [], files)
            return
        for row in files:  # a doc zip can be all a version has: devpi then made it a release
            versions = self.versions.setdefault(row["project"], {})
            versions.setdefault(row["version"], {})
            self.display.setdefault(row["project"], row["project"])
        projects: list[Row] = []
        releases: list[Row] = []
        for project, versions in self.versions.items():
            display = self.display[project]
            projects.append({"index": self.index, "name": project, "display_name": display})
            for version, data in versions.items():
                metadata = devpi_rows.release_metadata(display, version, data)
                releases.append(
                    {"index": self.index, "project": project, "version": version,
                     "metadata": metadata}
                )  # fmt: skip
        self.export.add_rows(projects, releases, files)

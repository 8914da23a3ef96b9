"""The legacy upload API's actions: ``file_upload``, ``submit`` (register) and ``doc_upload``."""

from __future__ import annotations

import dataclasses
import zipfile
from collections.abc import Mapping, Sequence
from typing import Any

from packaging.version import Version

from pkgdepot import archives
from pkgdepot.domain.models import Index, ReleaseFile, file_relpath
from pkgdepot.domain.names import check_version, is_valid_project_name, normalize_project
from pkgdepot.domain.permissions import Identity, Policy
from pkgdepot.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthorized
from pkgdepot.service.clock import iso_seconds, log_when, now
from pkgdepot.storage.blobs import BlobStore, BlobWriter
from pkgdepot.storage.meta import MetaStore, Transaction

Fields = Mapping[str, Sequence[str]]

SINGLE_KEYS = (
    "metadata_version",
    "summary",
    "home_page",
    "author",
    "author_email",
    "maintainer",
    "maintainer_email",
    "license",
    "description",
    "keywords",
    "download_url",
    "comment",
    "requires_python",
    "description_content_type",
    "license_expression",
)
LIST_KEYS = (
    "platform",
    "classifiers",
    "supported_platform",
    "provides",
    "requires",
    "obsoletes",
    "project_urls",
    "provides_dist",
    "obsoletes_dist",
    "requires_dist",
    "requires_external",
    "provides_extras",
    "dynamic",
    "license_file",
)
DIGEST_FIELDS = ("sha256_digest", "md5_digest", "blake2_256_digest")


@dataclasses.dataclass(frozen=True)
class UploadResult:
    message: str


def _single(fields: Fields, key: str) -> str | None:
    values = fields.get(key)
    if not values:
        return None
    return values[0]


def _release_metadata(fields: Fields, name: str, version: str) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "version": version}
    for key in SINGLE_KEYS:
        value = _single(fields, key)
        if value is not None:
            meta[key] = "" if value == "UNKNOWN" else value
    for key in LIST_KEYS:
        if key in fields:
            meta[key] = [v for v in fields[key] if v != "UNKNOWN"]
    return meta


def _full_metadata(partial: Mapping[str, Any]) -> dict[str, Any]:
    meta: dict[str, Any] = dict.fromkeys(SINGLE_KEYS, "")
    meta.update({key: [] for key in LIST_KEYS})
    meta.update(partial)
    return meta


def _check_digests(fields: Fields, writer: BlobWriter) -> None:
    actual = {
        "sha256_digest": writer.digests.sha256.hexdigest(),
        "md5_digest": writer.digests.md5.hexdigest(),
        "blake2_256_digest": writer.digests.blake2_256.hexdigest(),
    }
    for field in DIGEST_FIELDS:
        given = _single(fields, field)
        if given and given.strip().lower() != actual[field]:
            raise InvalidInput(f"{field} does not match the uploaded content")


class Uploads:
    def __init__(self, store: MetaStore, blobs: BlobStore, policy: Policy) -> None:
        self._store = store
        self._blobs = blobs
        self.policy = policy

    def check_may_upload(self, who: Identity, index: Index) -> None:
        """Before the body is read, so a refused upload costs no disk."""
        if index.is_mirror:
            raise NotFound("cannot submit to mirror index")
        if not self.policy.may_upload(who, index):
            if who.user is None:
                raise Unauthorized("authentication required to upload")
            raise Forbidden(f"no permission to submit to {index.path}")

    def _name_and_version(self, fields: Fields) -> tuple[str, str, str]:
        name = _single(fields, "name")
        version = _single(fields, "version")
        if not name:
            raise InvalidInput("missing 'name' field")
        if not is_valid_project_name(name):
            raise InvalidInput(f"invalid project name {name!r}")
        if not version:
            raise InvalidInput("missing 'version' field")
        check_version(version)
        return name, normalize_project(name), version

    def store_file(
        self, who: Identity, index: Index, fields: Fields, filename: str, writer: BlobWriter
    ) -> UploadResult:
        try:
            return self._store_file(who, index, fields, filename, writer)
        finally:
            writer.abort()

    def _store_file(
        self, who: Identity, index: Index, fields: Fields, filename: str, writer: BlobWriter
    ) -> UploadResult:
        self.check_may_upload(who, index)
        name, project, version = self._name_and_version(fields)
        dist = archives.parse_dist_filename(filename)
        if dist.project != project:
            raise InvalidInput(f"filename {filename!r} does not match project name {name!r}")
        if dist.version != Version(version):
            raise InvalidInput(f"filename {filename!r} does not contain version {version!r}")
        if writer.digests.size == 0:
            raise InvalidInput(f"{filename} is empty")
        _check_digests(fields, writer)
        raw_metadata = archives.extract_core_metadata(writer.staged_path(), filename)
        from_file = archives.metadata_fields(raw_metadata) if raw_metadata else {}
        requires_python = _single(fields, "requires_python") or from_file.get("requires_python")
        sha256 = writer.commit()
        metadata_sha256 = (
            self._blobs.put_bytes(raw_metadata) if raw_metadata and dist.is_wheel else None
        )
        moment = now()
        file = ReleaseFile(
            index=index.path,
            relpath=file_relpath(index.path, sha256, filename),
            project=project,
            version=version,
            filename=filename,
            kind="releasefile",
            sha256=sha256,
            size=writer.digests.size,
            upload_time=iso_seconds(moment),
            requires_python=str(requires_python) if requires_python else None,
            core_metadata_sha256=metadata_sha256,
            log=({"what": "upload", "who": who.user, "when": log_when(moment), "dst": index.path},),
        )
        with self._store.transaction(who.user) as tx:
            existing = tx.file_named(index, project, filename)
            if existing is not None:
                if not index.volatile:
                    if existing.sha256 == sha256:
                        return UploadResult("Upload of identical file to non volatile index.")
                    raise Conflict(f"{filename} already exists in non-volatile index")
                tx.delete_file(index.id, index.path, existing.relpath)
                count = sum(1 for e in existing.log if e.get("what") == "overwrite") + 1
                overwrite = {
                    "what": "overwrite",
                    "who": who.user,
                    "when": log_when(moment),
                    "count": count,
                }
                file = dataclasses.replace(file, log=(*existing.log, overwrite))
            self._merge_release(tx, index, project, name, version, fields)
            tx.put_file(index.id, file)
        return UploadResult("OK")

    def _merge_release(
        self, tx: Transaction, index: Index, project: str, name: str, version: str, fields: Fields
    ) -> None:
        given = _release_metadata(fields, name, version)
        old = tx.release_metadata(index.id, project, version)
        metadata = _full_metadata(given) if old is None else {**old, **given}
        tx.touch_project(index.id, project, name)
        tx.put_release(index.id, project, version, metadata)

    def register(self, who: Identity, index: Index, fields: Fields) -> UploadResult:
        """``:action=submit``: replace the version's metadata with the form's."""
        self.check_may_upload(who, index)
        name, project, version = self._name_and_version(fields)
        metadata = _full_metadata(_release_metadata(fields, name, version))
        with self._store.transaction(who.user) as tx:
            if not index.volatile and tx.release_exists(index.id, project, version):
                old = tx.release_metadata(index.id, project, version)
                if old != metadata:
                    raise Conflict(f"{name} {version} already registered in non-volatile index")
            tx.touch_project(index.id, project, name)
            tx.put_release(index.id, project, version, metadata)
        return UploadResult("OK")

    def store_docs(
        self, who: Identity, index: Index, fields: Fields, filename: str, writer: BlobWriter
    ) -> UploadResult:
        try:
            return self._store_docs(who, index, fields, writer)
        finally:
            writer.abort()

    def _store_docs(
        self, who: Identity, index: Index, fields: Fields, writer: BlobWriter
    ) -> UploadResult:
        self.check_may_upload(who, index)
        name = _single(fields, "name")
        if not name or not is_valid_project_name(name):
            raise InvalidInput("doc_upload needs a valid 'name' field")
        project = normalize_project(name)
        version = _single(fields, "version")
        if version:
            check_version(version)
        if not zipfile.is_zipfile(writer.staged_path()):
            raise InvalidInput("documentation must be uploaded as a zip file")
        moment = now()
        with self._store.transaction(who.user) as tx:
            if not version:
                raise InvalidInput(f"doc_upload for {name} needs a 'version' field")
            sha256 = writer.commit()
            docname = f"{project}-{version}.doc.zip"
            relpath = file_relpath(index.path, sha256, docname)
            existing = tx.file_named(index, project, docname)
            if existing is not None:
                if not index.volatile:
                    if existing.sha256 == sha256:
                        return UploadResult("Upload of identical file to non volatile index.")
                    raise Conflict(f"{docname} already exists in non-volatile index")
                tx.delete_file(index.id, index.path, existing.relpath)
            if not tx.release_exists(index.id, project, version):
                tx.put_release(index.id, project, version, {"name": name, "version": version})
            tx.touch_project(index.id, project, name)
            tx.put_file(
                index.id,
                ReleaseFile(
                    index=index.path,
                    relpath=relpath,
                    project=project,
                    version=version,
                    filename=docname,
                    kind="doczip",
                    sha256=sha256,
                    size=writer.digests.size,
                    upload_time=iso_seconds(moment),
                    log=(
                        {
                            "what": "upload",
                            "who": who.user,
                            "when": log_when(moment),
                            "dst": index.path,
                        },
                    ),
                ),
            )
        return UploadResult("OK")

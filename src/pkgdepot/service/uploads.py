"""The legacy upload API's actions: ``file_upload``, ``submit`` (register) and ``doc_upload``."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from pkgdepot import archives, doczip
from pkgdepot.domain import docnames
from pkgdepot.domain.models import Index, ReleaseFile, file_relpath
from pkgdepot.domain.names import check_version, normalize_project, short_repr, version_sort_key
from pkgdepot.domain.permissions import Identity, Policy
from pkgdepot.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthorized
from pkgdepot.service.clock import iso_seconds, log_when, now
from pkgdepot.storage.blobs import BlobStore, BlobWriter
from pkgdepot.storage.meta import MetaStore
from pkgdepot.storage.transaction import Transaction

Fields = Mapping[str, Sequence[str]]

# The version metadata devpi stores (section 5.1 of the API notes), one value or a list each.
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
# Core metadata fields whose form (and stored) key is spelled differently.
FILE_KEY_TO_FORM_KEY = {
    "classifier": "classifiers",
    "project_url": "project_urls",
    "provides_extra": "provides_extras",
}
DIGEST_FIELDS = ("sha256_digest", "md5_digest", "blake2_256_digest")
IDENTICAL = "Upload of identical file to non volatile index."


@dataclasses.dataclass(frozen=True)
class UploadResult:
    message: str


class _Unchanged(Exception):
    """Leaves a transaction without committing it: nothing changed, so no serial is used."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _single(fields: Fields, key: str) -> str | None:
    values = fields.get(key)
    if not values:
        return None
    return values[0]


def _clean(value: str) -> str:
    return "" if value == "UNKNOWN" else value


def _form_metadata(fields: Fields) -> dict[str, Any]:
    """The metadata fields the client sent; empty values count as not sent."""
    meta: dict[str, Any] = {}
    for key in SINGLE_KEYS:
        value = _single(fields, key)
        if value:
            meta[key] = _clean(value)
    for key in LIST_KEYS:
        values = [v for v in fields.get(key, ()) if v and v != "UNKNOWN"]
        if values:
            meta[key] = values
    return meta


def _file_metadata(raw: bytes | None) -> dict[str, Any]:
    """The same fields read from the archive's core metadata (wheel METADATA, sdist PKG-INFO)."""
    if not raw:
        return {}
    meta: dict[str, Any] = {}
    for file_key, value in archives.metadata_fields(raw).items():
        key = FILE_KEY_TO_FORM_KEY.get(file_key, file_key)
        if key in SINGLE_KEYS and isinstance(value, str):
            meta[key] = _clean(value)
        elif key in LIST_KEYS:
            values = value if isinstance(value, list) else [value]
            meta[key] = [v for v in values if v != "UNKNOWN"]
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
            shown = short_repr(given.strip())
            raise InvalidInput(
                f"{field} {shown} does not match the uploaded content ({actual[field]})"
            )


def _upload_log(who: Identity, moment: dt.datetime, index: Index) -> dict[str, Any]:
    return {"what": "upload", "who": who.user, "when": log_when(moment), "dst": index.path}


def _put_file(
    tx: Transaction, index: Index, file: ReleaseFile, who: Identity, moment: dt.datetime
) -> None:
    """Store ``file``, replacing one of the same name as the index's volatility allows."""
    existing = tx.file_named(index, file.project, file.filename)
    if existing is not None:
        file = _replacing(index, existing, file, who, moment)
        tx.delete_file(index.id, index.path, existing.relpath)
    tx.put_file(index.id, file)


def _replacing(
    index: Index, existing: ReleaseFile, new: ReleaseFile, who: Identity, moment: dt.datetime
) -> ReleaseFile:
    """The rules for a filename that is already there: ``new`` as it will be stored."""
    if not index.volatile:
        if existing.sha256 == new.sha256:
            raise _Unchanged(IDENTICAL)
        raise Conflict(f"{new.filename} already exists in non-volatile index")
    count = sum(1 for e in existing.log if e.get("what") == "overwrite") + 1
    overwrite = {"what": "overwrite", "who": who.user, "when": log_when(moment), "count": count}
    return dataclasses.replace(new, log=(*existing.log, overwrite))


class Uploads:
    def __init__(self, store: MetaStore, blobs: BlobStore, policy: Policy) -> None:
        self._store = store
        self._blobs = blobs
        self.policy = policy

    def check_may_upload(self, who: Identity, index: Index) -> None:
        """Before the body is read, so a refused upload costs no disk."""
        if index.is_mirror:
            raise NotFound("cannot submit to mirror index")
        if self.policy.may_upload(who, index):
            return
        if who.user is None:
            raise Unauthorized("authentication required to upload")
        raise Forbidden(f"no permission to submit to {index.path}")

    def _name_and_version(self, fields: Fields) -> tuple[str, str, str]:
        name = _single(fields, "name")
        version = _single(fields, "version")
        if not name:
            raise InvalidInput("missing 'name' field")
        project = normalize_project(name)
        if not version:
            raise InvalidInput("missing 'version' field")
        return name, project, check_version(version)

    def store_file(
        self, who: Identity, index: Index, fields: Fields, filename: str, writer: BlobWriter
    ) -> UploadResult:
        try:
            return self._store_file(who, index, fields, filename, writer)
        except _Unchanged as unchanged:
            return UploadResult(unchanged.message)
        finally:
            writer.abort()

    def _store_file(
        self, who: Identity, index: Index, fields: Fields, filename: str, writer: BlobWriter
    ) -> UploadResult:
        self.check_may_upload(who, index)
        name, project, version = self._name_and_version(fields)
        dist = archives.check_dist_filename(filename, name, project, version)
        if writer.digests.size == 0:
            raise InvalidInput(f"{filename} is empty")
        _check_digests(fields, writer)
        raw_metadata = archives.extract_core_metadata(writer.staged_path(), filename)
        # The form wins; what it leaves out comes from the archive's own metadata.
        metadata = {**_file_metadata(raw_metadata), **_form_metadata(fields)}
        metadata.update(name=name, version=version)
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
            requires_python=metadata.get("requires_python") or None,
            core_metadata_sha256=metadata_sha256,
            log=(_upload_log(who, moment, index),),
        )
        with self._store.transaction(who.user) as tx:
            self._merge_release(tx, index, project, metadata)
            _put_file(tx, index, file, who, moment)
        return UploadResult("OK")

    def _merge_release(
        self, tx: Transaction, index: Index, project: str, metadata: Mapping[str, Any]
    ) -> None:
        """A version's first upload stores every key; later ones update what they bring."""
        version = metadata["version"]
        old = tx.release_metadata(index.id, project, version)
        merged = _full_metadata(metadata) if old is None else {**old, **metadata}
        tx.touch_project(index.id, project, metadata["name"])
        tx.put_release(index.id, project, version, merged)

    def register(self, who: Identity, index: Index, fields: Fields) -> UploadResult:
        """``:action=submit``: replace the version's metadata with the form's."""
        self.check_may_upload(who, index)
        name, project, version = self._name_and_version(fields)
        metadata = _full_metadata({**_form_metadata(fields), "name": name, "version": version})
        try:
            with self._store.transaction(who.user) as tx:
                old = tx.release_metadata(index.id, project, version)
                if old == metadata:
                    raise _Unchanged("OK")
                if old is not None and not index.volatile:
                    raise Conflict(f"{name} {version} already registered in non-volatile index")
                tx.touch_project(index.id, project, name)
                tx.put_release(index.id, project, version, metadata)
        except _Unchanged as unchanged:
            return UploadResult(unchanged.message)
        return UploadResult("OK")

    def store_docs(
        self, who: Identity, index: Index, fields: Fields, filename: str, writer: BlobWriter
    ) -> UploadResult:
        try:
            return self._store_docs(who, index, fields, filename, writer)
        except _Unchanged as unchanged:
            return UploadResult(unchanged.message)
        finally:
            writer.abort()

    def _docs_version(self, index: Index, project: str, fields: Fields, filename: str) -> str:
        """The form's version, else the one the file's name holds, else the latest registered.

        devpi-server never reads the file name; devpi-client sends the version it holds.
        """
        if "version" in fields:
            version = _single(fields, "version")
            if not version:
                raise InvalidInput(f"doc_upload for {project}: the 'version' field is empty")
            return check_version(version)
        named = docnames.version_for(filename, project)
        if named is not None:
            return check_version(named)
        versions = self._store.releases(index.id, project)
        if not versions:
            raise InvalidInput(
                f"doczip has no version and '{project}' has no releases to derive one from"
            )
        return max(versions, key=version_sort_key)

    def _store_docs(
        self, who: Identity, index: Index, fields: Fields, filename: str, writer: BlobWriter
    ) -> UploadResult:
        self.check_may_upload(who, index)
        name = _single(fields, "name")
        if not name:
            raise InvalidInput("missing 'name' field")
        project = normalize_project(name)
        version = self._docs_version(index, project, fields, filename)
        doczip.require_zip(writer.staged_path(), filename)
        doczip.check(writer.staged_path())  # before anything is stored
        sha256 = writer.commit()
        moment = now()
        docname = f"{project}-{version}.doc.zip"
        file = ReleaseFile(
            index=index.path,
            relpath=file_relpath(index.path, sha256, docname),
            project=project,
            version=version,
            filename=docname,
            kind="doczip",
            sha256=sha256,
            size=writer.digests.size,
            upload_time=iso_seconds(moment),
            log=(_upload_log(who, moment, index),),
        )
        with self._store.transaction(who.user) as tx:
            if not tx.release_exists(index.id, project, version):
                tx.put_release(index.id, project, version, {"name": name, "version": version})
            tx.touch_project(index.id, project, name)
            _put_file(tx, index, file, who, moment)
        return UploadResult("OK")

"""Tox results: JSON reports (``devpi test``) posted to a release file's URL, stored beside it.

A report is kept byte for byte as a ``toxresult`` file in the release file's hash directory,
named ``{release filename}.toxresult-{YYYYmmddHHMMSS}-{n}``, linked to it by ``for_relpath``.
Deleting the release file (or its version or project) deletes its reports with it.
"""

from __future__ import annotations

import datetime as dt

import orjson

from pkgdepot.domain.models import Index, ReleaseFile, attached_relpath
from pkgdepot.domain.permissions import Identity, Policy
from pkgdepot.errors import Forbidden, InvalidInput, NotFound, Unauthorized
from pkgdepot.service.clock import iso_seconds, log_when, now
from pkgdepot.storage.blobs import BlobStore
from pkgdepot.storage.meta import MetaStore
from pkgdepot.storage.transaction import Transaction

MAX_TOXRESULT_SIZE = 10 * 1024 * 1024
_SHOWN_PATH = 300  # characters of a client's path quoted back in a message


def _not_found(relpath: str, why: str = "") -> NotFound:
    shown = relpath if len(relpath) <= _SHOWN_PATH else relpath[: _SHOWN_PATH - 3] + "..."
    return NotFound(f"no release file found at {shown}{why}")


def check_report(body: bytes) -> None:
    """A tox result must be one JSON object; what tox writes in it is tox's business."""
    if not body.strip():
        raise InvalidInput("the tox result is empty: expected a JSON object")
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise InvalidInput(f"the tox result is not valid JSON: {error}") from None
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else f"a JSON {type(data).__name__}"
        raise InvalidInput(f"a tox result must be a JSON object, not {kind}")


class ToxResults:
    def __init__(self, store: MetaStore, blobs: BlobStore, policy: Policy) -> None:
        self._store = store
        self._blobs = blobs
        self.policy = policy

    def check_may_post(self, who: Identity, index: Index, relpath: str) -> ReleaseFile:
        """The release file a report for ``relpath`` would belong to; checked before the
        body is read, so a refused post costs nothing."""
        if index.is_mirror:
            raise _not_found(
                relpath, f": {index.path} is a mirror index, which keeps no tox results"
            )
        if not self.policy.may_upload_toxresult(who, index):
            if who.user is None:
                raise Unauthorized(f"authentication required to post tox results to {index.path}")
            raise Forbidden(
                f"user {who.user!r} may not post tox results to {index.path} "
                "(see its acl_toxresult_upload); use 'devpi test --no-upload' "
                "to test without posting the results"
            )
        release = self._store.get_file(index, relpath)
        if release is None or release.kind != "releasefile":
            raise _not_found(relpath)
        return release

    def store(self, who: Identity, index: Index, relpath: str, body: bytes) -> str:
        """Store a report for the release file at ``relpath``; returns its
        ``relpath#sha256=...`` as devpi's ``toxresultpath`` reply has it."""
        release = self.check_may_post(who, index, relpath)
        check_report(body)
        sha256 = self._blobs.put_bytes(body)
        moment = now()
        with self._store.transaction(who.user) as tx:
            current = tx.file_named(index, release.project, release.filename)
            if current is None or current.relpath != release.relpath:
                raise _not_found(relpath)  # deleted or replaced meanwhile
            filename = self._free_name(tx, index, release, moment)
            file = ReleaseFile(
                index=index.path,
                relpath=attached_relpath(release.relpath, filename),
                project=release.project,
                version=release.version,
                filename=filename,
                kind="toxresult",
                sha256=sha256,
                size=len(body),
                upload_time=iso_seconds(moment),
                for_relpath=release.relpath,
                log=(
                    {
                        "what": "upload",
                        "who": who.user,
                        "when": log_when(moment),
                        "dst": index.path,
                    },
                ),
            )
            tx.put_file(index.id, file)
        return f"{file.relpath}#sha256={sha256}"

    def _free_name(
        self, tx: Transaction, index: Index, release: ReleaseFile, moment: dt.datetime
    ) -> str:
        """The first free name of this second, never one in use or deleted: a URL once served
        keeps meaning the same bytes."""
        stem = f"{release.filename}.toxresult-{moment.strftime('%Y%m%d%H%M%S')}"
        n = 0
        while True:
            filename = f"{stem}-{n}"
            taken = tx.file_named(index, release.project, filename) is not None
            relpath = attached_relpath(release.relpath, filename)
            if not taken and not self._store.was_deleted(relpath):
                return filename
            n += 1

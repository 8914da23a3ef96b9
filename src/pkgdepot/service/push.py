"""Push: copy one release to another index of this server, or upload it to another repository.

A push to an index of this server (``targetindex``) is one write transaction on the target:
the version's metadata, its release files with their tox results, and its doc zip. Blobs are
content-addressed, so the copies share the source's bytes. Either everything is stored or,
when a non-volatile target already holds a file of that name with other content, nothing.

A push to another repository (``posturl``) is ``push_external.py``. It holds no transaction
or lock while it waits for the other side, which may be this very server.
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

from pkgdepot.domain.models import Index, ReleaseFile, attached_relpath, file_relpath
from pkgdepot.domain.permissions import Identity, Policy
from pkgdepot.errors import Conflict, InvalidInput, NotFound, Unauthorized, UpstreamUnavailable
from pkgdepot.mirror.files import MirrorFiles
from pkgdepot.mirror.pages import MirrorPages
from pkgdepot.service.clock import log_when, now
from pkgdepot.service.indexes import Catalog
from pkgdepot.service.push_external import push_external
from pkgdepot.service.push_order import Action, PushOrder, Release
from pkgdepot.storage.blobs import BlobStore
from pkgdepot.storage.meta import MetaStore
from pkgdepot.storage.transaction import Transaction

OK = 200


@dataclasses.dataclass(frozen=True)
class PushResult:
    status: int  # 200, or 502 when another repository refused something
    actions: list[Action]  # devpi's actionlog, which devpi-client prints


def _pushed_log(file: ReleaseFile, entry: dict[str, Any]) -> tuple[dict[str, Any], ...]:
    """The copy's log: the original's (without its overwrites, as devpi has it) and the push."""
    kept = [dict(e) for e in file.log if e.get("what") != "overwrite"]
    return (*kept, entry)


class Pushes:
    def __init__(
        self,
        store: MetaStore,
        blobs: BlobStore,
        catalog: Catalog,
        policy: Policy,
        timeout: float,
        mirror_pages: MirrorPages,
        mirror_files: MirrorFiles,
    ) -> None:
        self._store = store
        self._blobs = blobs
        self._catalog = catalog
        self.policy = policy
        self._timeout = timeout
        self._mirror_pages = mirror_pages
        self._mirror_files = mirror_files

    async def push(self, who: Identity, source: Index, order: PushOrder) -> PushResult:
        if order.targetindex is None:
            self._check_may_push_out(who, source)
            release = await self._release(source, order)
            status, actions = await push_external(order, release, self._blobs, self._timeout)
            return PushResult(status, actions)
        target = self._target(who, order)
        release = await self._release(source, order)
        actions = await asyncio.to_thread(self._copy, who, source, target, order, release)
        return PushResult(OK, actions)

    # checks

    def _target(self, who: Identity, order: PushOrder) -> Index:
        target = self._catalog.get(*order.target_user_and_index)
        if target.is_mirror:
            raise InvalidInput(
                f"cannot push to mirror index {target.path}: it only holds what its upstream has"
            )
        if not self.policy.may_upload(who, target):
            if who.user is None:
                raise Unauthorized(f"authentication required to upload to {target.path!r}")
            raise Unauthorized(f"user {who.user!r} cannot upload to {target.path!r}")
        return target

    def _check_may_push_out(self, who: Identity, source: Index) -> None:
        """This server sends the release elsewhere: only for those who may upload to its index."""
        if self.policy.may_upload(who, source):
            return
        if who.user is None:
            raise Unauthorized(f"authentication required to push from {source.path!r}")
        raise Unauthorized(
            f"user {who.user!r} cannot push from {source.path!r} to another repository: "
            f"only the uploaders of {source.path!r} may"
        )

    # the release on the source index

    async def _release(self, source: Index, order: PushOrder) -> Release:
        if not source.is_mirror:
            return await asyncio.to_thread(self._read_release, source, order)
        await self._mirror_pages.sync(source, order.project)
        release = await asyncio.to_thread(self._read_release, source, order)
        uncached = [f for f in self._pushed_files(release, order) if not f.cached]
        for file in uncached:
            await self._fetch(source, file)
        if uncached:
            release = await asyncio.to_thread(self._read_release, source, order)
        for file in self._pushed_files(release, order):
            if not file.cached:
                raise UpstreamUnavailable(f"{file.filename} could not be fetched for {source.path}")
        return release

    async def _fetch(self, mirror: Index, file: ReleaseFile) -> None:
        """Have the mirror fetch a file, as a download through it would."""
        streaming = await self._mirror_files.stream(mirror, file)
        if streaming is None:
            return  # stored meanwhile
        try:
            async for _ in streaming.rest:
                pass  # the mirror stores the file once it is complete and verified
        finally:
            await streaming.rest.aclose()

    def _read_release(self, source: Index, order: PushOrder) -> Release:
        name, version = order.name, order.version
        rows = [
            f
            for f in self._store.files_of_project(source, order.project, kind=None)
            if f.version == version
        ]
        if not rows:
            raise InvalidInput(f"there are no files for {name} {version} on stage {source.path}")
        release = Release(
            name=name,
            version=version,
            metadata=self._metadata(source, order, rows),
            files=[f for f in rows if f.kind == "releasefile"],
            toxresults=[f for f in rows if f.kind == "toxresult"],
            doczip=next((f for f in rows if f.kind == "doczip"), None),
        )
        if order.only_docs and release.doczip is None:
            raise InvalidInput(
                f"there is no documentation for {name} {version} on stage {source.path}"
            )
        if not order.only_docs and not release.files:
            raise NotFound(f"no release files found for {name} {version} on stage {source.path}")
        for file in self._pushed_files(release, order):
            if file.cached and not self._blobs.exists(file.sha256):
                raise NotFound(f"the stored content of {file.relpath} is missing on this server")
        return release

    def _metadata(self, source: Index, order: PushOrder, rows: list[ReleaseFile]) -> dict[str, Any]:
        stored = self._store.releases(source.id, order.project).get(order.version)
        if stored is not None:
            return stored
        # A mirror keeps no metadata of its own: what its links say.
        display = self._store.display_name(source.id, order.project) or order.name
        metadata: dict[str, Any] = {"name": display, "version": order.version}
        requires_python = next((f.requires_python for f in rows if f.requires_python), None)
        if requires_python:
            metadata["requires_python"] = requires_python
        return metadata

    @staticmethod
    def _pushed_files(release: Release, order: PushOrder) -> list[ReleaseFile]:
        files = [] if order.only_docs else [*release.files, *release.toxresults]
        if release.doczip is not None and not order.no_docs:
            files.append(release.doczip)
        return files

    # a push to an index of this server

    def _copy(
        self, who: Identity, source: Index, target: Index, order: PushOrder, release: Release
    ) -> list[Action]:
        entry = {
            "what": "push",
            "who": who.user,
            "when": log_when(now()),
            "src": source.path,
            "dst": target.path,
        }
        actions: list[Action] = []
        name, version = release.name, release.version
        with self._store.transaction(who.user) as tx:
            copier = _Copier(tx, target, entry, self._blobs)
            # only_docs leaves the metadata of a version the target has alone.
            if not (order.only_docs and tx.release_exists(target.id, order.project, version)):
                copier.register(order.project, version, release.metadata)
                actions.append([OK, "register", name, version, "->", target.path])
            if not order.only_docs:
                for file in release.files:
                    copy = copier.put(file, file_relpath(target.path, file.sha256, file.filename))
                    actions.append([OK, "store_releasefile", copy.relpath])
                    for toxresult in release.toxresults:
                        if toxresult.for_relpath == file.relpath:
                            relpath = attached_relpath(copy.relpath, toxresult.filename)
                            copier.put(toxresult, relpath, for_relpath=copy.relpath)
                            actions.append([OK, "store_toxresult", relpath])
            doczip = release.doczip
            if doczip is not None and not order.no_docs:
                copier.put(doczip, file_relpath(target.path, doczip.sha256, doczip.filename))
                actions.append([OK, "store_doczip", name, version, "->", target.path])
            if tx.changes:
                tx.touch_project(target.id, order.project, str(release.metadata["name"]))
        return actions


class _Copier:
    """Writes the copies into the target within one transaction."""

    def __init__(
        self, tx: Transaction, target: Index, entry: dict[str, Any], blobs: BlobStore
    ) -> None:
        self._tx = tx
        self._target = target
        self._entry = entry
        self._blobs = blobs

    def register(self, project: str, version: str, metadata: dict[str, Any]) -> None:
        if self._tx.release_metadata(self._target.id, project, version) != metadata:
            self._tx.put_release(self._target.id, project, version, metadata)

    def put(self, file: ReleaseFile, relpath: str, for_relpath: str | None = None) -> ReleaseFile:
        """Store a copy of ``file`` at ``relpath``; a file of that name with the same content
        is left as it is. Other content replaces it on a volatile index, and is a conflict
        (rolling the whole push back) on a non-volatile one."""
        target = self._target
        existing = self._tx.file_named(target, file.project, file.filename)
        if existing is not None and existing.sha256 == file.sha256:
            return existing
        if existing is not None:
            if not target.volatile:
                raise Conflict(f"{file.filename} already exists in non-volatile index")
            self._tx.delete_file(target.id, target.path, existing.relpath)
        metadata = file.core_metadata_sha256
        copy = dataclasses.replace(
            file,
            index=target.path,
            relpath=relpath,
            for_relpath=for_relpath,
            yanked=None,
            log=_pushed_log(file, self._entry),
            url=None,
            cached=True,
            # A mirrored wheel's announced metadata may never have been fetched.
            core_metadata_sha256=metadata if metadata and self._blobs.exists(metadata) else None,
        )
        self._tx.put_file(target.id, copy)
        return copy

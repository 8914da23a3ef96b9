"""Repairs for the damage ``integrity.py`` finds (``pkgdepot fsck --repair``).

For each damaged blob:

1. A corrupt blob is moved into ``SERVERDIR/+quarantine/`` first, so it is never served again:
   whatever happens next, a row that still needs it gets a 404, never wrong bytes.
2. It is restored from where it came from, if it came from anywhere: a mirrored file is fetched
   again from its upstream (through ``MirrorFiles``, so a server running meanwhile shares the
   download, and the bytes must hash to the recorded sha256), a wheel's core metadata is
   extracted again from the wheel (and must hash to the recorded sha256 too).
3. What cannot be restored: a mirrored file is marked not cached, so its next download fetches
   it; a mirror's core metadata is fetched when next asked for. An uploaded file has no other
   source: it stays lost (quarantined if it was corrupt) and is reported, to be restored from a
   backup or deleted and uploaded again.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
from pathlib import Path

from pkgdepot import archives
from pkgdepot.domain.models import Index, ReleaseFile
from pkgdepot.errors import InvalidInput, NotFound, PkgdepotError
from pkgdepot.mirror.files import MirrorFiles
from pkgdepot.service.integrity import CORRUPT, FILE, METADATA, Damage, Reference, hash_file
from pkgdepot.storage.blobs import BlobStore
from pkgdepot.storage.meta import MetaStore

RESTORED = "restored"
UNCACHED = "not cached"  # a mirrored file: fetched again by its next download
ON_DEMAND = "on demand"  # a mirror's core metadata: fetched again when asked for
LOST = "lost"  # an uploaded file: only a backup or a new upload brings it back
GONE = "gone"  # the row was deleted meanwhile


@dataclasses.dataclass(frozen=True)
class Outcome:
    damage: Damage
    quarantined: Path | None  # where a corrupt blob went
    restored_by: str | None  # how the blob was restored, if it was
    results: tuple[tuple[Reference, str], ...]  # each row that needs it: RESTORED, UNCACHED...
    problems: tuple[str, ...]  # why restoring failed

    @property
    def repaired(self) -> bool:
        return all(result != LOST for _, result in self.results)


class Repairer:
    def __init__(
        self, store: MetaStore, blobs: BlobStore, mirror_files: MirrorFiles, quarantine: Path
    ) -> None:
        self._store = store
        self._blobs = blobs
        self._mirror_files = mirror_files
        self._quarantine = quarantine

    async def repair(self, damage: tuple[Damage, ...]) -> list[Outcome]:
        # Files first: a wheel fetched again lets its core metadata be extracted again.
        order = sorted(damage, key=lambda d: not any(r.role == FILE for r in d.references))
        return [await self.repair_one(item) for item in order]

    async def repair_one(self, damage: Damage) -> Outcome:
        quarantined = None
        if damage.state == CORRUPT:
            quarantined = await asyncio.to_thread(
                self._blobs.set_aside, damage.sha256, self._quarantine
            )
        problems: list[str] = []
        restored_by = await self._restore(damage, problems)
        results = [(r, await self._result(r, restored_by)) for r in damage.references]
        return Outcome(damage, quarantined, restored_by, tuple(results), tuple(problems))

    async def _result(self, reference: Reference, restored_by: str | None) -> str:
        if restored_by is not None:
            return RESTORED
        if not reference.mirrored:
            return LOST
        if reference.role == METADATA:
            return ON_DEMAND
        return UNCACHED if await asyncio.to_thread(self._uncache, reference) else GONE

    async def _restore(self, damage: Damage, problems: list[str]) -> str | None:
        if damage.state != CORRUPT and await asyncio.to_thread(self._intact, damage.sha256):
            return "stored again meanwhile"
        for reference in damage.references:
            if reference.role == FILE and reference.mirrored:
                try:
                    await self._fetch_again(reference)
                except PkgdepotError as error:
                    problems.append(f"{reference.relpath}: {error.message}")
                    continue
                if await asyncio.to_thread(self._intact, damage.sha256):
                    return "fetched again from its upstream"
                problems.append(f"{reference.relpath}: fetched, but not the recorded bytes")
        for reference in damage.references:
            if reference.role == METADATA:
                extract = self._extract_metadata
                if await asyncio.to_thread(extract, reference, damage.sha256, problems):
                    return "extracted again from its wheel"
        return None

    def _intact(self, sha256: str) -> bool:
        try:
            return hash_file(self._blobs.path(sha256))[0] == sha256
        except OSError:
            return False

    def _row(self, reference: Reference) -> tuple[Index, ReleaseFile] | None:
        index = self._store.all_indexes().get(reference.index)
        file = None if index is None else self._store.get_file(index, reference.relpath)
        return None if index is None or file is None else (index, file)

    async def _fetch_again(self, reference: Reference) -> None:
        found = await asyncio.to_thread(self._row, reference)
        if found is None or found[1].url is None:
            raise NotFound("its row was deleted meanwhile")
        index, file = found
        streaming = await self._mirror_files.stream(index, file)
        if streaming is None:
            return  # stored meanwhile (by a server sharing this directory)
        try:
            async for _ in streaming.rest:
                pass
        finally:
            await streaming.rest.aclose()

    def _extract_metadata(self, reference: Reference, sha256: str, problems: list[str]) -> bool:
        found = self._row(reference)
        if found is None:
            return False
        file = found[1]
        if not file.filename.endswith(".whl") or not file.cached:
            return False
        if not self._intact(file.sha256):
            problems.append(f"{reference.relpath}: the wheel is damaged too")
            return False
        try:
            raw = archives.extract_core_metadata(self._blobs.path(file.sha256), file.filename)
        except InvalidInput as error:
            problems.append(f"{reference.relpath}: {error.message}")
            return False
        if raw is None or hashlib.sha256(raw).hexdigest() != sha256:
            problems.append(f"{reference.relpath}: its wheel holds other core metadata")
            return False
        self._blobs.put_bytes(raw)
        return True

    def _uncache(self, reference: Reference) -> bool:
        found = self._row(reference)
        if found is None:
            return False
        with self._store.transaction(None) as tx:
            return tx.mark_not_cached(found[0], reference.relpath)

"""Documentation zips: what an uploaded one may hold, and unpacking one safely.

The server unpacks doc zips to serve them, so an entry must not be able to write outside its
folder (absolute paths, ``..``), create links or devices, or fill the disk (zip bombs).
``check`` runs at upload: it reads the central directory, then decompresses every entry
without keeping the bytes, so a zip that is stored can also be unpacked. ``unpack`` applies
the same rules again and counts the bytes it really writes, not the sizes the zip declares.
"""

from __future__ import annotations

import dataclasses
import io
import lzma
import os
import re
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

from pkgdepot.domain import docnames
from pkgdepot.domain.names import short_repr
from pkgdepot.errors import InvalidInput

# Sphinx HTML of a very large project is a few hundred MB unpacked; more is not documentation.
MAX_TOTAL_SIZE = 1024**3
# A Sphinx build has a few thousand files; CPython's documentation about 3,000.
MAX_ENTRIES = 20_000
# HTML and text compress about 5:1 to 10:1. Only runs of one byte reach 200:1, which is what a
# zip bomb is made of. Small entries are exempt: an entry of a few repeated bytes can be 200:1
# and does no harm.
MAX_RATIO = 200
RATIO_APPLIES_ABOVE = 1024**2
# What a filesystem allows for one name, and a generous bound for a whole path (in bytes).
MAX_SEGMENT = 255
MAX_PATH = 1024
# The compression methods Python's zipfile can read.
METHODS = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA})
CHUNK = 1024 * 1024
# What reading a damaged entry raises: bad headers or CRC, truncated or undecodable data.
READ_ERRORS = (zipfile.BadZipFile, zlib.error, lzma.LZMAError, EOFError, OSError, RuntimeError)

_DRIVE = re.compile(r"^[A-Za-z]:")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class UnsafeDocZip(InvalidInput):
    """The zip may not be stored or unpacked; the message names the entry at fault."""


@dataclasses.dataclass(frozen=True)
class Limits:
    total_size: int = MAX_TOTAL_SIZE
    entries: int = MAX_ENTRIES
    ratio: int = MAX_RATIO
    ratio_above: int = RATIO_APPLIES_ABOVE


DEFAULT_LIMITS = Limits()


@dataclasses.dataclass(frozen=True)
class Entry:
    info: zipfile.ZipInfo
    parts: tuple[str, ...]  # the path below the docs' folder, one segment each
    is_dir: bool


def _brief(error: BaseException) -> str:
    return " ".join(str(error).split())[:200] or type(error).__name__


def _refuse(name: str, problem: str) -> UnsafeDocZip:
    return UnsafeDocZip(f"documentation zip entry {short_repr(name)} {problem}")


def entry_parts(name: str) -> tuple[str, ...]:
    """The segments of an entry's path, checked; ``.`` and empty segments are dropped."""
    if name.startswith(("/", "\\")) or _DRIVE.match(name):
        raise _refuse(name, "is an absolute path")
    if "\\" in name:
        raise _refuse(name, "contains a backslash")
    if _CONTROL.search(name):
        raise _refuse(name, "contains a control character")
    parts = tuple(part for part in name.split("/") if part not in ("", "."))
    if ".." in parts:
        raise _refuse(name, "has a '..' segment that would escape its folder")
    if any(len(part.encode()) > MAX_SEGMENT for part in parts):
        raise _refuse(name, f"has a name longer than {MAX_SEGMENT} bytes")
    if len("/".join(parts).encode()) > MAX_PATH:
        raise _refuse(name, f"has a path longer than {MAX_PATH} bytes")
    return parts


def _entry(info: zipfile.ZipInfo, limits: Limits) -> Entry:
    name = info.orig_filename  # zipfile cuts its ``filename`` at a NUL byte
    parts = entry_parts(name)
    kind = stat.S_IFMT(info.external_attr >> 16)
    if kind == stat.S_IFLNK:
        raise _refuse(name, "is a symbolic link")
    if kind not in (0, stat.S_IFREG, stat.S_IFDIR):  # 0: made where files have no Unix mode
        raise _refuse(name, "is not a regular file or folder")
    is_dir = kind == stat.S_IFDIR or name.endswith("/")
    if is_dir and info.file_size:
        raise _refuse(name, "is a folder with content")
    if not parts and not is_dir:
        raise _refuse(name, "has no file name")
    if info.flag_bits & 0x1:
        raise _refuse(name, "is encrypted")
    if info.compress_type not in METHODS:
        raise _refuse(name, f"uses compression method {info.compress_type}, which is not supported")
    size, packed = info.file_size, info.compress_size
    if size > limits.ratio_above and size > limits.ratio * packed:
        raise _refuse(
            name,
            f"expands from {packed} to {size} bytes, more than {limits.ratio}:1 (a zip bomb?)",
        )
    return Entry(info, parts, is_dir)


def entries(archive: zipfile.ZipFile, limits: Limits = DEFAULT_LIMITS) -> list[Entry]:
    """Every entry of the zip, after checking what its central directory declares."""
    infos = archive.infolist()
    if len(infos) > limits.entries:
        raise UnsafeDocZip(
            f"documentation zip has {len(infos)} entries, more than the limit of {limits.entries}"
        )
    found = [_entry(info, limits) for info in infos]
    _check_tree(found)
    total = sum(entry.info.file_size for entry in found)
    if total > limits.total_size:
        raise UnsafeDocZip(
            f"documentation zip unpacks to {total} bytes, "
            f"more than the limit of {limits.total_size} bytes"
        )
    return found


def _check_tree(found: list[Entry]) -> None:
    """No path twice, and none that is a file in one entry and a folder in another."""
    seen: set[tuple[str, ...]] = set()
    folders: set[tuple[str, ...]] = set()  # every folder an entry names or lies in
    for entry in found:
        if entry.parts in seen:
            raise _refuse(entry.info.orig_filename, "appears more than once")
        seen.add(entry.parts)
        if entry.is_dir:
            folders.add(entry.parts)
        folders.update(entry.parts[:n] for n in range(len(entry.parts)))
    for entry in found:
        if not entry.is_dir and entry.parts in folders:
            raise _refuse(entry.info.orig_filename, "is a file and also a folder of other entries")


def _chunks(archive: zipfile.ZipFile, entry: Entry) -> Iterator[bytes]:
    """The entry's bytes; a damaged entry is refused, and none is longer than it declared."""
    name, written = entry.info.orig_filename, 0
    try:
        with archive.open(entry.info) as source:
            while chunk := source.read(CHUNK):
                written += len(chunk)
                if written > entry.info.file_size:
                    raise _refuse(
                        name, f"holds more than the {entry.info.file_size} bytes it declares"
                    )
                yield chunk
    except READ_ERRORS as error:
        raise _refuse(name, f"is damaged: {_brief(error)}") from None


def _open(path: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as error:
        raise UnsafeDocZip(f"documentation zip is damaged: {_brief(error)}") from None


def require_zip(path: Path, filename: str) -> None:
    """The upload is a zip. devpi-client repacks tar docs to a zip, so a tar here was sent as
    it is; devpi-server would store it as a ``.doc.zip`` that no one can unpack."""
    if zipfile.is_zipfile(path):
        return
    if docnames.looks_like_tar(filename) or tarfile.is_tarfile(path):
        raise UnsafeDocZip(
            f"documentation {short_repr(filename)} is a tar archive, not a zip: "
            "repack it as a zip (devpi upload does that for .tar.gz and .tgz docs)"
        )
    raise UnsafeDocZip("documentation must be uploaded as a zip file")


def check(path: Path, limits: Limits = DEFAULT_LIMITS) -> None:
    """At upload: the zip is safe to unpack, and every entry reads back intact."""
    with _open(path) as archive:
        _copy(archive, entries(archive, limits), None, limits)


def unpack(path: Path, target: Path, limits: Limits = DEFAULT_LIMITS) -> None:
    """Into ``target``, an empty folder, checking the zip again on the way."""
    with _open(path) as archive:
        _copy(archive, entries(archive, limits), target, limits)


def _copy(
    archive: zipfile.ZipFile, found: list[Entry], target: Path | None, limits: Limits
) -> None:
    """Every entry into ``target`` (None: read and thrown away), counting the real bytes."""
    total = 0
    folders: set[Path] = set()  # made already
    for entry in found:
        if target is not None:
            folder = target.joinpath(*(entry.parts if entry.is_dir else entry.parts[:-1]))
            if folder not in folders:
                folder.mkdir(parents=True, exist_ok=True)
                folders.add(folder)
        if entry.is_dir:
            continue
        with _destination(target, entry) as out:
            for chunk in _chunks(archive, entry):
                total += len(chunk)
                if total > limits.total_size:
                    raise UnsafeDocZip(
                        f"documentation zip unpacks to more than {limits.total_size} bytes"
                    )
                out.write(chunk)


def _destination(target: Path | None, entry: Entry) -> io.BufferedWriter:
    if target is None:
        return open(os.devnull, "wb")
    # "x": never replaces a file; each path was checked to appear once.
    return target.joinpath(*entry.parts).open("xb")

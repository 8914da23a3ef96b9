"""Documentation zips built in memory, well-formed and hostile (links, devices, bombs, lies)."""

from __future__ import annotations

import io
import stat
import struct
import warnings
import zipfile
import zlib
from collections.abc import Sequence

Member = tuple[str | zipfile.ZipInfo, bytes]

# Fields of a central directory header (APPNOTE 4.3.12): offset, struct format.
CENTRAL_SIGNATURE = b"PK\x01\x02"
FLAGS = (8, "<H")
METHOD = (10, "<H")
COMPRESSED_SIZE = (20, "<I")
FILE_SIZE = (24, "<I")


def make_zip(members: Sequence[Member], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A zip of exactly these members, in this order (duplicate names too)."""
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "Duplicate name", on purpose
        with zipfile.ZipFile(buffer, "w", compression) as archive:
            for name, data in members:
                archive.writestr(_fixed_time(name, compression), data)
    return buffer.getvalue()


def _fixed_time(name: str | zipfile.ZipInfo, compression: int) -> str | zipfile.ZipInfo:
    """An entry stamped with a fixed time, so the same members always make the same bytes."""
    if isinstance(name, zipfile.ZipInfo):
        return name
    entry = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
    entry.compress_type = compression
    entry.external_attr = 0o600 << 16  # what zipfile gives an entry written by name
    return entry


def same_content_zip(names: Sequence[str], content: bytes) -> bytes:
    """A valid zip whose entries all hold ``content``, deflated once: big test zips in no time
    (zipfile would compress the content again for every entry)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)  # raw deflate, as zips hold it
    packed = compressor.compress(content) + compressor.flush()
    crc, date = zlib.crc32(content), 0x21  # 1980-01-01
    mode = (stat.S_IFREG | 0o644) << 16
    body, central = io.BytesIO(), io.BytesIO()
    for name in names:
        encoded, offset = name.encode(), body.tell()
        sizes = (crc, len(packed), len(content), len(encoded))
        body.write(struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 8, 0, date, *sizes, 0))
        body.write(encoded + packed)
        made_by = 0x0314  # Unix, zip 2.0
        central.write(
            struct.pack(
                "<4s6H3L5H2L",
                CENTRAL_SIGNATURE,
                made_by,
                20,
                0,
                8,
                0,
                date,
                *sizes,
                0,
                0,
                0,
                0,
                mode,
                offset,
            )
        )
        central.write(encoded)
    directory, start = central.getvalue(), body.tell()
    body.write(directory)
    count = len(names)
    body.write(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, count, count, len(directory), start, 0))
    return body.getvalue()


def with_mode(name: str, mode: int) -> zipfile.ZipInfo:
    """An entry whose Unix mode (file type and permissions) is ``mode``."""
    info = zipfile.ZipInfo(name)
    info.create_system = 3  # Unix
    info.external_attr = mode << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def symlink(name: str) -> zipfile.ZipInfo:
    return with_mode(name, stat.S_IFLNK | 0o777)


def patch_central(data: bytes, name: str, field: tuple[int, str], value: int) -> bytes:
    """``data`` with one field of ``name``'s central directory header changed."""
    start = data.find(CENTRAL_SIGNATURE)
    while start != -1:
        name_length = struct.unpack_from("<H", data, start + 28)[0]
        if data[start + 46 : start + 46 + name_length] == name.encode():
            offset, fmt = field
            patched = bytearray(data)
            struct.pack_into(fmt, patched, start + offset, value)
            return bytes(patched)
        start = data.find(CENTRAL_SIGNATURE, start + 4)
    raise AssertionError(f"no central directory header for {name!r}")


def sphinx_like() -> dict[str, bytes]:
    """A small documentation tree: pages, a nested page, a stylesheet and an image."""
    return {
        "index.html": b"<html><body><h1>hello-pkg</h1></body></html>",
        "api/index.html": b"<html><body><h1>API</h1></body></html>",
        "api/module.html": b"<html><body>module</body></html>",
        "_static/style.css": b"body { color: black; }",
        "_static/logo.png": b"\x89PNG\r\n\x1a\n" + bytes(range(256)),
    }

"""Upload bodies made on the fly: big wheels and multipart forms that are never held in memory."""

from __future__ import annotations

import hashlib
import io
import random
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping

MIB = 1024 * 1024
BOUNDARY = "pkgdepot-test-boundary-7d1c"


class _Sink(io.RawIOBase):
    """A write-only, unseekable file: zipfile then streams (data descriptors, no seeking)."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self._parts.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data


def _entry(name: str) -> zipfile.ZipInfo:
    return zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))  # same bytes on every run


def big_wheel(
    name: str, version: str, payload_mib: int, seed: int = 0
) -> tuple[str, Callable[[], Iterator[bytes]]]:
    """A valid wheel with ``payload_mib`` MiB of incompressible data, as a chunk generator.

    Every call of the generator function yields the same bytes, one MiB at a time or so.
    """
    module = name.replace("-", "_")
    filename = f"{module}-{version}-py3-none-any.whl"
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode()

    def chunks() -> Iterator[bytes]:
        block = random.Random(seed).randbytes(MIB)
        sink = _Sink()
        with zipfile.ZipFile(sink, "w", zipfile.ZIP_STORED) as archive:
            archive.writestr(_entry(f"{module}-{version}.dist-info/METADATA"), metadata)
            archive.writestr(_entry(f"{module}/__init__.py"), b"")
            yield sink.take()
            with archive.open(_entry(f"{module}/data.bin"), "w") as member:
                for number in range(payload_mib):
                    member.write(number.to_bytes(8, "big") + block[8:])
                    yield sink.take()
        yield sink.take()

    return filename, chunks


def digest_of(chunks: Iterable[bytes]) -> tuple[str, int]:
    """sha256 and size of a stream."""
    sha256 = hashlib.sha256()
    size = 0
    for chunk in chunks:
        sha256.update(chunk)
        size += len(chunk)
    return sha256.hexdigest(), size


def _field(name: str, value: str) -> bytes:
    return (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
    ).encode()


def multipart_upload(
    fields: Mapping[str, str],
    filename: str,
    content: Iterable[bytes],
    *,
    send_sha256: bool = True,
) -> Iterator[bytes]:
    """A twine-style ``file_upload`` body; the sha256 field goes after the content,
    computed as the content streams by."""
    for name, value in fields.items():
        yield _field(name, value)
    yield (
        f"--{BOUNDARY}\r\nContent-Disposition: form-data; "
        f'name="content"; filename="{filename}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    sha256 = hashlib.sha256()
    for chunk in content:
        sha256.update(chunk)
        yield chunk
    yield b"\r\n"
    if send_sha256:
        yield _field("sha256_digest", sha256.hexdigest())
    yield f"--{BOUNDARY}--\r\n".encode()


MULTIPART_TYPE = f"multipart/form-data; boundary={BOUNDARY}"


def upload_fields(name: str, version: str) -> dict[str, str]:
    return {":action": "file_upload", "protocol_version": "1", "name": name, "version": version}

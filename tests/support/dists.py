"""Build real wheels and sdists in memory, so tests need no build backend and no network."""

from __future__ import annotations

import base64
import hashlib
import io
import tarfile
import zipfile
from collections.abc import Sequence
from pathlib import Path

from packaging.utils import canonicalize_name


def _metadata(
    name: str, version: str, requires: Sequence[str], requires_python: str | None, summary: str
) -> str:
    lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}", f"Summary: {summary}"]
    if requires_python:
        lines.append(f"Requires-Python: {requires_python}")
    lines += [f"Requires-Dist: {r}" for r in requires]
    return "\n".join(lines) + "\n\nA test package.\n"


def _padded(metadata: bytes, size: int) -> bytes:
    """``metadata`` with its description made longer, in lines of 80 bytes, to ``size`` bytes."""
    missing = size - len(metadata)
    assert missing >= 0, f"METADATA is {len(metadata)} bytes already"
    line = b"x" * 79 + b"\n"
    return metadata + (line * (missing // len(line) + 1))[:missing]


def _record_line(path: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"


def wheel_name(name: str, version: str) -> str:
    return f"{canonicalize_name(name).replace('-', '_')}-{version}-py3-none-any.whl"


def make_wheel(
    name: str,
    version: str,
    *,
    requires: Sequence[str] = (),
    requires_python: str | None = None,
    summary: str = "test package",
    payload: bytes = b"",
    metadata_size: int | None = None,
) -> tuple[str, bytes]:
    """A pure-Python wheel with one module ``<name>_mod`` that pip can install; with
    ``metadata_size``, its METADATA is that many bytes (a long description)."""
    module = canonicalize_name(name).replace("-", "_")
    dist_info = f"{module}-{version}.dist-info"
    metadata = _metadata(name, version, requires, requires_python, summary).encode()
    if metadata_size is not None:
        metadata = _padded(metadata, metadata_size)
    files = {
        f"{module}_mod/__init__.py": f"VERSION = {version!r}\n".encode() + payload,
        f"{dist_info}/METADATA": metadata,
        f"{dist_info}/WHEEL": (
            b"Wheel-Version: 1.0\nGenerator: pkgdepot-tests\nRoot-Is-Purelib: true\n"
            b"Tag: py3-none-any\n"
        ),
    }
    record = [_record_line(path, data) for path, data in files.items()]
    record.append(f"{dist_info}/RECORD,,")
    files[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in files.items():
            archive.writestr(path, data)
    return wheel_name(name, version), buffer.getvalue()


def make_sdist(
    name: str,
    version: str,
    *,
    requires_python: str | None = None,
    summary: str = "test package",
) -> tuple[str, bytes]:
    base = f"{canonicalize_name(name).replace('-', '_')}-{version}"
    pkg_info = _metadata(name, version, (), requires_python, summary).encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for path, data in ((f"{base}/PKG-INFO", pkg_info), (f"{base}/README", b"readme\n")):
            info = tarfile.TarInfo(path)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return f"{base}.tar.gz", buffer.getvalue()


def write(directory: Path, built: tuple[str, bytes]) -> Path:
    path = directory / built[0]
    path.write_bytes(built[1])
    return path

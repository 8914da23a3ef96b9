"""The server directory: its layout, and initialising an empty one."""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import secrets
import uuid
from pathlib import Path

from pkgdepot.errors import ConfigError

FORMAT = 1


@dataclasses.dataclass(frozen=True)
class ServerDir:
    root: Path

    @property
    def marker(self) -> Path:
        return self.root / ".pkgdepot.json"

    @property
    def database(self) -> Path:
        return self.root / "db.sqlite"

    @property
    def blobs(self) -> Path:
        return self.root / "+blobs"

    @property
    def serial(self) -> Path:
        return self.root / ".serial"

    @property
    def secret(self) -> Path:
        return self.root / ".secret"

    @property
    def root_password(self) -> Path:
        return self.root / "root-password.txt"

    def is_initialized(self) -> bool:
        return self.marker.is_file()

    def node_uuid(self) -> str:
        data = json.loads(self.marker.read_text())
        value: str = data["uuid"]
        return value

    def read_secret(self) -> bytes:
        return base64.b64decode(self.secret.read_bytes())

    def prepare(self) -> None:
        """Create the directory tree and the secrets; refuse one that holds something else."""
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        others = [p.name for p in self.root.iterdir() if not p.name.startswith(".")]
        if others and not self.is_initialized():
            raise ConfigError(
                f"{self.root} is not empty and not a pkgdepot server directory: "
                f"{', '.join(sorted(others)[:5])}"
            )
        self.blobs.mkdir(exist_ok=True)
        if not self.secret.exists():
            write_private(self.secret, base64.b64encode(secrets.token_bytes(32)))

    def mark_initialized(self) -> None:
        self.marker.write_text(json.dumps({"format": FORMAT, "uuid": uuid.uuid4().hex}) + "\n")


def write_private(path: Path, data: bytes) -> None:
    """Write a file only its owner may read (mode 0600 from the start)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as stream:
        stream.write(data)
        stream.flush()
        os.fsync(stream.fileno())

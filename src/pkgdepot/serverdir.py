"""The server directory: its layout, and preparing an empty one."""

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
DATABASE = "db.sqlite"
ROOT_MODE = 0o700  # the server directory itself: its owner's alone
PRIVATE_FILES = (".pkgdepot.json", ".secret", "root-password.txt")  # see write_private
# Everything pkgdepot itself puts in a server directory. A directory holding anything else
# that is not (yet) marked as ours belongs to someone else and is never taken over.
OWN_NAMES = frozenset(
    {
        *PRIVATE_FILES,
        *(name + ".tmp" for name in PRIVATE_FILES),
        DATABASE,
        DATABASE + "-wal",
        DATABASE + "-shm",
        DATABASE + "-journal",
        "+blobs",
        "+mirrors",
        "+docs",
        "+quarantine",
        "+metrics",
        ".serial",
    }
)


@dataclasses.dataclass(frozen=True)
class ServerDir:
    root: Path

    @property
    def marker(self) -> Path:
        return self.root / ".pkgdepot.json"

    @property
    def database(self) -> Path:
        return self.root / DATABASE

    @property
    def blobs(self) -> Path:
        return self.root / "+blobs"

    @property
    def mirrors(self) -> Path:
        """Mirror state kept outside the database: project lists, downloads in progress."""
        return self.root / "+mirrors"

    @property
    def docs(self) -> Path:
        """Doc zips unpacked for serving, one folder per zip's sha256 (rebuilt when missing)."""
        return self.root / "+docs"

    @property
    def quarantine(self) -> Path:
        """Blobs ``pkgdepot fsck --repair`` found corrupt, kept for inspection, never served."""
        return self.root / "+quarantine"

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
        """Create the directory tree and the secret; refuse one that holds something else."""
        try:
            self.root.mkdir(parents=True, exist_ok=True, mode=ROOT_MODE)
            if not self.is_initialized():
                others = sorted(p.name for p in self.root.iterdir() if p.name not in OWN_NAMES)
                if others:
                    raise ConfigError(
                        f"{self.root} is not empty and not a pkgdepot server directory: "
                        f"{', '.join(others[:5])}{', ...' if len(others) > 5 else ''}"
                    )
            self.blobs.mkdir(exist_ok=True)
            self.mirrors.mkdir(exist_ok=True)
            if not self.secret.exists():
                self.write_new_secret()
        except OSError as error:
            raise ConfigError(
                f"cannot use {self.root} as server directory: {error.strerror}"
            ) from None

    def write_new_secret(self) -> None:
        """A new random secret (it signs login tokens): mode 0600, replaced all at once."""
        write_private(self.secret, base64.b64encode(secrets.token_bytes(32)))

    def mark_initialized(self) -> None:
        """The last step of initialisation: from now on the directory is ours."""
        data = json.dumps({"format": FORMAT, "uuid": uuid.uuid4().hex}) + "\n"
        write_private(self.marker, data.encode())


def write_private(path: Path, data: bytes) -> None:
    """Write a file only its owner may read (mode 0600 from the start), all or nothing."""
    temporary = path.with_name(path.name + ".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as stream:
        stream.write(data)
        stream.flush()
        os.fsync(stream.fileno())
    os.replace(temporary, path)

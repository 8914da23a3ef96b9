"""The few calls of devpi-server's HTTP API that set a server up for the benchmark; pkgdepot
speaks the same API, so both are set up by the same code: a user, a stage index whose base is
root/pypi with a few uploads, and an empty volatile index the upload workload fills."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

import httpx

from benchmarks.model import Endpoints

USER = "bench"
PASSWORD = "bench-secret"  # noqa: S105 - a throwaway account on a server on 127.0.0.1
ROOT_PASSWORD = "root-secret"  # noqa: S105 - likewise
STAGE = f"{USER}/stage"
UPLOADS = f"{USER}/uploads"
BIG = f"{USER}/big"  # the index of the prepared start-up directories (seed_startup.py)


def _auth_header(user: str, token: str) -> dict[str, str]:
    return {"X-Devpi-Auth": base64.b64encode(f"{user}:{token}".encode()).decode()}


def _basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


class DevpiApi:
    def __init__(self, base: str) -> None:
        self.http = httpx.Client(
            base_url=base, headers={"Accept": "application/json"}, timeout=120, trust_env=False
        )

    def __enter__(self) -> DevpiApi:
        return self

    def __exit__(self, *_: object) -> None:
        self.http.close()

    def _check(self, reply: httpx.Response, what: str) -> Any:
        if reply.status_code >= 300:
            raise RuntimeError(f"{what}: {reply.status_code} {reply.text[:500]}")
        return reply.json() if reply.content else None

    def login(self, user: str, password: str) -> dict[str, str]:
        reply = self.http.post("/+login", json={"user": user, "password": password})
        token: str = self._check(reply, f"login as {user}")["result"]["password"]
        return _auth_header(user, token)

    def create_user(self, user: str, password: str) -> None:
        reply = self.http.put(f"/{user}", json={"password": password, "email": f"{user}@x.test"})
        self._check(reply, f"create user {user}")

    def create_index(self, path: str, config: dict[str, Any], auth: dict[str, str]) -> None:
        self._check(self.http.put(f"/{path}", json=config, headers=auth), f"create {path}")

    def patch_index(self, path: str, changes: list[str], auth: dict[str, str]) -> None:
        """devpi's ``key=value`` changes of an index's config."""
        self._check(self.http.patch(f"/{path}", json=changes, headers=auth), f"change {path}")

    def upload(self, index: str, file: Path, user: str, password: str) -> None:
        """One file as twine sends it (name and version from the file's name)."""
        data = file.read_bytes()
        stem = file.name.removesuffix(".tar.gz").removesuffix(".whl")
        name, version = stem.split("-")[:2]
        form = {
            ":action": "file_upload",
            "protocol_version": "1",
            "name": name,
            "version": version,
            "sha256_digest": hashlib.sha256(data).hexdigest(),
        }
        reply = self.http.post(
            f"/{index}/",
            data=form,
            files={"content": (file.name, data)},
            headers=_basic(user, password),
        )
        self._check(reply, f"upload {file.name} to {index}")


def set_up(base: str, stage_uploads: Path | None) -> None:
    """The benchmark's user and indexes on a fresh server, and the stage's uploads."""
    with DevpiApi(base) as api:
        api.create_user(USER, PASSWORD)
        auth = api.login(USER, PASSWORD)
        api.create_index(STAGE, {"type": "stage", "bases": ["root/pypi"]}, auth)
        api.create_index(UPLOADS, {"type": "stage", "bases": [], "volatile": True}, auth)
        for file in sorted(stage_uploads.iterdir()) if stage_uploads else []:
            api.upload(STAGE, file, USER, PASSWORD)


def endpoints(base: str, *, prepared: bool) -> Endpoints:
    """Where pkgdepot and devpi-server, which share the API, have the benchmark's indexes;
    on a prepared start-up directory only its index of many projects (``BIG``)."""
    private = not prepared
    return Endpoints(
        base=base,
        mirror_simple=f"{base}/root/pypi/+simple/",
        stage_simple=f"{base}/{STAGE if private else BIG}/+simple/",
        upload_url=f"{base}/{UPLOADS}/" if private else None,
        upload_auth=(USER, PASSWORD) if private else None,
        upload_simple=f"{base}/{UPLOADS}/+simple/" if private else None,
    )

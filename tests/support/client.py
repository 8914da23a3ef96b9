"""A small HTTP client for pkgdepot's API, as devpi-client and twine use it."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from tests.support.server import ROOT_PASSWORD

JSON = {"Accept": "application/json"}


def basic(user: str, secret: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def devpi_auth(user: str, secret: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{secret}".encode()).decode()
    return {"X-Devpi-Auth": token}


class Api:
    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx.Client(base_url=url, headers=JSON, timeout=60)

    def close(self) -> None:
        self.http.close()

    def login(self, user: str, password: str) -> str:
        reply = self.http.post("/+login", json={"user": user, "password": password})
        reply.raise_for_status()
        token: str = reply.json()["result"]["password"]
        return token

    def create_user(self, name: str, password: str = "secret", **config: Any) -> httpx.Response:
        reply = self.http.put(f"/{name}", json={"password": password, **config})
        assert reply.status_code == 201, reply.text
        return reply

    def create_index(
        self, path: str, *, auth: tuple[str, str] | None = None, **config: Any
    ) -> dict[str, Any]:
        user = path.split("/")[0]
        who = auth or (user, "secret")
        reply = self.http.put(f"/{path}", json=config, headers=basic(*who))
        assert reply.status_code == 201, reply.text
        result: dict[str, Any] = reply.json()["result"]
        return result

    def as_root(self) -> dict[str, str]:
        return basic("root", ROOT_PASSWORD)

    def upload(
        self,
        index: str,
        filename: str,
        data: bytes,
        *,
        auth: tuple[str, str] | None = None,
        name: str | None = None,
        version: str | None = None,
        action: str = "file_upload",
        fields: Mapping[str, str | Sequence[str]] | None = None,
        digests: bool = True,
    ) -> httpx.Response:
        """A twine-style upload; name and version default to what the filename says."""
        stem = filename.removesuffix(".tar.gz").removesuffix(".whl")
        parts = stem.split("-")
        form: dict[str, Any] = {
            ":action": action,
            "protocol_version": "1",
            "name": name if name is not None else parts[0],
            "version": version if version is not None else parts[1],
        }
        if digests:
            form["sha256_digest"] = hashlib.sha256(data).hexdigest()
        form.update(fields or {})
        headers = basic(*auth) if auth else {}
        return self.http.post(
            f"/{index}/", data=form, files={"content": (filename, data)}, headers=headers
        )

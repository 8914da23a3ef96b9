"""Helpers and fixtures for the upload endpoint's tests: hand-built multipart bodies, twine's
form fields, and a snapshot of everything a refused upload must leave as it was.

Test modules import the fixtures (``fixture_*``, used as ``make_stage``, ``stage`` and
``no_server_errors``)."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import tarfile
import time
import zipfile
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import httpx
import pytest

from tests.support import dists
from tests.support.client import Api, basic
from tests.support.server import ServerProcess, without_internal_errors

SIMPLE_JSON = {"Accept": "application/vnd.pypi.simple.v1+json"}
ANY = {"Accept": "*/*"}
BOUNDARY = "pkgdepot-test-boundary"
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"
Form = Sequence[tuple[str, str]]
Built = tuple[str, bytes]  # (filename, content)


@dataclasses.dataclass
class Stage:
    api: Api
    user: str
    path: str  # "user/index"

    @property
    def auth(self) -> dict[str, str]:
        return basic(self.user, "secret")


# request bodies


def encode_multipart(fields: Form, file: Built | None) -> bytes:
    """A multipart body built by hand, so that filenames and structure are exactly ours."""
    body = io.BytesIO()
    for key, value in fields:
        body.write(f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n'.encode())
        body.write(value.encode() + b"\r\n")
    if file is not None:
        filename, data = file
        body.write(
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="content"; '
            f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'.encode()
        )
        body.write(data + b"\r\n")
    body.write(f"--{BOUNDARY}--\r\n".encode())
    return body.getvalue()


def twine_form(name: str, version: str, data: bytes | None = None, **extra: str) -> list[Any]:
    """The fields twine sends, with all three digests of ``data`` when it is given."""
    form = [
        (":action", "file_upload"),
        ("protocol_version", "1"),
        ("name", name),
        ("version", version),
        ("metadata_version", "2.1"),
    ]
    if data is not None:
        form += [
            ("sha256_digest", hashlib.sha256(data).hexdigest()),
            ("md5_digest", hashlib.md5(data, usedforsecurity=False).hexdigest()),
            ("blake2_256_digest", hashlib.blake2b(data, digest_size=32).hexdigest()),
        ]
    form += list(extra.items())
    return form


def without(form: Form, key: str) -> list[tuple[str, str]]:
    return [(k, v) for k, v in form if k != key]


def replaced(form: Form, key: str, value: str) -> list[tuple[str, str]]:
    return [(k, value if k == key else v) for k, v in form]


def sdist_with_pkg_info(base: str, pkg_info: str) -> Built:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        data = pkg_info.encode()
        info = tarfile.TarInfo(f"{base}/PKG-INFO")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return f"{base}.tar.gz", buffer.getvalue()


def zip_of(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path, data in members.items():
            archive.writestr(path, data)
    return buffer.getvalue()


DOCS = zip_of({"index.html": b"<h1>docs</h1>"})


# requests


def post(
    stage: Stage,
    fields: Form,
    file: Built | None,
    *,
    headers: dict[str, str] | None = None,
    path: str | None = None,
) -> httpx.Response:
    """A multipart upload, by the stage's owner unless ``headers`` say otherwise."""
    return stage.api.http.post(
        f"/{path or stage.path}/",
        content=encode_multipart(fields, file),
        headers={"Content-Type": MULTIPART, **(stage.auth if headers is None else headers)},
    )


def raw_post(stage: Stage, body: bytes, content_type: str) -> httpx.Response:
    headers = {**stage.auth, "Content-Type": content_type}
    return stage.api.http.post(f"/{stage.path}/", content=body, headers=headers)


def upload(stage: Stage, built: Built, name: str, version: str) -> httpx.Response:
    return post(stage, twine_form(name, version, built[1]), built)


def upload_as(
    stage: Stage, auth: dict[str, str], built: Built, version: str, *, name: str = "hello-pkg"
) -> httpx.Response:
    return post(stage, twine_form(name, version, built[1]), built, headers=auth)


def download(stage: Stage, url: str) -> httpx.Response:
    return stage.api.http.get(url, headers=ANY)


def simple_page(stage: Stage, project: str) -> dict[str, Any]:
    reply = stage.api.http.get(f"/{stage.path}/+simple/{project}/", headers=SIMPLE_JSON)
    assert reply.status_code == 200, reply.text
    page: dict[str, Any] = reply.json()
    return page


def file_link(stage: Stage, project: str, filename: str) -> str:
    """The absolute URL of a file, as an installer finds it on the simple page."""
    [url] = [f["url"] for f in simple_page(stage, project)["files"] if f["filename"] == filename]
    return str(httpx.URL(f"{stage.api.url}/{stage.path}/+simple/{project}/").join(url))


# checks


def snapshot(stage: Stage, *projects: str) -> list[object]:
    """Everything a refused upload must leave as it was: serial, project list, project pages."""
    http = stage.api.http
    state: list[object] = [http.get("/+api").headers["x-devpi-serial"]]
    state.append(http.get(f"/{stage.path}/+simple/", headers=SIMPLE_JSON).text)
    for project in projects:
        page = http.get(f"/{stage.path}/+simple/{project}/", headers=SIMPLE_JSON)
        data = http.get(f"/{stage.path}/{project}")
        state += [(page.status_code, page.text), (data.status_code, data.text)]
    return state


def assert_refused(reply: httpx.Response, status: int, message: str) -> None:
    assert reply.status_code == status, reply.text
    assert reply.json() == {"message": message}
    assert reply.reason_phrase == (f"Unauthorized: {message}" if status == 401 else message)


def wait_until(condition: Callable[[], bool]) -> None:
    """Wait for the server to reach a state (not a timing assertion: the limit is generous)."""
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, "the server never got there"
        time.sleep(0.02)


# fixtures


@pytest.fixture(name="no_server_errors")
def fixture_no_server_errors(server: ServerProcess) -> Iterator[None]:
    """No request of the test may end in an internal error (a logged traceback)."""
    with without_internal_errors(server):
        yield


@pytest.fixture(name="make_stage")
def fixture_make_stage(api: Api, unique: Callable[[str], str]) -> Callable[..., Stage]:
    """New user with a ``dev`` index of the given config."""

    def make(**config: Any) -> Stage:
        user = unique("up")
        api.create_user(user)
        api.create_index(f"{user}/dev", **config)
        return Stage(api, user, f"{user}/dev")

    return make


@pytest.fixture(name="stage")
def fixture_stage(make_stage: Callable[..., Stage]) -> Stage:
    """A volatile index that already holds hello-pkg 1.0 (a wheel)."""
    made = make_stage()
    reply = upload(made, dists.make_wheel("hello-pkg", "1.0"), "hello-pkg", "1.0")
    assert reply.status_code == 200, reply.text
    return made

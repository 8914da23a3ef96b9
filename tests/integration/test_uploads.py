"""The upload endpoint (``POST /USER/INDEX/``): every refusal is a precise 4xx whose message is in
the JSON body and the HTTP reason phrase, and leaves the index as it was."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import socket
import tarfile
import time
import zipfile
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import httpx
import pytest

from tests.support import dists
from tests.support.client import Api, basic
from tests.support.server import ROOT_PASSWORD, ServerProcess

SIMPLE_JSON = {"Accept": "application/vnd.pypi.simple.v1+json"}
BOUNDARY = "pkgdepot-test-boundary"
Form = Sequence[tuple[str, str]]


@dataclasses.dataclass
class Stage:
    api: Api
    user: str
    path: str  # "user/index"

    @property
    def auth(self) -> dict[str, str]:
        return basic(self.user, "secret")


def encode_multipart(fields: Form, file: tuple[str, bytes] | None) -> bytes:
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
    """The fields twine sends, with all three digests of ``data``."""
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


def post(
    stage: Stage,
    fields: Form,
    file: tuple[str, bytes] | None,
    *,
    headers: dict[str, str] | None = None,
    path: str | None = None,
) -> httpx.Response:
    content_type = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
    return stage.api.http.post(
        f"/{path or stage.path}/",
        content=encode_multipart(fields, file),
        headers={**content_type, **(stage.auth if headers is None else headers)},
    )


def upload(stage: Stage, built: tuple[str, bytes], name: str, version: str) -> httpx.Response:
    return post(stage, twine_form(name, version, built[1]), built)


def snapshot(stage: Stage, *projects: str) -> list[object]:
    """Everything a refused upload must leave as it was."""
    http = stage.api.http
    state: list[object] = [http.get("/+api").headers["x-devpi-serial"]]
    state.append(http.get(f"/{stage.path}/+simple/", headers=SIMPLE_JSON).text)
    for project in projects:
        for url in (f"/{stage.path}/+simple/{project}/", f"/{stage.path}/{project}"):
            reply = http.get(url, headers=SIMPLE_JSON if "+simple" in url else None)
            state.append((url, reply.status_code, reply.text))
    return state


def assert_refused(reply: httpx.Response, status: int, message: str) -> None:
    assert reply.status_code == status, reply.text
    assert reply.json() == {"message": message}
    assert reply.reason_phrase == message


def sdist_with_pkg_info(base: str, pkg_info: str) -> tuple[str, bytes]:
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


@pytest.fixture(autouse=True)
def no_server_errors(server: ServerProcess) -> Iterator[None]:
    """No request of these tests may end in an internal error (a 5xx or a logged traceback)."""
    seen = len(server.output)
    yield
    logged = "".join(server.output[seen:])
    assert "Traceback" not in logged
    assert "internal error" not in logged


@pytest.fixture
def make_stage(api: Api, unique: Callable[[str], str]) -> Callable[..., Stage]:
    def make(**config: Any) -> Stage:
        user = unique("up")
        api.create_user(user)
        api.create_index(f"{user}/dev", **config)
        return Stage(api, user, f"{user}/dev")

    return make


@pytest.fixture
def stage(make_stage: Callable[..., Stage]) -> Stage:
    """A volatile index that already holds hello-pkg 1.0 (a wheel)."""
    made = make_stage()
    reply = upload(made, dists.make_wheel("hello-pkg", "1.0"), "hello-pkg", "1.0")
    assert reply.status_code == 200, reply.text
    return made


# permissions


def test_anonymous_gets_401_with_www_authenticate(stage: Stage) -> None:
    before = snapshot(stage, "hello-pkg")
    reply = upload_as(stage, {}, dists.make_wheel("hello-pkg", "2.0"), "2.0")
    assert_refused(reply, 401, "authentication required to upload")
    assert reply.headers["WWW-Authenticate"].startswith("Basic realm=")
    assert snapshot(stage, "hello-pkg") == before


def test_wrong_password_gets_401(stage: Stage) -> None:
    before = snapshot(stage, "hello-pkg")
    reply = upload_as(
        stage, basic(stage.user, "wrong"), dists.make_wheel("hello-pkg", "2.0"), "2.0"
    )
    assert_refused(reply, 401, f"user {stage.user!r} could not be authenticated")
    assert reply.headers["WWW-Authenticate"].startswith("Basic realm=")
    assert snapshot(stage, "hello-pkg") == before


def test_other_user_gets_403(stage: Stage, unique: Callable[[str], str]) -> None:
    other = unique("other")
    stage.api.create_user(other)
    before = snapshot(stage, "hello-pkg")
    reply = upload_as(stage, basic(other, "secret"), dists.make_wheel("hello-pkg", "2.0"), "2.0")
    assert_refused(reply, 403, f"no permission to submit to {stage.path}")
    assert snapshot(stage, "hello-pkg") == before


@pytest.mark.parametrize("who", ["owner", "root"])
def test_owner_and_root_may_upload(stage: Stage, who: str) -> None:
    auth = stage.auth if who == "owner" else basic("root", ROOT_PASSWORD)
    built = dists.make_wheel("hello-pkg", "2.0")
    reply = upload_as(stage, auth, built, "2.0")
    assert reply.status_code == 200, reply.text
    assert reply.json() == {"message": "OK"}
    page = stage.api.http.get(f"/{stage.path}/+simple/hello-pkg/", headers=SIMPLE_JSON).json()
    assert page["versions"] == ["1.0", "2.0"]
    data = stage.api.http.get(f"/{stage.path}/hello-pkg/2.0").json()["result"]
    assert data["+links"][0]["log"][0]["who"] == ("root" if who == "root" else stage.user)


def test_acl_upload_names_another_user(
    make_stage: Callable[..., Stage], unique: Callable[[str], str]
) -> None:
    allowed, refused = unique("bob"), unique("carol")
    stage = make_stage(acl_upload=[allowed])
    for user in (allowed, refused):
        stage.api.create_user(user)
    built = dists.make_wheel("acl-pkg", "1.0")
    before = snapshot(stage, "acl-pkg")
    owner_reply = post(stage, twine_form("acl-pkg", "1.0", built[1]), built)
    assert_refused(owner_reply, 403, f"no permission to submit to {stage.path}")
    refused_reply = upload_as(stage, basic(refused, "secret"), built, "1.0", name="acl-pkg")
    assert_refused(refused_reply, 403, f"no permission to submit to {stage.path}")
    assert snapshot(stage, "acl-pkg") == before
    reply = upload_as(stage, basic(allowed, "secret"), built, "1.0", name="acl-pkg")
    assert reply.status_code == 200, reply.text
    assert (
        built[0] in stage.api.http.get(f"/{stage.path}/+simple/acl-pkg/", headers=SIMPLE_JSON).text
    )


def test_acl_upload_authenticated_lets_any_user_in(
    make_stage: Callable[..., Stage], unique: Callable[[str], str]
) -> None:
    stage = make_stage(acl_upload=[":AUTHENTICATED:"])
    anyone = unique("anyone")
    stage.api.create_user(anyone)
    built = dists.make_wheel("open-pkg", "1.0")
    before = snapshot(stage, "open-pkg")
    anonymous = upload_as(stage, {}, built, "1.0", name="open-pkg")
    assert_refused(anonymous, 401, "authentication required to upload")
    assert snapshot(stage, "open-pkg") == before
    reply = upload_as(stage, basic(anyone, "secret"), built, "1.0", name="open-pkg")
    assert reply.status_code == 200, reply.text
    assert (
        built[0] in stage.api.http.get(f"/{stage.path}/+simple/open-pkg/", headers=SIMPLE_JSON).text
    )


def upload_as(
    stage: Stage,
    auth: dict[str, str],
    built: tuple[str, bytes],
    version: str,
    *,
    name: str = "hello-pkg",
) -> httpx.Response:
    return post(stage, twine_form(name, version, built[1]), built, headers=auth)


def test_upload_to_a_missing_index_is_404(stage: Stage) -> None:
    before = snapshot(stage, "hello-pkg")
    built = dists.make_wheel("hello-pkg", "2.0")
    reply = post(stage, twine_form("hello-pkg", "2.0", built[1]), built, path=f"{stage.user}/nope")
    assert_refused(reply, 404, f"The stage {stage.user}/nope could not be found.")
    assert snapshot(stage, "hello-pkg") == before


# the form and the file

WHEEL = dists.make_wheel("hello-pkg", "2.0")
SDIST = dists.make_sdist("hello-pkg", "2.0")
FORM = twine_form("hello-pkg", "2.0", WHEEL[1])


def without(form: Form, key: str) -> list[tuple[str, str]]:
    return [(k, v) for k, v in form if k != key]


def replaced(form: Form, key: str, value: str) -> list[tuple[str, str]]:
    return [(k, value if k == key else v) for k, v in form]


def renamed(filename: str, data: bytes = WHEEL[1]) -> tuple[str, bytes]:
    return (filename, data)


BAD_FORMS: list[tuple[str, Form, tuple[str, bytes] | None, str]] = [
    ("no-action", without(FORM, ":action"), WHEEL, ":action field not found"),
    ("unknown-action", replaced(FORM, ":action", "frob"), WHEEL, "action 'frob' not supported"),
    ("no-content", FORM, None, "content file field not found"),
    ("no-name", without(FORM, "name"), WHEEL, "missing 'name' field"),
    ("empty-name", replaced(FORM, "name", ""), WHEEL, "missing 'name' field"),
    ("no-version", without(FORM, "version"), WHEEL, "missing 'version' field"),
    ("bad-name", replaced(FORM, "name", "hello pkg!"), WHEEL, "invalid project name 'hello pkg!'"),
    ("name-dash-end", replaced(FORM, "name", "hello-"), WHEEL, "invalid project name 'hello-'"),
    (
        "bad-version",
        replaced(FORM, "version", "2.0-not.pep440!"),
        WHEEL,
        "invalid version '2.0-not.pep440!' (not PEP 440)",
    ),
    (
        "other-name",
        replaced(FORM, "name", "other-pkg"),
        WHEEL,
        f"filename {WHEEL[0]!r} does not match project name 'other-pkg'",
    ),
    (
        "other-version",
        replaced(FORM, "version", "2.1"),
        WHEEL,
        f"filename {WHEEL[0]!r} does not contain version '2.1'",
    ),
    (
        "sdist-other-version",
        twine_form("hello-pkg", "3.0", SDIST[1]),
        SDIST,
        f"filename {SDIST[0]!r} does not contain version '3.0'",
    ),
    (
        "exe",
        FORM,
        renamed("hello_pkg-2.0.exe"),
        "'hello_pkg-2.0.exe' is not a valid archive name: "
        "only wheels (.whl) and sdists (.tar.gz, .zip) are accepted",
    ),
    (
        "egg",
        FORM,
        renamed("hello_pkg-2.0-py3.11.egg"),
        "'hello_pkg-2.0-py3.11.egg' is not a valid archive name: "
        "only wheels (.whl) and sdists (.tar.gz, .zip) are accepted",
    ),
    (
        "bad-wheel-name",
        FORM,
        renamed("hello_pkg-2.0.whl"),
        "'hello_pkg-2.0.whl' is not a valid archive name: a wheel is named "
        "NAME-VERSION[-BUILD]-PYTHON-ABI-PLATFORM.whl",
    ),
    (
        "bad-sdist-name",
        FORM,
        renamed("hello_pkg.tar.gz"),
        "'hello_pkg.tar.gz' is not a valid archive name: an sdist is named "
        "NAME-VERSION.tar.gz (or .zip)",
    ),
    (
        "parent-path",
        FORM,
        renamed("../hello_pkg-2.0-py3-none-any.whl"),
        "'../hello_pkg-2.0-py3-none-any.whl' is not a valid archive name",
    ),
    (
        "sub-path",
        FORM,
        renamed("sub/hello_pkg-2.0-py3-none-any.whl"),
        "'sub/hello_pkg-2.0-py3-none-any.whl' is not a valid archive name",
    ),
    (
        "empty-file",
        twine_form("hello-pkg", "2.0"),
        renamed(WHEEL[0], b""),
        f"{WHEEL[0]} is empty",
    ),
    (
        "wheel-not-zip",
        twine_form("hello-pkg", "2.0"),
        renamed(WHEEL[0], b"not a zip file at all"),
        f"{WHEEL[0]} is not a valid archive: File is not a zip file",
    ),
    (
        "wheel-without-metadata",
        twine_form("hello-pkg", "2.0"),
        renamed(WHEEL[0], zip_of({"hello_pkg_mod/__init__.py": b""})),
        f"{WHEEL[0]} has no single .dist-info/METADATA",
    ),
    (
        "sdist-not-gzip",
        twine_form("hello-pkg", "2.0"),
        renamed(SDIST[0], b"plain text, not gzip"),
        f"{SDIST[0]} is not a valid archive: not a gzip file",
    ),
    (
        "wrong-sha256",
        replaced(FORM, "sha256_digest", "0" * 64),
        WHEEL,
        f"sha256_digest {'0' * 64!r} does not match the uploaded content "
        f"({hashlib.sha256(WHEEL[1]).hexdigest()})",
    ),
    (
        "wrong-md5",
        replaced(FORM, "md5_digest", "f" * 32),
        WHEEL,
        f"md5_digest {'f' * 32!r} does not match the uploaded content "
        f"({hashlib.md5(WHEEL[1], usedforsecurity=False).hexdigest()})",
    ),
    (
        "wrong-blake2",
        replaced(FORM, "blake2_256_digest", "not-hex"),
        WHEEL,
        "blake2_256_digest 'not-hex' does not match the uploaded content "
        f"({hashlib.blake2b(WHEEL[1], digest_size=32).hexdigest()})",
    ),
    (
        "submit-no-name",
        replaced(without(FORM, "name"), ":action", "submit"),
        None,
        "missing 'name' field",
    ),
    (
        "submit-bad-version",
        replaced(replaced(FORM, ":action", "submit"), "version", "one"),
        None,
        "invalid version 'one' (not PEP 440)",
    ),
]


@pytest.mark.parametrize(
    ("form", "file", "message"), [case[1:] for case in BAD_FORMS], ids=[c[0] for c in BAD_FORMS]
)
def test_bad_upload_is_400_and_changes_nothing(
    stage: Stage, form: Form, file: tuple[str, bytes] | None, message: str
) -> None:
    before = snapshot(stage, "hello-pkg", "other-pkg")
    reply = post(stage, form, file)
    assert_refused(reply, 400, message)
    assert snapshot(stage, "hello-pkg", "other-pkg") == before


def raw_post(stage: Stage, body: bytes, content_type: str) -> httpx.Response:
    headers = {**stage.auth, "Content-Type": content_type}
    return stage.api.http.post(f"/{stage.path}/", content=body, headers=headers)


MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"
BAD_BODIES = [
    (
        "json",
        b'{"name": "hello-pkg"}',
        "application/json",
        "expected a multipart/form-data upload with an ':action' field",
    ),
    (
        "urlencoded",
        b":action=file_upload&name=hello-pkg&version=2.0",
        "application/x-www-form-urlencoded",
        "expected a multipart/form-data upload with an ':action' field",
    ),
    (
        "no-boundary",
        encode_multipart(FORM, WHEEL),
        "multipart/form-data",
        "upload must be multipart/form-data with a boundary",
    ),
    (
        "truncated-in-file",
        encode_multipart(FORM, WHEEL)[: -len(WHEEL[1]) // 2],
        MULTIPART,
        "the multipart body ended inside the uploaded file",
    ),
    (
        "garbage",
        b"this is not what a multipart body looks like\r\n",
        MULTIPART,
        "invalid multipart body: Expected boundary character 45, got 116 at index 2",
    ),
    (
        "truncated-in-fields",
        encode_multipart(FORM, WHEEL).partition(b'name="version"')[0],
        MULTIPART,
        "content file field not found",
    ),
]


@pytest.mark.parametrize(
    ("body", "content_type", "message"), [c[1:] for c in BAD_BODIES], ids=[c[0] for c in BAD_BODIES]
)
def test_bad_body_is_400_and_changes_nothing(
    stage: Stage, body: bytes, content_type: str, message: str
) -> None:
    before = snapshot(stage, "hello-pkg")
    reply = raw_post(stage, body, content_type)
    assert_refused(reply, 400, message)
    assert snapshot(stage, "hello-pkg") == before


def test_client_disconnect_mid_upload_leaves_nothing(stage: Stage, server: ServerProcess) -> None:
    before = snapshot(stage, "hello-pkg")
    built = dists.make_wheel("hello-pkg", "3.0", payload=b"#" * 4_000_000)
    body = encode_multipart(twine_form("hello-pkg", "3.0", built[1]), built)
    staging = server.serverdir / "+blobs" / "tmp"
    host, port = httpx.URL(server.url).host, httpx.URL(server.url).port
    assert port is not None
    head = (
        f"POST /{stage.path}/ HTTP/1.1\r\nHost: {host}\r\n"
        f"Authorization: {stage.auth['Authorization']}\r\n"
        f"Content-Type: {MULTIPART}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    with socket.create_connection((host, port)) as connection:
        connection.sendall(head.encode() + body[: len(body) // 2])
        wait_until(lambda: any(staging.iterdir()))  # the server is writing the file
    wait_until(lambda: not any(staging.iterdir()))  # and has thrown it away
    assert snapshot(stage, "hello-pkg") == before


def wait_until(condition: Callable[[], bool]) -> None:
    """Wait for the server to reach a state (not a timing assertion: the limit is generous)."""
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, "the server never got there"
        time.sleep(0.02)


# what successful uploads store


def test_right_digests_are_accepted(stage: Stage) -> None:
    built = dists.make_sdist("hello-pkg", "2.0")
    reply = post(stage, twine_form("hello-pkg", "2.0", built[1]), built)
    assert reply.status_code == 200, reply.text
    assert reply.reason_phrase == "OK"
    files = stage.api.http.get(f"/{stage.path}/+simple/hello-pkg/", headers=SIMPLE_JSON).json()
    by_name = {f["filename"]: f for f in files["files"]}
    assert by_name[built[0]]["hashes"] == {"sha256": hashlib.sha256(built[1]).hexdigest()}
    assert by_name[built[0]]["size"] == len(built[1])


def test_upload_without_digests_is_accepted(stage: Stage) -> None:
    built = dists.make_wheel("hello-pkg", "2.0")
    reply = post(stage, twine_form("hello-pkg", "2.0"), built)
    assert reply.status_code == 200, reply.text
    link = file_link(stage, "hello-pkg", built[0])
    assert download(stage, link).content == built[1]


ANY = {"Accept": "*/*"}


def download(stage: Stage, url: str) -> httpx.Response:
    return stage.api.http.get(url, headers=ANY)


def file_link(stage: Stage, project: str, filename: str) -> str:
    page = stage.api.http.get(f"/{stage.path}/+simple/{project}/", headers=SIMPLE_JSON).json()
    [url] = [f["url"] for f in page["files"] if f["filename"] == filename]
    return str(httpx.URL(f"{stage.api.url}/{stage.path}/+simple/{project}/").join(url))


def test_volatile_overwrite_serves_the_new_content(stage: Stage) -> None:
    old = dists.make_wheel("hello-pkg", "2.0", payload=b"# old\n")
    new = dists.make_wheel("hello-pkg", "2.0", payload=b"# new\n")
    assert old[0] == new[0]
    assert upload(stage, old, "hello-pkg", "2.0").status_code == 200
    old_link = file_link(stage, "hello-pkg", old[0])
    reply = upload(stage, new, "hello-pkg", "2.0")
    assert reply.status_code == 200, reply.text
    new_link = file_link(stage, "hello-pkg", new[0])
    assert new_link != old_link
    assert download(stage, new_link).content == new[1]
    gone = download(stage, old_link)
    assert gone.status_code == 410
    page = stage.api.http.get(f"/{stage.path}/+simple/hello-pkg/", headers=SIMPLE_JSON).json()
    hashes = [f["hashes"]["sha256"] for f in page["files"] if f["filename"] == new[0]]
    assert hashes == [hashlib.sha256(new[1]).hexdigest()]
    [link] = stage.api.http.get(f"/{stage.path}/hello-pkg/2.0").json()["result"]["+links"]
    assert [entry["what"] for entry in link["log"]] == ["upload", "overwrite"]
    assert link["log"][1]["count"] == 1


def test_non_volatile_identical_upload_is_200_and_changes_nothing(
    make_stage: Callable[..., Stage],
) -> None:
    stage = make_stage(volatile=False)
    built = dists.make_wheel("stable-pkg", "1.0")
    assert upload(stage, built, "stable-pkg", "1.0").status_code == 200
    before = snapshot(stage, "stable-pkg")
    reply = upload(stage, built, "stable-pkg", "1.0")
    assert reply.status_code == 200, reply.text
    message = "Upload of identical file to non volatile index."
    assert reply.json() == {"message": message}
    assert reply.reason_phrase == message
    assert snapshot(stage, "stable-pkg") == before


def test_non_volatile_different_content_is_409(make_stage: Callable[..., Stage]) -> None:
    stage = make_stage(volatile=False)
    first = dists.make_wheel("stable-pkg", "1.0", payload=b"# first\n")
    assert upload(stage, first, "stable-pkg", "1.0").status_code == 200
    before = snapshot(stage, "stable-pkg")
    second = dists.make_wheel("stable-pkg", "1.0", payload=b"# second\n")
    reply = upload(stage, second, "stable-pkg", "1.0")
    assert_refused(reply, 409, f"{first[0]} already exists in non-volatile index")
    assert snapshot(stage, "stable-pkg") == before
    assert download(stage, file_link(stage, "stable-pkg", first[0])).content == first[1]


def test_submit_registers_metadata(stage: Stage) -> None:
    form = [
        (":action", "submit"),
        ("name", "Registered.Pkg"),
        ("version", "0.5"),
        ("summary", "registered, not uploaded"),
        ("classifiers", "Programming Language :: Python :: 3"),
        ("classifiers", "License :: OSI Approved :: MIT License"),
        ("author", "UNKNOWN"),
    ]
    reply = post(stage, form, None)
    assert reply.status_code == 200, reply.text
    data = stage.api.http.get(f"/{stage.path}/registered-pkg/0.5").json()["result"]
    assert data["name"] == "Registered.Pkg"
    assert data["summary"] == "registered, not uploaded"
    assert data["classifiers"] == [
        "Programming Language :: Python :: 3",
        "License :: OSI Approved :: MIT License",
    ]
    assert data["author"] == ""
    assert data["requires_dist"] == []
    assert data["+links"] == []


def test_submit_on_non_volatile_index_may_not_change_metadata(
    make_stage: Callable[..., Stage],
) -> None:
    stage = make_stage(volatile=False)
    form = [(":action", "submit"), ("name", "frozen"), ("version", "1.0"), ("summary", "one")]
    assert post(stage, form, None).status_code == 200
    again = post(stage, form, None)
    assert again.status_code == 200, again.text
    before = snapshot(stage, "frozen")
    reply = post(stage, replaced(form, "summary", "two"), None)
    assert_refused(reply, 409, "frozen 1.0 already registered in non-volatile index")
    assert snapshot(stage, "frozen") == before


def test_wheel_metadata_is_served_byte_for_byte(stage: Stage) -> None:
    built = dists.make_wheel("hello-pkg", "2.0", requires=["six>=1.0"], requires_python=">=3.9")
    assert upload(stage, built, "hello-pkg", "2.0").status_code == 200
    with zipfile.ZipFile(io.BytesIO(built[1])) as archive:
        metadata = archive.read("hello_pkg-2.0.dist-info/METADATA")
    page = stage.api.http.get(f"/{stage.path}/+simple/hello-pkg/", headers=SIMPLE_JSON).json()
    [entry] = [f for f in page["files"] if f["filename"] == built[0]]
    assert entry["core-metadata"] == {"sha256": hashlib.sha256(metadata).hexdigest()}
    reply = download(stage, file_link(stage, "hello-pkg", built[0]) + ".metadata")
    assert reply.status_code == 200
    assert reply.content == metadata


def test_sdist_pkg_info_fills_what_the_form_leaves_out(stage: Stage) -> None:
    pkg_info = (
        "Metadata-Version: 2.2\n"
        "Name: hello-pkg\n"
        "Version: 2.0\n"
        "Summary: from PKG-INFO\n"
        "Author: Jürgen Müller\n"
        "Requires-Python: >=3.10\n"
        "Classifier: Programming Language :: Python :: 3\n"
        "Classifier: Typing :: Typed\n"
        "Project-URL: Source, https://example.org/src\n"
        "Requires-Dist: attrs>=23\n"
        "License: UNKNOWN\n"
        "Description-Content-Type: text/markdown\n"
        "\n"
        "# Hello\n\nThe long description.\n"
    )
    built = sdist_with_pkg_info("hello_pkg-2.0", pkg_info)
    form = twine_form("hello-pkg", "2.0", built[1], summary="from the form")
    reply = post(stage, form, built)
    assert reply.status_code == 200, reply.text
    data = stage.api.http.get(f"/{stage.path}/hello-pkg/2.0").json()["result"]
    assert data["summary"] == "from the form"  # the form wins
    assert data["metadata_version"] == "2.1"
    assert data["author"] == "Jürgen Müller"
    assert data["requires_python"] == ">=3.10"
    assert data["classifiers"] == ["Programming Language :: Python :: 3", "Typing :: Typed"]
    assert data["project_urls"] == ["Source, https://example.org/src"]
    assert data["requires_dist"] == ["attrs>=23"]
    assert data["license"] == ""
    assert data["description_content_type"] == "text/markdown"
    assert data["description"] == "# Hello\n\nThe long description.\n"
    page = stage.api.http.get(f"/{stage.path}/+simple/hello-pkg/", headers=SIMPLE_JSON).json()
    [entry] = [f for f in page["files"] if f["filename"] == built[0]]
    assert entry["requires-python"] == ">=3.10"
    assert "core-metadata" not in entry


# documentation

DOCS = zip_of({"index.html": b"<h1>docs</h1>"})


def test_doc_upload_stores_a_zip(stage: Stage) -> None:
    form = [(":action", "doc_upload"), ("name", "hello-pkg"), ("version", "1.0")]
    reply = post(stage, form, ("hello-pkg-1.0.doc.zip", DOCS))
    assert reply.status_code == 200, reply.text
    links = stage.api.http.get(f"/{stage.path}/hello-pkg/1.0").json()["result"]["+links"]
    [doczip] = [link for link in links if link["rel"] == "doczip"]
    assert doczip["href"].endswith("/hello-pkg-1.0.doc.zip")
    assert download(stage, doczip["href"]).content == DOCS
    page = stage.api.http.get(f"/{stage.path}/+simple/hello-pkg/", headers=SIMPLE_JSON).json()
    assert [f["filename"] for f in page["files"]] == [dists.wheel_name("hello-pkg", "1.0")]


def test_doc_upload_without_version_uses_the_latest(stage: Stage) -> None:
    assert (
        upload(stage, dists.make_wheel("hello-pkg", "1.10"), "hello-pkg", "1.10").status_code == 200
    )
    form = [(":action", "doc_upload"), ("name", "hello-pkg")]
    reply = post(stage, form, ("docs.zip", zip_of({"index.html": b"latest"})))
    assert reply.status_code == 200, reply.text
    links = stage.api.http.get(f"/{stage.path}/hello-pkg/1.10").json()["result"]["+links"]
    assert [link["rel"] for link in links].count("doczip") == 1


BAD_DOCS: list[tuple[str, Form, bytes, str]] = [
    (
        "not-zip",
        [("name", "hello-pkg"), ("version", "1.0")],
        b"not a zip",
        "documentation must be uploaded as a zip file",
    ),
    (
        "empty",
        [("name", "hello-pkg"), ("version", "1.0")],
        b"",
        "documentation must be uploaded as a zip file",
    ),
    ("no-name", [("version", "1.0")], DOCS, "missing 'name' field"),
    ("bad-name", [("name", "-x-"), ("version", "1.0")], DOCS, "invalid project name '-x-'"),
    (
        "bad-version",
        [("name", "hello-pkg"), ("version", "x.y")],
        DOCS,
        "invalid version 'x.y' (not PEP 440)",
    ),
    (
        "nothing-registered",
        [("name", "unknown-pkg")],
        DOCS,
        "doc_upload for unknown-pkg needs a 'version' field: none registered",
    ),
]


@pytest.mark.parametrize(
    ("form", "data", "message"), [c[1:] for c in BAD_DOCS], ids=[c[0] for c in BAD_DOCS]
)
def test_bad_doc_upload_is_400_and_changes_nothing(
    stage: Stage, form: Form, data: bytes, message: str
) -> None:
    before = snapshot(stage, "hello-pkg", "unknown-pkg")
    reply = post(stage, [(":action", "doc_upload"), *form], ("docs.zip", data))
    assert_refused(reply, 400, message)
    assert snapshot(stage, "hello-pkg", "unknown-pkg") == before


def test_doc_upload_needs_permission(stage: Stage) -> None:
    before = snapshot(stage, "hello-pkg")
    form = [(":action", "doc_upload"), ("name", "hello-pkg"), ("version", "1.0")]
    reply = post(stage, form, ("docs.zip", DOCS), headers={})
    assert_refused(reply, 401, "authentication required to upload")
    assert snapshot(stage, "hello-pkg") == before

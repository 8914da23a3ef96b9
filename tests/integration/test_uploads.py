"""The upload endpoint (``POST /USER/INDEX/``) refuses: every permission and validation failure
is a precise 4xx whose message is in the JSON body and the HTTP reason phrase, and the index is
exactly as it was afterwards."""

from __future__ import annotations

import hashlib
import socket
from collections.abc import Callable

import httpx
import pytest

from tests.support import dists
from tests.support.client import basic
from tests.support.server import ROOT_PASSWORD, ServerProcess
from tests.support.uploading import (  # noqa: F401 - fixtures too
    DOCS,
    MULTIPART,
    Built,
    Form,
    Stage,
    assert_refused,
    encode_multipart,
    fixture_make_stage,
    fixture_no_server_errors,
    fixture_stage,
    post,
    raw_post,
    replaced,
    simple_page,
    snapshot,
    twine_form,
    upload_as,
    wait_until,
    without,
    zip_of,
)

pytestmark = pytest.mark.usefixtures("no_server_errors")


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
    assert simple_page(stage, "hello-pkg")["versions"] == ["1.0", "2.0"]
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
    assert [f["filename"] for f in simple_page(stage, "acl-pkg")["files"]] == [built[0]]


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
    assert [f["filename"] for f in simple_page(stage, "open-pkg")["files"]] == [built[0]]


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


def renamed(filename: str, data: bytes = WHEEL[1]) -> Built:
    return (filename, data)


BAD_FORMS: list[tuple[str, Form, Built | None, str]] = [
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
        "deb",
        FORM,
        renamed("hello_pkg-2.0.deb"),
        "'hello_pkg-2.0.deb' is not a valid archive name: only wheels (.whl), sdists "
        "(.tar.gz, .zip) and setuptools' legacy formats (.egg, .exe, .msi, .rpm, "
        "bdist_dumb .tar.gz and .zip) are accepted",
    ),
    (
        "egg-other-version",
        FORM,
        renamed("hello_pkg-2.0.1-py3.11.egg"),
        "filename 'hello_pkg-2.0.1-py3.11.egg' does not contain version '2.0': "
        "a bdist_egg is named NAME-VERSION-pyX.Y[-PLATFORM].egg",
    ),
    (
        "egg-other-name",
        FORM,
        renamed("hello_pkgs-2.0-py3.11.egg"),
        "filename 'hello_pkgs-2.0-py3.11.egg' does not match project name 'hello-pkg'",
    ),
    (
        "dumb-longer-version",
        FORM,
        renamed("hello_pkg-2.0.post1.linux-x86_64.tar.gz"),
        "filename 'hello_pkg-2.0.post1.linux-x86_64.tar.gz' does not contain version '2.0': "
        "a bdist_dumb is named NAME-VERSION.PLATFORM.tar.gz (or .zip)",
    ),
    (
        "exe-other-version",
        FORM,
        renamed("hello_pkg-2.01.win32.exe"),
        "filename 'hello_pkg-2.01.win32.exe' does not contain version '2.0': "
        "a bdist_wininst is named NAME-VERSION[.PLATFORM][-pyX.Y].exe",
    ),
    (
        "msi-other-name",
        FORM,
        renamed("hello-2.0.win32.msi"),
        "filename 'hello-2.0.win32.msi' does not match project name 'hello-pkg'",
    ),
    (
        "rpm-without-release",
        FORM,
        renamed("hello-pkg-2.0.noarch.rpm"),
        "filename 'hello-pkg-2.0.noarch.rpm' does not contain version '2.0': "
        "a bdist_rpm is named NAME-VERSION-RELEASE.ARCH.rpm",
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
        "NAME-VERSION.tar.gz (or .zip), a bdist_dumb NAME-VERSION.PLATFORM.tar.gz (or .zip)",
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
    stage: Stage, form: Form, file: Built | None, message: str
) -> None:
    before = snapshot(stage, "hello-pkg", "other-pkg")
    reply = post(stage, form, file)
    assert_refused(reply, 400, message)
    assert snapshot(stage, "hello-pkg", "other-pkg") == before


BAD_BODIES = [
    (
        "json",
        b'{"name": "hello-pkg"}',
        "application/json",
        "no name/version specified in json",  # a JSON body is a push (web/push.py)
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


# documentation

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
        "doczip has no version and 'unknown-pkg' has no releases to derive one from",
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

"""The upload parser's limits (``web/multipart.py``) and the archive's METADATA size limit
(``archives.py``), each exactly at and just beyond the limit: beyond it, a precise 400 in the
body and the reason phrase, nothing stored and nothing left in the blob store's staging area."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import pytest
from python_multipart.multipart import DEFAULT_MAX_HEADER_COUNT, DEFAULT_MAX_HEADER_SIZE

from pkgdepot.archives import MAX_METADATA_SIZE
from pkgdepot.web.multipart import MAX_FIELD_SIZE, MAX_FIELDS, MAX_FORM_TEXT
from tests.support import dists
from tests.support.server import ServerProcess
from tests.support.uploading import (  # noqa: F401 - fixtures too
    BOUNDARY,
    MULTIPART,
    Built,
    Form,
    Stage,
    assert_refused,
    encode_multipart,
    fixture_make_stage,
    fixture_no_server_errors,
    fixture_stage,
    raw_post,
    simple_page,
    snapshot,
    twine_form,
)

pytestmark = pytest.mark.usefixtures("no_server_errors")

MIB = 1024 * 1024
WHEEL = dists.make_wheel("hello-pkg", "2.0")
FORM = twine_form("hello-pkg", "2.0", WHEEL[1])


def test_the_limits_these_tests_are_written_for() -> None:
    """If one changes, the tests below still test at and beyond it: this says it changed."""
    assert (MAX_FIELDS, MAX_FIELD_SIZE, MAX_METADATA_SIZE) == (1000, 4 * MIB, 10 * MIB)
    assert MAX_FORM_TEXT == 16 * MIB
    assert (DEFAULT_MAX_HEADER_COUNT, DEFAULT_MAX_HEADER_SIZE) == (8, 4224)


def part(headers: Sequence[str], value: bytes) -> bytes:
    """One multipart part with exactly these header lines."""
    head = "".join(f"{line}\r\n" for line in headers)
    return f"--{BOUNDARY}\r\n{head}\r\n".encode() + value + b"\r\n"


def body_of(*parts: bytes) -> bytes:
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


def fields(form: Form) -> list[bytes]:
    return [part([f'Content-Disposition: form-data; name="{k}"'], v.encode()) for k, v in form]


def content(built: Built = WHEEL, name: str = "content") -> bytes:
    filename, data = built
    disposition = f'Content-Disposition: form-data; name="{name}"; filename="{filename}"'
    return part([disposition, "Content-Type: application/octet-stream"], data)


def staging_is_empty(server: ServerProcess) -> bool:
    return not any((server.serverdir / "+blobs" / "tmp").iterdir())


def assert_refused_and_unchanged(
    stage: Stage, server: ServerProcess, body: bytes, message: str
) -> None:
    before = snapshot(stage, "hello-pkg")
    assert_refused(raw_post(stage, body, MULTIPART), 400, message)
    assert snapshot(stage, "hello-pkg") == before
    assert staging_is_empty(server)


def assert_stored(stage: Stage, built: Built) -> None:
    filename, data = built
    [file] = [f for f in simple_page(stage, "hello-pkg")["files"] if f["filename"] == filename]
    assert file["hashes"]["sha256"] == hashlib.sha256(data).hexdigest()


# a part without a name


@pytest.mark.parametrize(
    "headers",
    [
        ["Content-Disposition: form-data"],
        ['Content-Disposition: form-data; filename="hello_pkg-2.0-py3-none-any.whl"'],
        ['Content-Disposition: form-data; names="version"'],
        ["Content-Type: text/plain"],  # no Content-Disposition at all
    ],
    ids=["bare", "filename-only", "misspelt", "no-disposition"],
)
def test_a_part_without_a_name_is_refused(
    stage: Stage, server: ServerProcess, headers: list[str]
) -> None:
    body = body_of(*fields(FORM), part(headers, b"2.0"), content())
    assert_refused_and_unchanged(stage, server, body, "multipart part without a name")


def test_a_part_without_a_name_after_the_file_is_refused(
    stage: Stage, server: ServerProcess
) -> None:
    """The file is being written already: it is thrown away."""
    body = body_of(content(), *fields(FORM), part(["Content-Disposition: form-data"], b"x"))
    assert_refused_and_unchanged(stage, server, body, "multipart part without a name")


# the headers of a part: python-multipart's own limits, which the parser keeps


def disposition_of_length(length: int) -> str:
    """A Content-Disposition line of ``length`` bytes, for a field no one reads."""
    head = 'Content-Disposition: form-data; name="x-'
    return head + "n" * (length - len(head) - 1) + '"'


def test_a_part_header_of_exactly_the_maximum_length_is_accepted(stage: Stage) -> None:
    line = disposition_of_length(DEFAULT_MAX_HEADER_SIZE)
    assert len(line) == DEFAULT_MAX_HEADER_SIZE
    body = body_of(*fields(FORM), part([line], b"x"), content())
    reply = raw_post(stage, body, MULTIPART)
    assert reply.status_code == 200, reply.text
    assert_stored(stage, WHEEL)


def test_a_part_header_one_byte_longer_is_refused(stage: Stage, server: ServerProcess) -> None:
    line = disposition_of_length(DEFAULT_MAX_HEADER_SIZE + 1)
    body = body_of(content(), *fields(FORM), part([line], b"x"))
    message = "invalid multipart body: Maximum header size exceeded"
    assert_refused_and_unchanged(stage, server, body, message)


def extra_headers(count: int) -> list[str]:
    return [f"X-Extra-{number}: {number}" for number in range(count)]


def test_exactly_the_maximum_number_of_part_headers_is_accepted(stage: Stage) -> None:
    headers = [
        'Content-Disposition: form-data; name="x-many"',
        *extra_headers(DEFAULT_MAX_HEADER_COUNT - 1),
    ]
    assert len(headers) == DEFAULT_MAX_HEADER_COUNT
    body = body_of(*fields(FORM), part(headers, b"x"), content())
    reply = raw_post(stage, body, MULTIPART)
    assert reply.status_code == 200, reply.text
    assert_stored(stage, WHEEL)


def test_one_part_header_more_is_refused(stage: Stage, server: ServerProcess) -> None:
    headers = [
        'Content-Disposition: form-data; name="x-many"',
        *extra_headers(DEFAULT_MAX_HEADER_COUNT),
    ]
    body = body_of(content(), *fields(FORM), part(headers, b"x"))
    message = "invalid multipart body: Maximum header count exceeded"
    assert_refused_and_unchanged(stage, server, body, message)


# the number of parts


def padded_form(parts: int) -> list[tuple[str, str]]:
    """FORM and fields no one reads, ``parts`` parts in all with the file."""
    return [*FORM, *(("x-padding", str(n)) for n in range(parts - len(FORM) - 1))]


def test_exactly_the_maximum_number_of_parts_is_accepted(stage: Stage) -> None:
    body = body_of(*fields(padded_form(MAX_FIELDS)), content())
    assert body.count(f"--{BOUNDARY}\r\n".encode()) == MAX_FIELDS
    reply = raw_post(stage, body, MULTIPART)
    assert reply.status_code == 200, reply.text
    assert_stored(stage, WHEEL)


@pytest.mark.parametrize("file_at", ["end", "start"])
def test_one_part_more_is_refused(stage: Stage, server: ServerProcess, file_at: str) -> None:
    """Also when the file came first and is being written already: it is thrown away."""
    others = fields(padded_form(MAX_FIELDS + 1))
    parts = [*others, content()] if file_at == "end" else [content(), *others]
    assert len(parts) == MAX_FIELDS + 1
    message = f"more than {MAX_FIELDS} form fields"
    assert_refused_and_unchanged(stage, server, body_of(*parts), message)


# a second file


@pytest.mark.parametrize(
    "second",
    [WHEEL, dists.make_sdist("hello-pkg", "2.0"), ("docs.zip", b"PK")],
    ids=["same", "sdist", "other"],
)
def test_a_second_content_file_is_refused(
    stage: Stage, server: ServerProcess, second: Built
) -> None:
    body = body_of(*fields(FORM), content(), content(second))
    message = "more than one 'content' file in the upload"
    assert_refused_and_unchanged(stage, server, body, message)


def test_another_file_part_is_a_field(stage: Stage) -> None:
    """twine sends a signature as a file part too: only ``content`` is the upload."""
    body = body_of(*fields(FORM), content(), content(("sig.asc", b"signature"), "gpg_signature"))
    reply = raw_post(stage, body, MULTIPART)
    assert reply.status_code == 200, reply.text
    assert_stored(stage, WHEEL)


# the size of a field


def test_a_field_of_exactly_the_maximum_size_is_accepted(stage: Stage) -> None:
    description = "d" * MAX_FIELD_SIZE
    body = body_of(*fields([*FORM, ("description", description)]), content())
    reply = raw_post(stage, body, MULTIPART)
    assert reply.status_code == 200, reply.text
    assert_stored(stage, WHEEL)
    stored = stage.api.http.get(f"/{stage.path}/hello-pkg/2.0").json()["result"]
    assert stored["description"] == description


@pytest.mark.parametrize(
    ("name", "as_file"),
    [("description", False), ("x-padding", False), ("gpg_signature", True)],
)
def test_a_field_one_byte_larger_is_refused(
    stage: Stage, server: ServerProcess, name: str, as_file: bool
) -> None:
    value = b"d" * (MAX_FIELD_SIZE + 1)
    if as_file:
        large = content(("sig.asc", value), name)
    else:
        large = part([f'Content-Disposition: form-data; name="{name}"'], value)
    body = body_of(*fields(FORM), content(), large)
    message = f"form field {name!r} is larger than {MAX_FIELD_SIZE} bytes"
    assert_refused_and_unchanged(stage, server, body, message)


def test_form_fields_larger_than_the_total_limit_are_refused(
    stage: Stage, server: ServerProcess
) -> None:
    """Every text field is kept in memory: each may be up to the field limit, but not all of
    them together beyond the form's."""
    count = MAX_FORM_TEXT // MAX_FIELD_SIZE
    padding = [("x-padding", "p" * MAX_FIELD_SIZE)] * count
    body = body_of(*fields([*FORM, *padding]), content())
    message = f"the form fields besides the file are larger than {MAX_FORM_TEXT} bytes in all"
    assert_refused_and_unchanged(stage, server, body, message)


# the wheel's METADATA


def test_metadata_of_exactly_the_maximum_size_is_accepted(stage: Stage) -> None:
    built = dists.make_wheel("hello-pkg", "2.0", metadata_size=MAX_METADATA_SIZE)
    body = encode_multipart(twine_form("hello-pkg", "2.0", built[1]), built)
    reply = raw_post(stage, body, MULTIPART)
    assert reply.status_code == 200, reply.text
    assert_stored(stage, built)
    sha256 = hashlib.sha256(built[1]).hexdigest()
    metadata = stage.api.http.get(
        f"/{stage.path}/+f/{sha256[:3]}/{sha256[3:16]}/{built[0]}.metadata"
    )
    assert metadata.status_code == 200
    assert len(metadata.content) == MAX_METADATA_SIZE


def test_metadata_one_byte_larger_is_refused(stage: Stage, server: ServerProcess) -> None:
    built = dists.make_wheel("hello-pkg", "2.0", metadata_size=MAX_METADATA_SIZE + 1)
    assert len(built[1]) < MIB  # it is the unpacked METADATA that is too large
    body = encode_multipart(twine_form("hello-pkg", "2.0", built[1]), built)
    message = f"METADATA is larger than {MAX_METADATA_SIZE} bytes"
    assert_refused_and_unchanged(stage, server, body, message)
    sha256 = hashlib.sha256(built[1]).hexdigest()
    assert not (server.serverdir / "+blobs" / sha256[:2] / sha256[2:4] / sha256).exists()

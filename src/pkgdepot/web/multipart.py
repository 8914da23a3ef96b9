"""Streaming multipart parsing for uploads: the file part goes straight into a blob writer.

Memory stays flat however large the file: chunks are hashed and written in a worker thread
as they arrive, and nothing but the small text fields is kept in memory.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from python_multipart.exceptions import ParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from pkgdepot.errors import InvalidInput, TooLarge
from pkgdepot.storage.blobs import BlobWriter

MAX_FIELD_SIZE = 4 * 1024 * 1024  # a long description is the largest text field
MAX_FORM_TEXT = 16 * 1024 * 1024  # every part but the file, together: all kept in memory
MAX_FIELDS = 1000
FILE_FIELD = "content"
WRITE_BATCH = 1024 * 1024


@dataclasses.dataclass
class UploadForm:
    fields: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    filename: str | None = None
    writer: BlobWriter | None = None

    def abort(self) -> None:
        if self.writer is not None:
            self.writer.abort()


class _Collector:
    def __init__(self, form: UploadForm, open_writer: Callable[[], BlobWriter]) -> None:
        self.form = form
        self._open_writer = open_writer
        self._header_name = b""
        self._header_value = b""
        self._disposition = b""
        self._name = ""
        self._is_file = False
        self._text = bytearray()
        self.pending = bytearray()  # file bytes not yet handed to the writer
        self._field_count = 0
        self._text_total = 0
        self.file_complete = False

    def on_part_begin(self) -> None:
        self._disposition = b""
        self._text = bytearray()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        if self._header_name.lower() == b"content-disposition":
            self._disposition = self._header_value
        self._header_name = b""
        self._header_value = b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition)
        if b"name" not in options:
            raise InvalidInput("multipart part without a name")
        self._name = options[b"name"].decode("utf-8", "replace")
        self._field_count += 1
        if self._field_count > MAX_FIELDS:
            raise InvalidInput(f"more than {MAX_FIELDS} form fields")
        self._is_file = b"filename" in options and self._name == FILE_FIELD
        if self._is_file:
            if self.form.writer is not None:
                raise InvalidInput("more than one 'content' file in the upload")
            self.form.filename = options[b"filename"].decode("utf-8", "replace")
            self.form.writer = self._open_writer()

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._is_file:
            self.pending += data[start:end]
        else:
            self._text += data[start:end]
            self._text_total += end - start
            if len(self._text) > MAX_FIELD_SIZE:
                raise InvalidInput(
                    f"form field {self._name!r} is larger than {MAX_FIELD_SIZE} bytes"
                )
            if self._text_total > MAX_FORM_TEXT:
                raise InvalidInput(
                    f"the form fields besides the file are larger than {MAX_FORM_TEXT} bytes in all"
                )

    def on_part_end(self) -> None:
        if self._is_file:
            self.file_complete = True
        else:
            value = self._text.decode("utf-8", "replace")
            self.form.fields.setdefault(self._name, []).append(value)


async def read_upload_form(
    request: Request, open_writer: Callable[[], BlobWriter], max_size: int
) -> UploadForm:
    content_type = request.headers.get("content-type", "")
    media, params = parse_options_header(content_type)
    if media != b"multipart/form-data" or b"boundary" not in params:
        raise InvalidInput("upload must be multipart/form-data with a boundary")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_size:
        raise TooLarge(f"upload of {declared} bytes is larger than the limit of {max_size}")
    form = UploadForm()
    collector = _Collector(form, open_writer)
    parser = MultipartParser(
        params[b"boundary"],
        {
            "on_part_begin": collector.on_part_begin,
            "on_part_data": collector.on_part_data,
            "on_part_end": collector.on_part_end,
            "on_header_field": collector.on_header_field,
            "on_header_value": collector.on_header_value,
            "on_header_end": collector.on_header_end,
            "on_headers_finished": collector.on_headers_finished,
        },
    )
    received = 0
    try:
        async for chunk in request.stream():
            received += len(chunk)
            if received > max_size:
                raise TooLarge(f"upload is larger than the limit of {max_size} bytes")
            parser.write(chunk)
            if len(collector.pending) >= WRITE_BATCH and form.writer is not None:
                batch = bytes(collector.pending)
                collector.pending.clear()
                await run_in_threadpool(form.writer.write, batch)
        parser.finalize()
        if form.writer is not None and not collector.file_complete:
            raise InvalidInput("the multipart body ended inside the uploaded file")
        if collector.pending and form.writer is not None:
            await run_in_threadpool(form.writer.write, bytes(collector.pending))
            collector.pending.clear()
    except ParseError as error:
        form.abort()
        raise InvalidInput(f"invalid multipart body: {error}") from None
    except BaseException:
        form.abort()
        raise
    return form

"""``POST /USER/INDEX/``: the legacy upload API (twine, uv publish, devpi-client)."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from pkgdepot.domain.names import short_repr
from pkgdepot.errors import InvalidInput
from pkgdepot.web.context import identity, services
from pkgdepot.web.multipart import read_upload_form
from pkgdepot.web.push import push
from pkgdepot.web.responses import message

ACTIONS = ("file_upload", "submit", "doc_upload")


async def upload(request: Request) -> Response:
    if request.headers.get("content-type", "").lower().startswith("application/json"):
        return await push(request)  # as devpi has it: a JSON body here is a push
    s = services(request)
    index = s.catalog.get(request.path_params["user"], request.path_params["index"])
    who = await identity(request, write=True)
    s.uploads.check_may_upload(who, index)
    content_type = request.headers.get("content-type", "").lower()  # media types ignore case
    if not content_type.startswith("multipart/form-data"):
        raise InvalidInput("expected a multipart/form-data upload with an ':action' field")
    try:
        form = await read_upload_form(request, s.blobs.writer, s.settings.max_upload_size)
    except ClientDisconnect:
        # Nobody is left to answer; the partial file is already gone (the form aborts it).
        raise InvalidInput("the client disconnected before the upload was complete") from None
    try:
        action = (form.fields.get(":action") or [""])[0]
        if action not in ACTIONS:
            raise InvalidInput(
                f"action {short_repr(action)} not supported"
                if action
                else ":action field not found"
            )
        if action == "submit":
            result = await run_in_threadpool(s.uploads.register, who, index, form.fields)
        else:
            if form.writer is None or not form.filename:
                raise InvalidInput("content file field not found")
            store = s.uploads.store_file if action == "file_upload" else s.uploads.store_docs
            result = await run_in_threadpool(
                store, who, index, form.fields, form.filename, form.writer
            )
    finally:
        form.abort()
    return message(result.message, reason=True)

"""A push to another repository through the legacy upload API (``posturl``), as twine sends.

One multipart POST per release file (``:action=file_upload``), streamed from its blob on disk,
then the doc zip (``:action=doc_upload``); with ``register_project`` a ``:action=submit``
first. Nothing of this server is locked while the other side answers: the other side may be
an index of this very server, served by the same single worker.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from pkgdepot import __version__, archives
from pkgdepot.service.push_order import Action, PushOrder, Release
from pkgdepot.storage.blobs import BlobStore

OK_STATUSES = (200, 201)
DOCS_GONE = 410  # the public index no longer hosts docs; devpi-client counts this as done
MAX_TEXT = 2000  # of a reply body shown in the actionlog
FAILED = 502
Form = dict[str, str | list[str]]


class _Broken(Exception):
    """The request got no answer (refused, reset, timed out)."""


def metadata_form(metadata: Mapping[str, Any]) -> Form:
    """The version's metadata as upload form fields: lists repeat, empty values are left out."""
    form: Form = {}
    for key, value in metadata.items():
        if isinstance(value, str) and value:
            form[key] = value
        elif isinstance(value, list):
            values = [v for v in value if isinstance(v, str) and v]
            if values:
                form[key] = values
    return form


def _succeeded(action: Action) -> bool:
    status = action[0]
    return status in OK_STATUSES or (action[1] == "docfile" and status == DOCS_GONE)


async def _post(
    client: httpx.AsyncClient,
    url: str,
    form: Form,
    content: tuple[str, Any] | None = None,
) -> tuple[int, str]:
    if content is None:
        # A form without a file, still as multipart/form-data (httpx would url-encode it).
        action = form[":action"]
        form = {k: v for k, v in form.items() if k != ":action"}
        files: dict[str, Any] = {":action": (None, action)}
    else:
        filename, stream = content
        files = {"content": (filename, stream, "application/octet-stream")}
    try:
        reply = await client.post(url, data=form, files=files)
    except httpx.HTTPError as error:
        raise _Broken(str(error) or type(error).__name__) from None
    return reply.status_code, _reply_text(reply)


def _reply_text(reply: httpx.Response) -> str:
    """What the other side said, on one line: its JSON ``message``, else its body."""
    text = " ".join(reply.text.split())[:MAX_TEXT]
    try:
        data = reply.json()
    except ValueError:
        return text
    message = data.get("message") if isinstance(data, dict) else None
    return message[:MAX_TEXT] if isinstance(message, str) else text


def shown_url(url: str) -> str:
    """``url`` without the user and password it may carry."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if parts.port is not None:
        netloc += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc))


async def push_external(
    order: PushOrder, release: Release, blobs: BlobStore, http_timeout: float
) -> tuple[int, list[Action]]:
    """Send the release; the overall status (200, or 502 if any action failed) and the log."""
    assert order.posturl is not None
    url = order.posturl
    name, version = release.name, release.version
    form: Form = {**metadata_form(release.metadata), "name": name, "version": version}
    auth = None if order.username is None else (order.username, order.password or "")
    headers = {"User-Agent": f"pkgdepot/{__version__}"}
    actions: list[Action] = []
    doing = ""
    async with httpx.AsyncClient(timeout=http_timeout, auth=auth, headers=headers) as client:
        try:
            if order.register_project:
                doing = f"exception on register of {name} {version}"
                status, _ = await _post(client, url, {**form, ":action": "submit"})
                actions.append([status, "register", name, version])
                if status not in OK_STATUSES:
                    return FAILED, actions
            for file in [] if order.only_docs else release.files:
                doing = f"exception on upload of {file.relpath}"
                pyversion, filetype = archives.packagetype(file.filename)
                fields: Form = {
                    **form,
                    ":action": "file_upload",
                    "protocol_version": "1",
                    "filetype": filetype,
                    "pyversion": pyversion,
                    "sha256_digest": file.sha256,
                }
                with blobs.path(file.sha256).open("rb") as stream:  # httpx reads it in chunks
                    status, text = await _post(client, url, fields, (file.filename, stream))
                actions.append([status, "upload", file.relpath, text])
            doczip = release.doczip
            if doczip is not None and not order.no_docs:
                doing = f"exception on doc upload of {name} {version}"
                fields = {**form, ":action": "doc_upload", "protocol_version": "1"}
                with blobs.path(doczip.sha256).open("rb") as stream:
                    status, _ = await _post(client, url, fields, (f"{name}-{version}.zip", stream))
                actions.append([status, "docfile", name])
        except _Broken as broken:
            actions.append([-1, doing, str(broken)])
    return (200 if all(_succeeded(a) for a in actions) else FAILED), actions

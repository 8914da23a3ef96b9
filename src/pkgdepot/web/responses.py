"""devpi's JSON envelope: ``{"type", "result"[, "message"]}`` and ``{"message"}``."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

JSON = "application/json"  # devpi-client compares the content type literally
REASON_HEADER = "x-pkgdepot-reason"  # turned into the HTTP reason phrase by web/server.py


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    body = orjson.dumps(data, option=orjson.OPT_INDENT_2)
    return Response(body, status_code=status, media_type=JSON, headers=headers)


def envelope(kind: str, result: Any, message: str | None = None, status: int = 200) -> Response:
    data: dict[str, Any] = {"type": kind, "result": result}
    if message is not None:
        data["message"] = message
    return json_response(data, status)


def message(text: str, status: int = 200, *, reason: bool = False) -> Response:
    """A ``{"message"}`` reply; with ``reason`` the text is also the HTTP reason phrase."""
    headers = {REASON_HEADER: reason_phrase(text)} if reason else None
    return json_response({"message": text}, status, headers)


def reason_phrase(text: str) -> str:
    """One line of printable ASCII, as a status line allows."""
    flat = " ".join(text.split())
    return "".join(c if 32 <= ord(c) < 127 else "?" for c in flat)[:300]

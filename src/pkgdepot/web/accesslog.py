"""The access log (one line per request, logger ``pkgdepot.access``) and JSON log lines.

With ``--log-format text`` an access line reads::

    2026-01-02 03:04:05,678 127.0.0.1 "GET /root/dev/+simple/six/ HTTP/1.1" 200 1432 3.1ms "pip/24"

With ``--log-format json`` every log line, access or server, is one JSON object; access lines
carry their fields (method, path, query, status, bytes, duration_ms, client, user_agent,
http_version) as keys of their own.
"""

from __future__ import annotations

import datetime
import logging
from typing import Any

import orjson
from starlette.types import Scope

ACCESS = logging.getLogger("pkgdepot.access")
FIELDS = "access_fields"  # the LogRecord attribute holding an access line's fields
TEXT_FORMAT = "%(asctime)s %(message)s"


def _quoted(text: str) -> str:
    """``text`` fit to stand between double quotes on one line."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    if escaped.isprintable():
        return escaped
    return "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in escaped)


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope["headers"]:
        if key == name:
            text: str = value.decode("latin-1")
            return text
    return ""


def log_request(scope: Scope, status: int, sent: int, seconds: float) -> None:
    """One access line for a finished request (the caller checked the logger is enabled)."""
    client = scope.get("client")
    raw_path = scope.get("raw_path")
    path = raw_path.decode("latin-1") if raw_path else scope["path"]
    query = scope.get("query_string", b"").decode("latin-1")
    fields = {
        "method": scope["method"],
        "path": path,
        "query": query,
        "status": status,
        "bytes": sent,
        "duration_ms": round(seconds * 1000, 3),
        "client": client[0] if client else None,
        "user_agent": _header(scope, b"user-agent"),
        "http_version": scope.get("http_version", "1.1"),
    }
    target = f"{path}?{query}" if query else path
    line = (
        f'{fields["client"] or "-"} "{_quoted(scope["method"])} {_quoted(target)} '
        f'HTTP/{fields["http_version"]}" {status} {sent} {seconds * 1000:.1f}ms '
        f'"{_quoted(fields["user_agent"])}"'
    )
    ACCESS.info(line, extra={FIELDS: fields})


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, then the message or an access line's
    fields, and the traceback of an exception."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.datetime.fromtimestamp(record.created, datetime.UTC)
        entry: dict[str, Any] = {
            "time": stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
        }
        fields = getattr(record, FIELDS, None)
        if fields is not None:
            entry.update(fields)
        else:
            entry["message"] = record.getMessage()
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry).decode()

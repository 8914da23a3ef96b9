"""The access log (one line per request, logger ``pkgdepot.access``) and JSON log lines.

Access lines bypass the logging machinery, which costs about 50 µs a line (as much as serving
a warm page): the logger's level still decides whether they are written, but ``log_request``
formats each line itself and ``Lines`` writes them to stdout in batches, at most half a second
late, each write whole lines of at most ``PIPE_BUF`` bytes so that the lines of several worker
processes sharing one pipe never interleave.

With ``--log-format text`` an access line reads::

    2026-01-02 03:04:05,678 127.0.0.1 "GET /root/dev/+simple/six/ HTTP/1.1" 200 1432 3.1ms "pip/24"

With ``--log-format json`` every log line, access or server, is one JSON object; access lines
carry their fields (method, path, query, status, bytes, duration_ms, client, user_agent,
http_version) as keys of their own.
"""

from __future__ import annotations

import asyncio
import atexit
import datetime
import logging
import os
import select
import sys
import time
from typing import Any

import orjson
from starlette.types import Scope

ACCESS = logging.getLogger("pkgdepot.access")
DELAY = 0.5  # seconds a line may wait to be written with others
WRITE_SIZE = select.PIPE_BUF  # writes of this size or less to a pipe are never split


class Lines:
    """Lines waiting to be written to stdout together."""

    def __init__(self) -> None:
        self.json = False
        self._pending: list[bytes] = []
        self._size = 0
        self._flush_due = False

    def add(self, line: bytes) -> None:
        self._pending.append(line)
        self._size += len(line)
        if self._size >= WRITE_SIZE:
            self.flush()
        elif not self._flush_due:
            try:
                asyncio.get_running_loop().call_later(DELAY, self.flush)
            except RuntimeError:  # not on an event loop: nothing would flush later
                self.flush()
                return
            self._flush_due = True

    def flush(self) -> None:
        self._flush_due = False
        chunk: list[bytes] = []
        size = 0
        for line in self._pending:
            if chunk and size + len(line) > WRITE_SIZE:
                self._write(b"".join(chunk))
                chunk, size = [], 0
            chunk.append(line)
            size += len(line)
        if chunk:
            self._write(b"".join(chunk))
        self._pending.clear()
        self._size = 0

    def _write(self, data: bytes) -> None:
        try:
            sys.stdout.flush()  # what was printed before goes first
            fd = sys.stdout.fileno()
            while data:
                data = data[os.write(fd, data) :]
        except (OSError, ValueError, AttributeError):
            pass  # stdout closed or gone: access lines are not worth a failed request


LINES = Lines()
atexit.register(LINES.flush)


def use_json(json: bool) -> None:
    """Write access lines as JSON objects (``--log-format json``) or as text."""
    LINES.json = json


class _Clock:
    """The local time as logging's ``asctime`` shows it, formatted once a second."""

    second = -1
    text = ""

    def asctime(self, now: float) -> str:
        second = int(now)
        if second != self.second:
            self.second = second
            self.text = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(second))
        return f"{self.text},{int((now - second) * 1000):03d}"


_CLOCK = _Clock()


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
    now = time.time()
    if LINES.json:
        LINES.add(orjson.dumps({**_json_head(now), **fields}, option=orjson.OPT_APPEND_NEWLINE))
        return
    target = f"{path}?{query}" if query else path
    line = (
        f'{_CLOCK.asctime(now)} {fields["client"] or "-"} "{_quoted(scope["method"])} '
        f'{_quoted(target)} HTTP/{fields["http_version"]}" {status} {sent} '
        f'{seconds * 1000:.1f}ms "{_quoted(fields["user_agent"])}"\n'
    )
    LINES.add(line.encode("utf-8", "backslashreplace"))


def _json_head(created: float) -> dict[str, Any]:
    return {"time": _iso_time(created), "level": "info", "logger": ACCESS.name}


def _iso_time(created: float) -> str:
    stamp = datetime.datetime.fromtimestamp(created, datetime.UTC)
    return stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for the server's log lines (access lines are written by
    ``log_request`` with the same time, level and logger keys): time, level, logger, the
    message, and the traceback of an exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": _iso_time(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
        }
        entry["message"] = record.getMessage()
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry).decode()

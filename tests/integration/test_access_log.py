"""One access-log line per request (method, path, status, bytes, duration, client, user agent),
as text or, with ``--log-format json``, as JSON like every other line the server logs."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.support.server import ServerProcess

pytestmark = pytest.mark.timeout(120)

AGENT = 'probe/1.0 (with "quotes")'


def wait_for_lines(server: ServerProcess, fragment: str, timeout: float = 30) -> list[str]:
    """The server's output lines holding ``fragment``, once there is at least one."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [line for line in list(server.output) if fragment in line]
        if found:
            time.sleep(0.2)  # a duplicate line, if any, would be written right after
            return [line for line in list(server.output) if fragment in line]
        time.sleep(0.05)
    return []


def test_text_lines(start_server: Callable[..., ServerProcess]) -> None:
    server = start_server(extra_args=["--log-level", "info"])
    with httpx.Client(base_url=server.url, headers={"User-Agent": AGENT}) as http:
        ok = http.get("/+api", params={"marker": "text-ok"})
        missing = http.get("/nobody/nowhere", params={"marker": "text-404"})
    assert (ok.status_code, missing.status_code) == (200, 404)

    [line] = wait_for_lines(server, "marker=text-ok")
    assert f'"GET /+api?marker=text-ok HTTP/1.1" 200 {len(ok.content)} ' in line
    assert line.startswith(time.strftime("%Y-"))  # a timestamp first
    assert " 127.0.0.1 " in line
    assert line.rstrip().endswith('"probe/1.0 (with \\"quotes\\")"')
    duration = line.split(f" {len(ok.content)} ")[1].split()[0]
    assert duration.endswith("ms")
    assert float(duration.removesuffix("ms")) >= 0

    [line] = wait_for_lines(server, "marker=text-404")
    assert f'"GET /nobody/nowhere?marker=text-404 HTTP/1.1" 404 {len(missing.content)} ' in line


def test_json_lines_for_access_and_server(start_server: Callable[..., ServerProcess]) -> None:
    server = start_server(extra_args=["--log-level", "info", "--log-format", "json"])
    with httpx.Client(base_url=server.url, headers={"User-Agent": AGENT}) as http:
        reply = http.put("/json-user", json={"password": "pw"}, params={"marker": "json-put"})
        assert reply.status_code == 201

    [line] = wait_for_lines(server, "json-put")
    entry: dict[str, Any] = json.loads(line)
    assert entry["logger"] == "pkgdepot.access"
    assert entry["level"] == "info"
    assert entry["time"].endswith("Z")
    assert {k: entry[k] for k in ("method", "path", "query", "status", "bytes")} == {
        "method": "PUT",
        "path": "/json-user",
        "query": "marker=json-put",
        "status": 201,
        "bytes": len(reply.content),
    }
    assert entry["client"] == "127.0.0.1"
    assert entry["user_agent"] == AGENT
    assert entry["duration_ms"] >= 0

    # every line after the address line is a JSON object: uvicorn's own lines too
    start = next(n for n, text in enumerate(server.output) if "serving on" in text)
    logged = [json.loads(text) for text in list(server.output)[start + 1 :] if text.strip()]
    assert any(e["logger"].startswith("uvicorn") and "message" in e for e in logged)
    assert all({"time", "level", "logger"} <= set(e) for e in logged)


def test_no_access_lines_below_info(start_server: Callable[..., ServerProcess]) -> None:
    server = start_server(extra_args=["--log-level", "warning"])
    assert httpx.get(f"{server.url}/+api", params={"marker": "quiet"}).status_code == 200
    server.stop()  # every line is written by now
    assert not [line for line in server.output if "marker=" in line]


def test_lines_of_two_workers_come_whole_and_all_of_them(
    start_server: Callable[..., ServerProcess],
) -> None:
    """Lines are written in batches: two processes sharing stdout must never cut each
    other's lines, and none may be lost or left unwritten."""
    server = start_server(workers=2, extra_args=["--log-level", "info", "--log-format", "json"])
    padding = "p" * 300  # long lines: batches of them go past one pipe write

    def ask(worker: int) -> None:
        with httpx.Client(base_url=server.url) as http:
            for n in range(100):
                params = {"marker": f"batch-{worker}-{n}", "padding": padding}
                assert http.get("/+api", params=params).status_code == 200

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(ask, range(8)))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        lines = [line for line in list(server.output) if "batch-" in line]
        if len(lines) >= 800:
            break
        time.sleep(0.1)
    entries = [json.loads(line) for line in lines]
    assert sorted(e["query"].split("&")[0] for e in entries) == sorted(
        f"marker=batch-{w}-{n}" for w in range(8) for n in range(100)
    )

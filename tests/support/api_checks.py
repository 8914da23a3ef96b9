"""Assertions shared by the management-API tests: error shape, headers, unchanged state."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.client import Api


def assert_devpi_headers(reply: httpx.Response) -> int:
    """The headers devpi-client looks for on every reply; returns the serial."""
    assert reply.headers.get("x-devpi-api-version") == "2", reply.headers
    serial = reply.headers.get("x-devpi-serial")
    assert serial is not None, reply.headers
    assert serial.isdigit(), serial
    return int(serial)


def assert_error(reply: httpx.Response, status: int, *fragments: str) -> str:
    """A precise 4xx with a JSON ``{"message"}`` body containing every fragment."""
    assert reply.status_code == status, (reply.status_code, reply.text)
    assert reply.headers["content-type"] == "application/json", reply.headers
    body = reply.json()
    assert isinstance(body, dict), body
    text = body.get("message")
    assert isinstance(text, str), body
    assert text, body
    for fragment in fragments:
        assert fragment in text, (fragment, text)
    assert_devpi_headers(reply)
    return text


def result_of(reply: httpx.Response, kind: str, status: int = 200) -> Any:
    assert reply.status_code == status, (reply.status_code, reply.text)
    assert reply.headers["content-type"] == "application/json", reply.headers
    body = reply.json()
    assert body["type"] == kind, body
    return body["result"]


def snapshot(api: Api, path: str) -> tuple[int, Any]:
    """Status and JSON of a GET, to compare before and after a failing write."""
    reply = api.http.get(path)
    return reply.status_code, reply.json()


def current_serial(api: Api) -> int:
    serial: int = api.http.get("/+status").json()["result"]["serial"]
    return serial

"""The fast lane in process: kept replies answer without the app, and only while current."""

from __future__ import annotations

import asyncio
import math
import time
from pathlib import Path
from typing import Any

from starlette.types import Message, Receive, Scope, Send

from pkgdepot.storage.serial import SharedSerial
from pkgdepot.web.fastlane import FastLane, Freshness, Replies, mark

PAGE = b"<html>a page</html>"
DEVPI = [(b"x-devpi-uuid", b"u1")]


class Route:
    path = "/{user}/{index}/+simple/{project}/"


class Page:
    """An app that answers with PAGE and counts its calls; marks the reply as told."""

    def __init__(self, serial: SharedSerial) -> None:
        self.serial = serial
        self.calls = 0
        self.fresh_until = math.inf
        self.marking = True
        self.status = 200

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.calls += 1
        scope["route"] = Route()
        if self.marking:
            mark(scope, Freshness(self.serial.get(), self.fresh_until, "project"))
        headers = [
            (b"content-length", str(len(PAGE)).encode()),
            (b"content-type", b"text/html"),
            (b"etag", b'"abc-h"'),
            (b"x-pkgdepot-cache", b"rendered"),
        ]
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        await send({"type": "http.response.body", "body": PAGE})


def scope_for(
    path: str = "/u/i/+simple/p/", query: bytes = b"", method: str = "GET", **headers: str
) -> Scope:
    return {
        "type": "http",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "headers": [(k.replace("_", "-").encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 1),
        "http_version": "1.1",
    }


def call(lane: FastLane, scope: Scope) -> list[Message]:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(lane(scope, receive, send))
    return sent


def header(messages: list[Message], name: bytes) -> bytes | None:
    return dict(messages[0]["headers"]).get(name)


def setup(tmp_path: Path) -> tuple[SharedSerial, Page, FastLane, Replies]:
    serial = SharedSerial(tmp_path / ".serial")
    page = Page(serial)
    replies = Replies(serial, server_headers=DEVPI)
    return serial, page, FastLane(page, replies), replies


def test_a_marked_reply_answers_the_next_same_request_without_the_app(tmp_path: Path) -> None:
    _, page, lane, replies = setup(tmp_path)
    first = call(lane, scope_for(accept="text/html"))
    again = call(lane, scope_for(accept="text/html"))
    assert page.calls == 1
    assert again[1]["body"] == PAGE
    assert header(first, b"x-pkgdepot-cache") == b"rendered"
    assert header(again, b"x-pkgdepot-cache") == b"hit"
    assert header(again, b"etag") == b'"abc-h"'
    assert len(replies) == 1
    # another Accept header is another reply: the app is asked
    call(lane, scope_for(accept="application/vnd.pypi.simple.v1+json"))
    assert page.calls == 2


def test_the_reply_for_the_protocol_is_whole(tmp_path: Path) -> None:
    serial, _, lane, replies = setup(tmp_path)
    serial.advance(7)
    call(lane, scope_for())
    reply = replies.get("/u/i/+simple/p/", None)
    assert reply is not None
    lines = reply.head.split(b"\r\n")
    assert b"x-devpi-uuid: u1" in lines
    assert b"x-devpi-serial: 7" in lines
    assert b"x-pkgdepot-cache: hit" in lines
    assert b"content-length: %d" % len(PAGE) in lines
    assert b"content-length" not in reply.head_304
    assert b"etag: " in reply.head_304


def test_if_none_match_gets_304_from_the_kept_reply(tmp_path: Path) -> None:
    _, page, lane, _ = setup(tmp_path)
    call(lane, scope_for())
    matching = call(lane, scope_for(if_none_match='"abc-h"'))
    other = call(lane, scope_for(if_none_match='"other"'))
    assert page.calls == 1
    assert matching[0]["status"] == 304
    assert matching[1]["body"] == b""
    assert header(matching, b"content-length") is None
    assert other[0]["status"] == 200
    assert other[1]["body"] == PAGE


def test_a_moved_serial_sends_the_request_to_the_app(tmp_path: Path) -> None:
    serial, page, lane, _ = setup(tmp_path)
    call(lane, scope_for())
    serial.advance(serial.get() + 1)
    call(lane, scope_for())
    call(lane, scope_for())
    assert page.calls == 2  # asked again once, then kept anew


def test_a_mirror_page_past_its_freshness_goes_to_the_app(tmp_path: Path) -> None:
    _, page, lane, _ = setup(tmp_path)
    page.fresh_until = time.time() - 1
    call(lane, scope_for())
    call(lane, scope_for())
    assert page.calls == 2


def test_unmarked_failed_or_other_requests_are_not_kept(tmp_path: Path) -> None:
    _, page, lane, replies = setup(tmp_path)
    page.marking = False
    call(lane, scope_for())
    page.marking, page.status = True, 404
    call(lane, scope_for())
    page.status = 200
    call(lane, scope_for(query=b"x=1"))
    call(lane, scope_for(method="HEAD"))
    assert len(replies) == 0
    assert page.calls == 4


def test_replies_beyond_the_byte_budget_start_again(tmp_path: Path) -> None:
    serial = SharedSerial(tmp_path / ".serial")
    page = Page(serial)
    replies = Replies(serial, server_headers=[], max_bytes=len(PAGE) * 2)
    lane = FastLane(page, replies)
    for name in ("a", "b", "c"):
        call(lane, scope_for(f"/u/i/+simple/{name}/"))
    assert len(replies) == 1
    assert replies.get("/u/i/+simple/c/", None) is not None


def test_middleware_outside_cannot_change_the_kept_reply(tmp_path: Path) -> None:
    _, _, lane, _ = setup(tmp_path)
    call(lane, scope_for())

    async def outer(scope: Scope, receive: Receive, send: Send) -> None:
        async def adding(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message["headers"], (b"x-added", b"1")]
            await send(message)

        await lane(scope, receive, adding)

    seen: list[Any] = []
    for _ in range(3):

        async def send(message: Message) -> None:
            seen.append(message)

        async def receive() -> Message:
            return {"type": "http.request"}

        asyncio.run(outer(scope_for(), receive, send))
    counts = [sum(1 for name, _ in m["headers"] if name == b"x-added") for m in seen[::2]]
    assert counts == [1, 1, 1]

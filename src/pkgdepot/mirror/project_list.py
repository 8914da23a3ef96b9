"""Streaming parsers for an upstream's project list (PEP 691 JSON or PEP 503 HTML).

Names are yielded as the bytes arrive, so a list of a million names never sits in memory whole.
"""

from __future__ import annotations

import codecs
import html
import json
import re
from collections.abc import AsyncIterator

from pkgdepot.mirror.parse import PageParseError

# One JSON value (a project entry, or a skipped top-level value) or one HTML anchor may not
# exceed this many characters.
MAX_JSON_VALUE_CHARS = 4 * 1024 * 1024
_WHITESPACE = " \t\r\n"
_SPACES = re.compile(r"[ \t\r\n]*")
_decoder = json.JSONDecoder()


class _NeedMore(Exception):
    """The buffer ends in the middle of a token."""


class _JsonListScanner:
    """Walks ``{"meta": ..., "projects": [{"name": ...}, ...]}`` one value at a time.

    Only the top-level object and the ``projects`` array are scanned by hand; every value
    inside them is decoded by the C JSON decoder, so the cost per name stays small.
    """

    def __init__(self) -> None:
        self.text = ""
        self.pos = 0
        self.state = "start"  # start, key, colon, value, after_value, items, after_item, done
        self.key = ""
        self.names: list[str] = []

    def feed(self, chunk: str) -> None:
        self.text = self.text[self.pos :] + chunk
        self.pos = 0
        try:
            while self.state != "done":
                self._step()
        except _NeedMore:
            if len(self.text) - self.pos > MAX_JSON_VALUE_CHARS:
                raise PageParseError("project list: a JSON value is too large") from None

    def finish(self) -> None:
        self._skip_whitespace(at_end=True)
        if self.state != "done" or self.pos != len(self.text):
            raise PageParseError("project list: JSON body ends early or has trailing data")

    def _skip_whitespace(self, at_end: bool = False) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in _WHITESPACE:
            self.pos += 1
        if self.pos == len(self.text) and not at_end:
            raise _NeedMore

    def _expect(self, allowed: str) -> str:
        self._skip_whitespace()
        char = self.text[self.pos]
        if char not in allowed:
            raise PageParseError(f"project list: unexpected {char!r} in JSON")
        self.pos += 1
        return char

    def _value(self) -> object:
        self._skip_whitespace()
        try:
            value, end = _decoder.raw_decode(self.text, self.pos)
        except json.JSONDecodeError:
            raise _NeedMore from None  # see ``_items``
        if end == len(self.text) and not isinstance(value, (dict, list, str)):
            raise _NeedMore  # a number or literal may continue in the next chunk
        self.pos = end
        return value

    def _step(self) -> None:
        state = self.state
        if state == "start":
            self._expect("{")
            self.state = "key"
        elif state == "key":
            self._skip_whitespace()
            if self.text[self.pos] == "}":
                self.pos += 1
                self.state = "done"
                return
            key = self._value()
            if not isinstance(key, str):
                raise PageParseError("project list: JSON object key is not a string")
            self.key = key
            self.state = "colon"
        elif state == "colon":
            self._expect(":")
            self.state = "value"
        elif state == "value":
            if self.key == "projects":
                self._expect("[")
                self.state = "first_item"
            else:
                self._value()
                self.state = "after_value"
        elif state == "after_value":
            self.state = "key" if self._expect(",}") == "," else "done"
        elif state == "first_item":
            self._skip_whitespace()
            if self.text[self.pos] == "]":
                self.pos += 1
                self.state = "after_value"
            else:
                self.state = "item"
        elif state == "item":
            self._items()
        elif state == "after_item":
            self.state = "item" if self._expect(",]") == "," else "after_value"

    def _items(self) -> None:
        """The hot loop: decode array entries back to back until the buffer runs out."""
        text, pos, names = self.text, self.pos, self.names
        end_of_text = len(text)
        try:
            while True:
                pos = _SPACES.match(text, pos).end()  # type: ignore[union-attr]
                entry, pos = _decoder.raw_decode(text, pos)
                name = entry.get("name") if isinstance(entry, dict) else None
                if not isinstance(name, str):
                    raise PageParseError("project list: a project entry has no name")
                names.append(name)
                self.pos = pos
                pos = _SPACES.match(text, pos).end()  # type: ignore[union-attr]
                if pos < end_of_text and text[pos] == ",":
                    pos += 1
                    self.pos = pos  # resume after the comma if the next entry is incomplete
                    continue
                self.state = "after_item"
                return
        except json.JSONDecodeError:
            # Most likely the entry continues in the next chunk; a broken one is caught by the
            # size limit in ``feed`` or by ``finish``.
            self.state = "item"
            raise _NeedMore from None


class _HtmlListScanner:
    """Anchor texts of a PEP 503 list, found by a regular expression: a million names pass
    through ``html.parser`` far too slowly, and a list page has no structure beyond anchors."""

    _ANCHOR = re.compile(r"<a\b[^>]*>(.*?)</a\s*>", re.IGNORECASE | re.DOTALL)
    _TAG = re.compile(r"<[^>]*>")

    def __init__(self) -> None:
        self.text = ""
        self.names: list[str] = []

    def feed(self, chunk: str) -> None:
        text = self.text + chunk
        end = 0
        for match in self._ANCHOR.finditer(text):
            name = html.unescape(self._TAG.sub("", match.group(1))).strip()
            if name:
                self.names.append(name)
            end = match.end()
        # Keep only what may still become an anchor: from the last "<a" after the final match
        # (or a lone "<" at the very end, which may be the start of one).
        start = text.lower().rfind("<a", end)
        if start == -1:
            start = text.rfind("<", max(end, len(text) - 1))
        self.text = text[start:] if start != -1 else ""
        if len(self.text) > MAX_JSON_VALUE_CHARS:
            raise PageParseError("project list: an HTML anchor is too large")

    def close(self) -> None:
        self.text = ""


def looks_like_json(content_type: str, first_bytes: bytes) -> bool:
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type.endswith("json") or first_bytes.lstrip().startswith(b"{")


async def iter_project_names(chunks: AsyncIterator[bytes], content_type: str) -> AsyncIterator[str]:
    """Yield project names (as the upstream spells them) from a streamed list body.

    JSON is recognised by the media type or by a body that starts with ``{``.
    Raises ``PageParseError`` for a body that is not a project list or that ends early.
    """
    utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")
    parser: _JsonListScanner | _HtmlListScanner | None = None
    pending = b""
    async for chunk in chunks:
        if parser is None:
            pending += chunk
            if not pending.strip():
                continue
            is_json = looks_like_json(content_type, pending)
            parser = _JsonListScanner() if is_json else _HtmlListScanner()
            chunk, pending = pending, b""
        parser.feed(utf8.decode(chunk))
        for name in parser.names:
            yield name
        parser.names.clear()
    if parser is None:
        raise PageParseError("project list: empty body")
    parser.feed(utf8.decode(b"", final=True))
    if isinstance(parser, _JsonListScanner):
        parser.finish()
    else:
        parser.close()
    for name in parser.names:
        yield name

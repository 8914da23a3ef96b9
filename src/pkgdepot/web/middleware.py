"""Pure ASGI middleware: the ``X-Devpi-*`` headers devpi's clients look for on every response."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pkgdepot.storage.serial import SharedSerial


def devpi_headers(node_uuid: str, version: str) -> list[tuple[bytes, bytes]]:
    """The ones that never change (``X-Devpi-Serial`` follows the serial)."""
    return [
        (b"x-devpi-api-version", b"2"),
        (b"x-devpi-server-version", version.encode()),
        (b"x-devpi-uuid", node_uuid.encode()),
        (b"x-devpi-primary-uuid", node_uuid.encode()),
        (b"x-devpi-master-uuid", node_uuid.encode()),
    ]


class DevpiHeaders:
    def __init__(
        self, app: ASGIApp, serial: SharedSerial, static: list[tuple[bytes, bytes]]
    ) -> None:
        self.app = app
        self.serial = serial
        self.static = static

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.extend(self.static)
                headers.append((b"x-devpi-serial", str(self.serial.get()).encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)

"""What one client may cost the control API: header size and count, header-read time, body size,
TLS handshake time and open connections (`control_api.limits`, see docs/security.md).

The header limits and the read timeouts live in the HTTP protocol (uvicorn's httptools and h11
protocols, subclassed): a request whose headers are too large gets 431, one whose headers do not
arrive within `header_timeout_seconds` of its first byte (or of the connection), or whose body does
not arrive within `body_timeout_seconds` of its headers, gets 408, and the connection is closed.
The body limit is an ASGI middleware (413), so it holds for any protocol and for chunked bodies.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any, ClassVar, cast

import uvicorn
from starlette.exceptions import HTTPException
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from tradeops.config.models import ControlApiLimits
from tradeops.control_api.rbac import CLIENT_SUBJECT_STATE
from tradeops.control_api.tls import peer_subject

log = logging.getLogger("tradeops.control_api")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_REASONS = {
    408: b"Request Timeout",
    413: b"Content Too Large",
    431: b"Request Header Fields Too Large",
}

if TYPE_CHECKING:
    from uvicorn.protocols.http.h11_impl import H11Protocol as _Base
else:
    _Base = object


class _HeaderLimits(_Base):
    """Mixin for uvicorn's HTTP protocols: client certificate subject, header timeout, header size."""

    limits: ClassVar[ControlApiLimits] = ControlApiLimits()
    _header_timer: asyncio.TimerHandle | None = None
    _refusal: tuple[int, str] | None = None
    _pending_header_bytes = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(cast(asyncio.Transport, transport))
        subject = peer_subject(transport.get_extra_info("ssl_object"))
        self.app_state = {**self.app_state, CLIENT_SUBJECT_STATE: subject}
        self._arm_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._waiting_for_request() and self._header_timer is None:
            self._arm_timer("headers")  # the first byte of a new request on a kept-alive connection
        before = self.cycle
        super().data_received(data)
        cycle = self.cycle
        if cycle is not before and cycle is not None:  # this request's headers are complete
            self._pending_header_bytes = 0
            if cycle.more_body:
                self._arm_timer("body")
            else:
                self._disarm_header_timer()
        elif cycle is not None and not cycle.response_complete and not cycle.more_body:
            self._disarm_header_timer()  # the body is complete
        elif self._waiting_for_request() and self._header_timer is not None:
            self._pending_header_bytes += len(data)
            if self._pending_header_bytes > self.limits.max_header_bytes:
                self.refuse(431, f"request headers exceed {self.limits.max_header_bytes} bytes")

    def _waiting_for_request(self) -> bool:
        return self.cycle is None or self.cycle.response_complete

    def send_400_response(self, msg: str) -> None:
        if self._refusal is not None:  # a limit raised inside the parser's callback
            status, reason = self._refusal
            self.refuse(status, reason)
            return
        super().send_400_response(msg)

    def refuse(self, status: int, reason: str) -> None:
        """Answer `status` with `reason` and close the connection."""
        self._disarm_header_timer()
        if self.transport.is_closing():
            return
        body = reason.encode()
        head = b"HTTP/1.1 %d %s\r\n" % (status, _REASONS.get(status, b"Error"))
        head += b"content-type: text/plain; charset=utf-8\r\ncontent-length: %d\r\n" % len(body)
        self.transport.write(head + b"connection: close\r\n\r\n" + body)
        self.transport.close()
        client = getattr(self, "client", None)
        log.warning("control API refused %s: %d %s", client, status, reason)

    def _arm_header_timer(self) -> None:
        self._arm_timer("headers")

    def _arm_timer(self, phase: str) -> None:
        self._disarm_header_timer()
        seconds = (
            self.limits.header_timeout_seconds if phase == "headers" else self.limits.body_timeout_seconds
        )
        loop = asyncio.get_running_loop()
        self._header_timer = loop.call_later(seconds, self._timed_out, phase, seconds)

    def _disarm_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _timed_out(self, phase: str, seconds: float) -> None:
        self._header_timer = None
        cycle = self.cycle
        if phase == "headers" and self._waiting_for_request():
            self.refuse(408, f"request headers not received within {seconds:g} s")
        elif phase == "body" and cycle is not None and cycle.more_body and not cycle.response_started:
            self.refuse(408, f"request body not received within {seconds:g} s")


class _TooLarge(Exception):
    """Raised inside an httptools callback to stop parsing (becomes the stored refusal)."""


class MtlsHttpToolsProtocol(_HeaderLimits, HttpToolsProtocol):  # type: ignore[misc]  # mixin typed as H11Protocol
    """The default protocol: httptools, with exact per-request header size and count limits."""

    _header_bytes = 0
    _header_count = 0

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._header_bytes = self._header_count = 0
        if self._header_timer is None:
            self._arm_header_timer()

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_count += 1
        if self._header_count > self.limits.max_header_count:
            self._refusal = (431, f"more than {self.limits.max_header_count} request headers")
            raise _TooLarge
        self._count(len(name) + len(value) + 4)
        super().on_header(name, value)

    def _count(self, size: int) -> None:
        self._header_bytes += size
        if self._header_bytes > self.limits.max_header_bytes:
            self._refusal = (431, f"request headers exceed {self.limits.max_header_bytes} bytes")
            raise _TooLarge


class MtlsH11Protocol(_HeaderLimits, H11Protocol):
    """The h11 fallback: h11's own incomplete-event limit bounds the header bytes it buffers."""


def with_limits(protocol: type[asyncio.Protocol], limits: ControlApiLimits) -> type[asyncio.Protocol]:
    """`protocol` bound to `limits` (a subclass; our protocols read them from the class)."""
    if not issubclass(protocol, _HeaderLimits):
        return protocol
    return type(protocol.__name__, (protocol,), {"limits": limits})


class BodyLimit:
    """ASGI middleware: a request body larger than `max_bytes` gets 413 (Content-Length checked up
    front, a chunked body counted as it arrives); the endpoint never sees it."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or ()).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._too_large(send)
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _BodyTooLarge(self.max_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _BodyTooLarge:
            if not started:
                await self._too_large(send)

    async def _too_large(self, send: Send) -> None:
        body = json.dumps({"detail": f"request body larger than {self.max_bytes} bytes"}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send(
            {"type": "http.response.start", "status": 413, "headers": [*headers, (b"connection", b"close")]}
        )
        await send({"type": "http.response.body", "body": body})


class _BodyTooLarge(HTTPException):
    """Raised from `receive`; an HTTPException so that FastAPI's body parsing passes it on (413)."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"request body larger than {max_bytes} bytes")


class BoundedServer(uvicorn.Server):
    """uvicorn's server with a TLS handshake timeout (uvicorn leaves asyncio's 60 s default)."""

    def __init__(self, config: uvicorn.Config, *, handshake_timeout_s: float) -> None:
        super().__init__(config)
        self.handshake_timeout_s = handshake_timeout_s

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        loop = asyncio.get_running_loop()
        create = loop.create_server
        timeout = self.handshake_timeout_s

        async def bounded_create_server(*args: Any, **kwargs: Any) -> asyncio.Server:
            if kwargs.get("ssl") is not None:
                kwargs.setdefault("ssl_handshake_timeout", timeout)
            return await create(*args, **kwargs)

        # uvicorn calls loop.create_server itself; shadow it on this loop for the call only.
        loop.create_server = bounded_create_server  # type: ignore[method-assign]
        try:
            await super().startup(sockets)
        finally:
            del loop.create_server

"""uvicorn's httptools protocol with the guards a public collector needs, which uvicorn lacks: caps on the
URL and header sizes (414, 431) and timeouts on slow headers and slow bodies (408, slowloris)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

import httptools
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

log = logging.getLogger("ingestion.request")
SWEEP = 0.25
REASONS = {
    400: b"Bad Request",
    408: b"Request Timeout",
    414: b"URI Too Long",
    431: b"Request Header Fields Too Large",
}


@dataclass(frozen=True)
class Limits:
    max_url_bytes: int
    max_header_bytes: int
    header_timeout: float
    body_timeout: float
    on_refusal: Callable[[int], None] = lambda status: None


class Refused(Exception):
    """Raised from a parser callback to stop parsing a request that is over a limit."""


def guarded_protocol(limits: Limits) -> type[HttpToolsProtocol]:
    """A protocol class bound to these limits (uvicorn instantiates the class itself)."""
    return type("GuardedHttpToolsProtocol", (GuardedHttpToolsProtocol,), {"limits": limits, "live": set()})


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """Deadlines are plain numbers checked by one sweep per class every ``SWEEP`` seconds, instead of a timer
    armed and cancelled twice per request."""

    limits: Limits
    live: set[GuardedHttpToolsProtocol]
    sweeper: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._deadline = 0.0
        self._head_bytes = 0
        self._refusal = 400
        super().connection_made(transport)
        self._arm(self.limits.header_timeout)
        self.live.add(self)
        if type(self).sweeper is None:
            self._sweep()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        self.live.discard(self)
        super().connection_lost(exc)

    def _sweep(self) -> None:
        now = self.loop.time()
        for protocol in [p for p in self.live if p._deadline and p._deadline < now]:
            protocol._timed_out()
        type(self).sweeper = self.loop.call_later(SWEEP, self._sweep) if self.live else None

    def data_received(self, data: bytes) -> None:
        self._unset_keepalive_if_required()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self.refuse(400, "upgrade not supported")
        except httptools.HttpParserError:
            self.refuse(self._refusal, "invalid or oversized request head")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_bytes = 0
        if not self._deadline:
            self._arm(self.limits.header_timeout)

    def on_url(self, url: bytes) -> None:
        self._head_bytes += len(url)
        if self._head_bytes > self.limits.max_url_bytes:
            self._refusal = 414
            raise Refused
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_bytes += len(name) + len(value) + 4
        if self._head_bytes > self.limits.max_header_bytes:
            self._refusal = 431
            raise Refused
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()
        self._arm(self.limits.body_timeout)

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def refuse(self, status: int, reason: str) -> None:
        """Answer without the application and close the connection."""
        self._disarm()
        self.limits.on_refusal(status)
        client = self.client[0] if self.client else None
        log.info("request refused", extra={"status": status, "reason": reason, "peer": client})
        if self.cycle is None or not self.cycle.response_started:
            body = reason.encode()
            self.transport.write(
                b"HTTP/1.1 %d %s\r\ncontent-type: text/plain\r\ncontent-length: %d\r\nconnection: close\r\n\r\n%s"
                % (status, REASONS.get(status, b"Error"), len(body), body)
            )
        self.transport.close()

    def _timed_out(self) -> None:
        self._deadline = 0.0
        if self.cycle is None or self.cycle.response_complete or not self.cycle.response_started:
            self.refuse(408, "request not received in time")

    def _arm(self, seconds: float) -> None:
        self._deadline = self.loop.time() + seconds

    def _disarm(self) -> None:
        self._deadline = 0.0

"""A small HTTP/1.1 server on uvloop and httptools, made for one job: answering the collector's requests.

Why not ASGI under uvicorn: measured on the 2-vCPU benchmark machine, uvicorn's ASGI layer alone (scope dicts,
a task and message dicts per request) costs about 40 µs of CPU per request, four times a bare httptools
protocol, and the collector's whole budget at 10,000 requests/s is 100 µs. Here a request is parsed by
httptools, handled synchronously up to the spool, and answered from the spool's group-commit callback:
no task, no coroutine per request.

The guards a public endpoint needs are built in: caps on URL and header sizes (414, 431), a body cap (413,
before reading it when Content-Length says so), deadlines on slow headers, slow bodies and idle keep-alive
connections (408 / close; slowloris), a cap on open connections (503), and no pipelining beyond one request
in flight per connection (the rest wait, bounded, with reading paused).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import httptools

log = logging.getLogger("ingestion.http")
REASONS = {
    200: b"OK", 204: b"No Content", 400: b"Bad Request", 403: b"Forbidden", 404: b"Not Found",
    405: b"Method Not Allowed", 408: b"Request Timeout", 413: b"Content Too Large", 414: b"URI Too Long",
    431: b"Request Header Fields Too Large", 503: b"Service Unavailable",
}  # fmt: skip
SWEEP_SECONDS = 0.25
MAX_QUEUED = 8


@dataclass(slots=True)
class Request:
    method: str
    raw_path: bytes
    query: bytes
    headers: list[tuple[bytes, bytes]]
    body: bytes
    client: str

    def header(self, name: bytes) -> bytes | None:
        for key, value in self.headers:
            if key == name:
                return value
        return None


@dataclass(slots=True)
class Response:
    status: int
    body: bytes = b""
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    close: bool = False

    def encode(self, keep_alive: bool) -> bytes:
        lines = [
            b"HTTP/1.1 %d %s\r\ncontent-length: %d\r\n"
            % (self.status, REASONS.get(self.status, b""), len(self.body))
        ]
        lines += [b"%s: %s\r\n" % pair for pair in self.headers]
        if not keep_alive:
            lines.append(b"connection: close\r\n")
        lines += [b"\r\n", self.body]
        return b"".join(lines)


Deferred = tuple[asyncio.Future, Callable[[asyncio.Future], Response]]
Handler = Callable[[Request], "Response | Deferred"]


@dataclass(frozen=True)
class Limits:
    """What one connection may send and how long it may take (the values come from the settings)."""

    max_url_bytes: int
    max_header_bytes: int
    max_body_bytes: int
    header_timeout: float
    body_timeout: float
    keep_alive: float
    max_connections: int


class Refused(Exception):
    """Raised from a parser callback to stop parsing a request that is over a limit."""


class Connections:
    """Every open connection, one sweep for all their deadlines, and the drain at shutdown."""

    def __init__(self, handler: Handler, limits: Limits, on_refusal: Callable[[int, str, str], None]) -> None:
        self.handler = handler
        self.limits = limits
        self.on_refusal = on_refusal
        self.open: set[HttpProtocol] = set()
        self._sweeper: asyncio.TimerHandle | None = None

    def protocol(self) -> HttpProtocol:
        return HttpProtocol(self)

    def sweep(self) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        for connection in [c for c in self.open if c.deadline and c.deadline < now]:
            connection.timed_out()
        self._sweeper = loop.call_later(SWEEP_SECONDS, self.sweep)

    def start(self) -> None:
        self.sweep()

    async def drain(self, timeout: float) -> None:
        """Let requests in flight finish, then close every connection."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while any(c.busy for c in self.open) and loop.time() < deadline:
            await asyncio.sleep(0.02)
        for connection in list(self.open):
            connection.transport.close()
        if self._sweeper is not None:
            self._sweeper.cancel()


class HttpProtocol(asyncio.Protocol):
    """One client connection."""

    def __init__(self, connections: Connections) -> None:
        self.connections = connections
        self.limits = connections.limits
        self.loop = asyncio.get_running_loop()
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport = None  # type: ignore[assignment]
        self.client = ""
        self.deadline = 0.0
        self.busy = False
        self.closing = False
        self.queue: deque[tuple[Request, bool]] = deque()
        self._reset()

    def _reset(self) -> None:
        self.url = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.body: list[bytes] = []
        self.body_size = 0
        self.head_size = 0
        self.refusal = 400

    # asyncio callbacks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        peer = transport.get_extra_info("peername")
        self.client = peer[0] if peer else ""
        self.connections.open.add(self)
        if len(self.connections.open) > self.limits.max_connections:
            self.refuse(503, "too many connections")
            return
        self.deadline = self.loop.time() + self.limits.header_timeout

    def connection_lost(self, exc: Exception | None) -> None:
        self.connections.open.discard(self)
        self.closing = True

    def data_received(self, data: bytes) -> None:
        if self.closing:
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self.refuse(400, "protocol upgrade not supported")
        except httptools.HttpParserError:
            self.refuse(self.refusal, "invalid or oversized request")

    # parser callbacks

    def on_message_begin(self) -> None:
        self._reset()
        if not self.busy:
            self.deadline = self.loop.time() + self.limits.header_timeout

    def on_url(self, url: bytes) -> None:
        self.url += url
        if len(self.url) > self.limits.max_url_bytes:
            self.refusal = 414
            raise Refused

    def on_header(self, name: bytes, value: bytes) -> None:
        self.head_size += len(name) + len(value) + 4
        if self.head_size > self.limits.max_header_bytes:
            self.refusal = 431
            raise Refused
        self.headers.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        length = next((value for name, value in self.headers if name == b"content-length"), None)
        if length is not None and (not length.isdigit() or int(length) > self.limits.max_body_bytes):
            self.refusal = 413 if length.isdigit() else 400
            raise Refused
        if any(name == b"expect" and value.lower() == b"100-continue" for name, value in self.headers):
            self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        if not self.busy:
            self.deadline = self.loop.time() + self.limits.body_timeout

    def on_body(self, body: bytes) -> None:
        self.body_size += len(body)
        if self.body_size > self.limits.max_body_bytes:
            self.refusal = 413
            raise Refused
        self.body.append(body)

    def on_message_complete(self) -> None:
        parsed = httptools.parse_url(self.url)
        request = Request(
            method=self.parser.get_method().decode("ascii", "replace"),
            raw_path=parsed.path or b"/",
            query=parsed.query or b"",
            headers=self.headers,
            body=b"".join(self.body),
            client=self.client,
        )
        self.queue.append((request, self.parser.should_keep_alive()))
        if len(self.queue) > MAX_QUEUED:
            self.transport.pause_reading()
        if not self.busy:
            self.next_request()

    # handling

    def next_request(self) -> None:
        while self.queue and not self.closing:
            request, keep_alive = self.queue.popleft()
            self.busy = True
            self.deadline = 0.0
            try:
                outcome = self.connections.handler(request)
            except Exception:
                log.exception("request handler failed")
                outcome = Response(503, b"internal error", close=True)
            if isinstance(outcome, Response):
                self.send(outcome, keep_alive)
                continue
            future, finish = outcome
            future.add_done_callback(functools.partial(self.finished, finish, keep_alive))
            return

    def finished(
        self, finish: Callable[[asyncio.Future], Response], keep_alive: bool, done: asyncio.Future
    ) -> None:
        self.send(finish(done), keep_alive)
        self.next_request()

    def send(self, response: Response, keep_alive: bool) -> None:
        self.busy = False
        if self.closing:
            return
        keep_alive = keep_alive and not response.close
        self.transport.write(response.encode(keep_alive))
        if not keep_alive:
            self.closing = True
            self.transport.close()
            return
        self.deadline = self.loop.time() + self.limits.keep_alive
        if len(self.queue) <= MAX_QUEUED:
            self.transport.resume_reading()

    def refuse(self, status: int, reason: str) -> None:
        """Answer without the handler and close the connection."""
        self.connections.on_refusal(status, reason, self.client)
        if not self.busy:
            self.transport.write(Response(status, reason.encode()).encode(keep_alive=False))
        self.closing = True
        self.transport.close()

    def timed_out(self) -> None:
        self.deadline = 0.0
        if self.busy:
            return
        if self.url or self.headers or self.body:
            self.refuse(408, "request not received in time")
        else:  # an idle keep-alive connection, or one that never sent anything
            self.closing = True
            self.transport.close()

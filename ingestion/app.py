"""The collector as a raw ASGI application: no framework on the request path, only what it needs.

Routes: ``POST|OPTIONS <path>`` (collect), ``GET|POST|OPTIONS /ping``, ``GET /health``, ``GET /metrics``.
A collect request is answered 200 only after its record is durable in the spool (see ``spool.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import orjson

from ingestion.allowlist import AllowList, static_apps
from ingestion.body import BadBody, validate_body
from ingestion.config import Settings
from ingestion.cors import CorsPolicy
from ingestion.exchange import (
    BadRequest,
    ClientAddress,
    Disconnected,
    Receive,
    Send,
    parse_query,
    read_body,
    respond,
)
from ingestion.metrics import Metrics
from ingestion.record import Clock, ClockCache, build_record, new_request_id
from ingestion.shipper import Shipper
from ingestion.sinks import Sink, sink_limits
from ingestion.spool import Spool, SpoolError, spool_line

log = logging.getLogger("ingestion.request")
RETRY_AFTER = [(b"retry-after", b"5")]
JSON = [(b"content-type", b"application/json")]
TEXT = [(b"content-type", b"text/plain; charset=utf-8")]
INTEGER_PARAMS = ("upload_timestamp", "event_bundle_sequence_id")


class Collector:
    """The ASGI application; its lifespan opens the spool and runs the shipper and the allow-list watcher."""

    def __init__(self, settings: Settings, sink: Sink | None = None) -> None:
        self.settings = settings
        self.metrics = Metrics()
        self.allow = AllowList(
            static_apps(list(settings.app_ids), settings.project_id), settings.app_ids_file
        )
        self.cors = CorsPolicy(settings.cors_origins)
        self.clients = ClientAddress(settings.trusted_proxies)
        self.clock = ClockCache()
        self.sink_name, self.max_record_bytes = sink_limits(settings.sink)
        self.spool = Spool(
            settings.spool_dir,
            max_bytes=settings.spool_max_bytes,
            segment_bytes=settings.batch_max_bytes,
            segment_seconds=settings.batch_seconds,
            fsync=settings.fsync,
        )
        self.shipper = Shipper(self.spool, self.metrics, sink_url=settings.sink, sink=sink)
        self.stopping = False
        self._watcher: asyncio.Task[None] | None = None

    async def __call__(self, scope: dict, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self.http(scope, receive, send)
        elif scope["type"] == "lifespan":
            await self.lifespan(receive, send)

    # routing

    async def http(self, scope: dict, receive: Receive, send: Send) -> None:
        path, method = scope["path"], scope["method"]
        try:
            if path == self.settings.path:
                await (self.collect if method == "POST" else self.other_method)(scope, receive, send)
            elif path == "/ping":
                await self.ping(scope, send)
            elif path == "/health":
                await self.health(send)
            elif path == "/metrics":
                await respond(
                    send, 200, self.metrics.render(), [(b"content-type", b"text/plain; version=0.0.4")]
                )
            else:
                await self.reject(send, scope, BadRequest(404, "no such path"))
        except BadRequest as error:
            await self.reject(send, scope, error)

    async def other_method(self, scope: dict, receive: Receive, send: Send) -> None:
        if scope["method"] != "OPTIONS":
            raise BadRequest(405, f"method {scope['method']} not allowed")
        origin = header(scope, b"origin")
        if origin is None or not self.cors.allows(origin):
            raise BadRequest(403, "preflight from an origin that is not allowed")
        headers = CorsPolicy.preflight_headers(origin, header(scope, b"access-control-request-headers"))
        self.metrics.count(204)
        await respond(send, 204, b"", headers)

    # collect

    async def collect(self, scope: dict, receive: Receive, send: Send) -> None:
        origin = ua = forwarded = None
        length = 0
        for name, value in scope["headers"]:
            if name == b"content-length":
                length = int(value) if value.isdigit() else -1
            elif name == b"origin":
                origin = value
            elif name == b"user-agent":
                ua = value
            elif name == b"x-forwarded-for":
                forwarded = value
        headers = self.cors_headers(origin)
        query = parse_query(scope["query_string"])
        project_id = self.allow.project_for(query.get("appId"))
        if project_id is None:
            raise BadRequest(403, "unknown app id")
        await self.accept(scope, receive, send, query, project_id, headers, length, ua, forwarded)

    async def accept(
        self,
        scope: dict,
        receive: Receive,
        send: Send,
        query: dict[str, str],
        project_id: str,
        headers: list[tuple[bytes, bytes]],
        length: int,
        ua: bytes | None,
        forwarded: bytes | None,
    ) -> None:
        """Read and check the body, write the record to the spool, and answer once it is durable."""
        if length < 0 or length > self.settings.max_body_bytes:
            raise BadRequest(
                413 if length > 0 else 400, "body over the limit" if length > 0 else "bad length"
            )
        try:
            body = await read_body(receive, self.settings.max_body_bytes)
        except Disconnected:
            return
        rid, clock = new_request_id(), self.clock.now()
        record, events = self.record(scope, query, body, ua, forwarded, rid, clock)
        if self.max_record_bytes and len(record) > self.max_record_bytes:
            raise BadRequest(413, f"record over the {self.sink_name} sink's limit")
        if not self.spool.has_room():
            await self.unavailable(send, scope, "spool full" if not self.stopping else "shutting down")
            return
        try:
            await self.spool.append(spool_line(project_id, clock.hour_key, record))
        except SpoolError as error:
            await self.unavailable(send, scope, f"spool write failed: {error}")
            return
        self.metrics.accepted(len(body), events)
        await respond(send, 200, b"", [(b"x-request-id", rid.encode()), *headers])

    def record(
        self,
        scope: dict,
        query: dict[str, str],
        body: bytes,
        ua: bytes | None,
        forwarded: bytes | None,
        rid: str,
        clock: Clock,
    ) -> tuple[bytes, int]:
        """The raw record of this request and its number of events; refuses bad parameters and bodies."""
        for name in INTEGER_PARAMS:
            value = query.get(name)
            if value and not value.isdigit():
                raise BadRequest(400, f"{name} is not an integer")
        try:
            data, events = validate_body(body, max_inflated=self.settings.max_inflated_bytes)
        except BadBody as error:
            raise BadRequest(400, str(error)) from error
        raw_path, query_string = scope.get("raw_path") or scope["path"].encode(), scope["query_string"]
        uri = (raw_path + b"?" + query_string if query_string else raw_path).decode("latin-1")
        client = scope.get("client")
        return build_record(
            clock=clock,
            query=query,
            data=data,
            ip=self.clients.resolve(client[0] if client else "", forwarded),
            ua=ua.decode("latin-1") if ua is not None else None,
            path=scope["path"],
            uri=uri,
            rid=rid,
            dev_mode=self.settings.dev_mode,
        ), events

    def cors_headers(self, origin: bytes | None) -> list[tuple[bytes, bytes]]:
        """CORS headers for an allowed origin; a browser request from any other origin is refused."""
        if origin is None:
            return []
        if not self.cors.allows(origin):
            raise BadRequest(403, "origin not allowed")
        return CorsPolicy.response_headers(origin)

    # the small endpoints

    async def ping(self, scope: dict, send: Send) -> None:
        if scope["method"] == "OPTIONS":
            await self.other_method(scope, None, send)  # type: ignore[arg-type]
            return
        headers = [*JSON, *self.cors_headers(header(scope, b"origin"))]
        body = b'{"timestamp": %.3f}' % time.time()
        self.metrics.count(200)
        await respond(send, 200, body, headers)

    def health_report(self) -> tuple[bool, dict[str, object]]:
        """Unhealthy while stopping, when the spool is full, or when the sink fails and the spool is filling
        (past half its size): a load balancer then routes to other tasks while this one catches up."""
        filling = self.spool.stored_bytes > self.spool.max_bytes // 2
        healthy = not self.stopping and self.spool.has_room() and (self.shipper.healthy or not filling)
        return healthy, {
            "status": "ok" if healthy else "unhealthy",
            "sink": self.sink_name,
            "sink_healthy": self.shipper.healthy,
            "sink_error": self.shipper.last_error,
            "spool_bytes": self.spool.stored_bytes,
            "spool_max_bytes": self.spool.max_bytes,
            "spool_segments": len(self.spool.closed),
        }

    async def health(self, send: Send) -> None:
        healthy, report = self.health_report()
        await respond(send, 200 if healthy else 503, orjson.dumps(report), JSON)

    # refusals

    async def reject(self, send: Send, scope: dict, error: BadRequest) -> None:
        self.metrics.count(error.status)
        client = scope.get("client")
        log.info(
            "request refused",
            extra={"status": error.status, "reason": str(error), "peer": client[0] if client else None},
        )
        extra = [(b"connection", b"close")] if error.status == 413 else []
        await respond(send, error.status, str(error).encode(), [*TEXT, *extra])

    async def unavailable(self, send: Send, scope: dict, reason: str) -> None:
        self.metrics.count(503)
        log.warning("request refused", extra={"status": 503, "reason": reason})
        await respond(send, 503, b"try again later", [*TEXT, *RETRY_AFTER])

    # life cycle

    async def lifespan(self, receive: Receive, send: Send) -> None:
        message = await receive()
        try:
            await self.startup()
        except Exception as error:
            log.exception("collector failed to start")
            await send({"type": "lifespan.startup.failed", "message": str(error)})
            return
        await send({"type": "lifespan.startup.complete"})
        message = await receive()
        if message["type"] == "lifespan.shutdown":
            await self.shutdown(deadline=time.monotonic() + self.settings.grace * 0.6)
            await send({"type": "lifespan.shutdown.complete"})

    async def startup(self) -> None:
        self.spool.open()
        await self.spool.start()
        self.shipper.start()
        self._watcher = asyncio.get_running_loop().create_task(self.watch())
        log.info("collector started", extra={"sink": self.sink_name, "apps": len(self.allow.apps)})

    async def shutdown(self, *, deadline: float) -> None:
        """Refuse new records, make the pending ones durable, and ship what the grace period allows."""
        self.stopping = True
        if self._watcher is not None:
            self._watcher.cancel()
        await self.spool.close()
        log.info("spool closed", extra={"segments": len(self.spool.closed)})
        await self.shipper.stop(deadline=deadline)
        log.info("collector stopped", extra={"left_in_spool": len(self.spool.closed)})

    async def watch(self) -> None:
        """Once a second: reload the allow-list if its file changed, and refresh the spool gauges."""
        while True:
            with contextlib.suppress(Exception):
                self.allow.refresh()
                self.update_gauges()
            await asyncio.sleep(1.0)

    def update_gauges(self) -> None:
        self.metrics.spool_bytes.set(self.spool.stored_bytes)
        self.metrics.spool_segments.set(len(self.spool.closed))
        oldest = self.spool.oldest_epoch()
        self.metrics.spool_age.set(time.time() - oldest if oldest else 0)
        self.metrics.sink_healthy.set(1 if self.shipper.healthy else 0)


def header(scope: dict, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return value
    return None

"""The collector's request handling, independent of the HTTP server (``http.py``) that calls it.

Routes: ``POST|OPTIONS <path>`` (collect), ``GET|POST|OPTIONS /ping``, ``GET /health``, ``GET /metrics``.
A collect request is answered 200 only after its record is durable in the spool (see ``spool.py``): the
handler returns the spool's future, and the server answers when it resolves.
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
from ingestion.exchange import BadRequest, ClientAddress, parse_query
from ingestion.http import Deferred, Request, Response
from ingestion.metrics import Metrics
from ingestion.record import Clock, ClockCache, build_record, new_request_id
from ingestion.shipper import Shipper
from ingestion.sinks import sink_limits
from ingestion.spool import Spool, spool_line

log = logging.getLogger("ingestion.request")
RETRY_AFTER = (b"retry-after", b"5")
JSON = (b"content-type", b"application/json")
TEXT = (b"content-type", b"text/plain; charset=utf-8")
INTEGER_PARAMS = ("upload_timestamp", "event_bundle_sequence_id")


class Collector:
    """Handles requests; ``startup``/``shutdown`` open the spool and run the shipper and allow-list watcher."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.path = settings.path.encode()
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
        self.shipper = Shipper(self.spool, self.metrics, sink_url=settings.sink)
        self.stopping = False
        self._watcher: asyncio.Task[None] | None = None

    # routing

    def handle(self, request: Request) -> Response | Deferred:
        path, method = request.raw_path, request.method
        try:
            if path == self.path:
                return self.collect(request) if method == "POST" else self.preflight(request)
            if path == b"/ping":
                return self.preflight(request) if method == "OPTIONS" else self.ping(request)
            if path == b"/health" and method == "GET":
                return self.health()
            if path == b"/metrics" and method == "GET":
                return Response(200, self.metrics.render(), [(b"content-type", b"text/plain; version=0.0.4")])
            raise BadRequest(404, "no such path")
        except BadRequest as error:
            return self.reject(request.client, error)

    def preflight(self, request: Request) -> Response:
        if request.method != "OPTIONS":
            raise BadRequest(405, f"method {request.method} not allowed")
        origin = request.header(b"origin")
        if origin is None or not self.cors.allows(origin):
            raise BadRequest(403, "preflight from an origin that is not allowed")
        headers = CorsPolicy.preflight_headers(origin, request.header(b"access-control-request-headers"))
        self.metrics.count(204)
        return Response(204, b"", headers)

    # collect

    def collect(self, request: Request) -> Response | Deferred:
        origin = ua = forwarded = None
        for name, value in request.headers:
            if name == b"origin":
                origin = value
            elif name == b"user-agent":
                ua = value
            elif name == b"x-forwarded-for":
                forwarded = value
        headers = self.cors_headers(origin)
        query = parse_query(request.query)
        project_id = self.allow.project_for(query.get("appId"))
        if project_id is None:
            raise BadRequest(403, "unknown app id")
        rid, clock = new_request_id(), self.clock.now()
        record, events = self.record(request, query, ua, forwarded, rid, clock)
        if self.max_record_bytes and len(record) > self.max_record_bytes:
            raise BadRequest(413, f"record over the {self.sink_name} sink's limit")
        if not self.spool.has_room():
            return self.unavailable("spool full" if not self.stopping else "shutting down")
        durable = self.spool.append(spool_line(project_id, clock.hour_key, record))
        accepted = Response(200, b"", [(b"x-request-id", rid.encode()), *headers])
        return durable, lambda done: self.acknowledge(done, accepted, len(request.body), events)

    def acknowledge(self, durable: asyncio.Future, accepted: Response, size: int, events: int) -> Response:
        """Called when the spool's sync finished: 200 if the record is on disk, 503 if the write failed."""
        error = durable.exception()
        if error is not None:
            return self.unavailable(f"spool write failed: {error}")
        self.metrics.accepted(size, events)
        return accepted

    def record(
        self,
        request: Request,
        query: dict[str, str],
        ua: bytes | None,
        forwarded: bytes | None,
        rid: str,
        clock: Clock,
    ) -> tuple[bytes, int]:
        """The raw record of this request and its number of events; refuses bad parameters and bodies."""
        for name in INTEGER_PARAMS:
            value = query.get(name)
            if value and not (value.isascii() and value.isdigit()):  # str.isdigit alone takes "²³"
                raise BadRequest(400, f"{name} is not an integer (ASCII digits only)")
        try:
            data, events = validate_body(request.body, max_inflated=self.settings.max_inflated_bytes)
        except BadBody as error:
            raise BadRequest(error.status, str(error)) from error
        raw_path = request.raw_path.decode("latin-1")
        return build_record(
            clock=clock,
            query=query,
            data=data,
            ip=self.clients.resolve(request.client, forwarded),
            ua=ua.decode("latin-1") if ua is not None else None,
            path=raw_path,
            uri=f"{raw_path}?{request.query.decode('latin-1')}" if request.query else raw_path,
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

    def ping(self, request: Request) -> Response:
        headers = [JSON, *self.cors_headers(request.header(b"origin"))]
        self.metrics.count(200)
        return Response(200, b'{"timestamp": %.3f}' % time.time(), headers)

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

    def health(self) -> Response:
        healthy, report = self.health_report()
        return Response(200 if healthy else 503, orjson.dumps(report), [JSON])

    # refusals

    def reject(self, client: str, error: BadRequest) -> Response:
        self.refused(error.status, str(error), client)
        return Response(error.status, str(error).encode(), [TEXT], close=error.status == 413)

    def refused(self, status: int, reason: str, client: str) -> None:
        """Count and log a refusal (also called by the HTTP server for the ones it answers itself)."""
        self.metrics.count(status)
        log.info("request refused", extra={"status": status, "reason": reason, "peer": client})

    def unavailable(self, reason: str) -> Response:
        self.metrics.count(503)
        log.warning("request refused", extra={"status": 503, "reason": reason})
        return Response(503, b"try again later", [TEXT, RETRY_AFTER])

    # life cycle

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

"""Runs the collector: one process, one event loop (uvloop), the HTTP server of ``http.py``."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import sys
import time

import uvloop

from ingestion.app import Collector
from ingestion.config import Settings
from ingestion.http import Connections, Limits
from ingestion.logs import configure_logging

log = logging.getLogger("ingestion.server")
# The spool's sync thread needs the interpreter lock for a moment after each fsync; with the default 5 ms
# switch interval a busy event loop would make every group commit (and so every ack) wait that long.
SWITCH_INTERVAL = 0.0002


def limits(settings: Settings) -> Limits:
    return Limits(
        max_url_bytes=settings.max_url_bytes,
        max_header_bytes=settings.max_header_bytes,
        max_body_bytes=settings.max_body_bytes,
        header_timeout=settings.header_timeout,
        body_timeout=settings.body_timeout,
        keep_alive=settings.keep_alive,
        max_connections=settings.max_connections,
    )


async def run(settings: Settings) -> None:
    """Serve until SIGTERM/SIGINT: stop accepting (health turns 503), let requests in flight finish, make the
    spool durable, ship what the grace period allows, exit."""
    collector = Collector(settings)
    await collector.startup()
    connections = Connections(collector.handle, limits(settings), collector.refused)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(connections.protocol, settings.host, settings.port, backlog=4096)
    connections.start()
    gc.freeze()  # what start-up allocated lives for good: keep it out of every later collection
    log.info("listening", extra={"host": settings.host, "port": settings.port, "path": settings.path})
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    started = time.monotonic()
    log.info("stopping", extra={"grace": settings.grace})
    collector.stopping = True
    server.close()
    await connections.drain(timeout=settings.grace * 0.3)
    await collector.shutdown(deadline=started + settings.grace * 0.9)


def serve(settings: Settings) -> None:
    configure_logging(settings.log_level)
    sys.setswitchinterval(SWITCH_INTERVAL)
    uvloop.run(run(settings))

"""Runs the collector under uvicorn (httptools + uvloop, one worker), with our protocol guards and logs."""

from __future__ import annotations

import signal
import sys

import uvicorn

from ingestion.app import Collector
from ingestion.config import Settings
from ingestion.logs import configure_logging
from ingestion.protocol import Limits, guarded_protocol

SWITCH_INTERVAL = 0.0002


def uvicorn_config(collector: Collector) -> uvicorn.Config:
    settings = collector.settings
    limits = Limits(
        max_url_bytes=settings.max_url_bytes,
        max_header_bytes=settings.max_header_bytes,
        header_timeout=settings.header_timeout,
        body_timeout=settings.body_timeout,
        on_refusal=collector.metrics.count,
    )
    return uvicorn.Config(
        collector,
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http=guarded_protocol(limits),
        lifespan="on",
        access_log=False,
        proxy_headers=False,  # X-Forwarded-For is ours to judge (--trusted-proxies), not uvicorn's
        log_config=None,
        server_header=False,
        date_header=False,
        timeout_keep_alive=int(settings.keep_alive),
        timeout_graceful_shutdown=max(int(settings.grace * 0.3), 1),
        limit_concurrency=settings.max_connections,
        backlog=4096,
    )


def serve(settings: Settings) -> None:
    """Serve until SIGTERM/SIGINT: stop accepting, finish in-flight requests, flush, ship, exit."""
    configure_logging(settings.log_level)
    # The spool's sync thread needs the interpreter lock for a moment after each fsync; with the default
    # 5 ms switch interval a busy event loop would make every group commit (and every ack) wait that long.
    sys.setswitchinterval(SWITCH_INTERVAL)
    server = uvicorn.Server(uvicorn_config(Collector(settings)))
    # uvicorn re-raises the signal it handled once it has shut down; a no-op handler for SIGTERM makes a
    # clean stop exit with status 0 instead of dying by the signal, so ECS records a normal exit.
    signal.signal(signal.SIGTERM, lambda signum, frame: None)
    server.run()
    if not server.started:
        raise SystemExit(3)

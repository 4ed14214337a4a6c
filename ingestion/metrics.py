"""Prometheus metrics of the collector, in a registry of its own (served at ``/metrics``)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

STATUSES = (200, 204, 400, 403, 404, 405, 408, 413, 414, 431, 503)


class Metrics:
    """Counters and gauges; labelled children are resolved once, so the request path only increments."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        requests = Counter(
            "collector_requests", "Requests by status code", ["status"], registry=self.registry
        )
        self.requests = {status: requests.labels(status=str(status)) for status in STATUSES}
        self._requests = requests
        self.bytes = Counter("collector_body_bytes", "Bytes of accepted bodies", registry=self.registry)
        self.events = Counter("collector_events", "Events in accepted bodies", registry=self.registry)
        self.spool_bytes = Gauge("collector_spool_bytes", "Bytes in the spool", registry=self.registry)
        self.spool_segments = Gauge(
            "collector_spool_segments", "Closed segments waiting", registry=self.registry
        )
        self.spool_age = Gauge(
            "collector_spool_oldest_age_seconds", "Age of the oldest unshipped record", registry=self.registry
        )
        self.sink_latency = Histogram(
            "collector_sink_latency_seconds", "Time to ship one segment", registry=self.registry
        )
        self.sink_errors = Counter(
            "collector_sink_errors", "Failed shipping attempts", registry=self.registry
        )
        self.sink_healthy = Gauge(
            "collector_sink_healthy", "1 when the last shipment succeeded", registry=self.registry
        )

    def count(self, status: int) -> None:
        child = self.requests.get(status)
        if child is None:
            child = self.requests[status] = self._requests.labels(status=str(status))
        child.inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)

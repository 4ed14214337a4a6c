"""Prometheus metrics of the collector, in a registry of its own (served at ``/metrics``).

The request path only adds to plain integers; they become metric families when ``/metrics`` is scraped,
which keeps the per-request cost to a dictionary update instead of prometheus_client's locked counters.
"""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector


class RequestTallies(Collector):
    """Requests by status, body bytes and events, exported as counters at scrape time."""

    def __init__(self) -> None:
        self.statuses: Tally[int] = Tally()
        self.bytes = 0
        self.events = 0

    def collect(self) -> Iterator[CounterMetricFamily]:
        requests = CounterMetricFamily("collector_requests", "Requests by status code", labels=["status"])
        for status, count in sorted(self.statuses.items()):
            requests.add_metric([str(status)], count)
        yield requests
        yield CounterMetricFamily("collector_body_bytes", "Bytes of accepted bodies", value=self.bytes)
        yield CounterMetricFamily("collector_events", "Events in accepted bodies", value=self.events)


class Metrics:
    """Everything ``/metrics`` shows: request tallies, spool depth and age, sink latency and errors."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.tallies = RequestTallies()
        self.registry.register(self.tallies)
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
        self.tallies.statuses[status] += 1

    def accepted(self, body_bytes: int, events: int) -> None:
        tallies = self.tallies
        tallies.statuses[200] += 1
        tallies.bytes += body_bytes
        tallies.events += events

    def render(self) -> bytes:
        return generate_latest(self.registry)

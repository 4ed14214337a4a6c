"""Sinks, chosen by URL: ``file:///path``, ``s3://bucket/prefix``, ``kinesis://stream``, ``kafka://brokers/topic``."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from ingestion.sinks.base import Sink, SinkError

# The largest record each sink takes (Kinesis: 1 MiB with the partition key; Kafka: message.max.bytes).
SINK_LIMITS = {"file": None, "s3": None, "kinesis": 1024 * 1024 - 64, "kafka": 1_000_000 - 512}
USAGE = "use file:///lake, s3://bucket/prefix, kinesis://stream or kafka://host:9092,host2:9092/topic"


def parse_sink_url(url: str) -> tuple[str, str, str]:
    """``(scheme, location, path)`` of a valid sink URL; raises ValueError otherwise."""
    parts = urlsplit(url)
    location, path = parts.netloc, parts.path.strip("/")
    valid = {
        "file": bool(parts.path or location),
        "s3": bool(location),
        "kinesis": bool(location) and not path,
        "kafka": bool(location and path),
    }
    if not valid.get(parts.scheme):
        raise ValueError(f"unsupported sink URL {url!r}: {USAGE}")
    return parts.scheme, location, parts.path if parts.scheme == "file" else path


def sink_limits(url: str) -> tuple[str, int | None]:
    """The sink's name and its largest record, known without building the sink (that lives in the shipping
    process); a bad ``--sink`` fails here, at start-up."""
    scheme = parse_sink_url(url)[0]
    return scheme, SINK_LIMITS[scheme]


def sink_from_url(url: str) -> Sink:
    """Build the sink a ``--sink`` URL names; SDK clients are imported only for the sink in use."""
    scheme, location, path = parse_sink_url(url)
    if scheme == "file":
        from ingestion.sinks.file import FileSink

        return FileSink(Path(location + path))
    if scheme == "s3":
        from ingestion.sinks.s3 import S3Sink

        return S3Sink(location, path)
    if scheme == "kinesis":
        from ingestion.sinks.kinesis import KinesisSink

        return KinesisSink(location)
    from ingestion.sinks.kafka import KafkaSink

    return KafkaSink(location, path)


__all__ = ["Sink", "SinkError", "sink_from_url", "sink_limits"]

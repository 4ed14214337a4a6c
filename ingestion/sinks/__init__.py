"""Sinks, chosen by URL: ``file:///path``, ``s3://bucket/prefix``, ``kinesis://stream``, ``kafka://brokers/topic``."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from ingestion.sinks.base import Sink, SinkError


def sink_from_url(url: str) -> Sink:
    """Build the sink a ``--sink`` URL names; SDK clients are imported only for the sink in use."""
    parts = urlsplit(url)
    if parts.scheme == "file":
        from ingestion.sinks.file import FileSink

        return FileSink(Path(parts.netloc + parts.path))
    if parts.scheme == "s3" and parts.netloc:
        from ingestion.sinks.s3 import S3Sink

        return S3Sink(parts.netloc, parts.path)
    if parts.scheme == "kinesis" and parts.netloc:
        from ingestion.sinks.kinesis import KinesisSink

        return KinesisSink(parts.netloc)
    if parts.scheme == "kafka" and parts.netloc and parts.path.strip("/"):
        from ingestion.sinks.kafka import KafkaSink

        return KafkaSink(parts.netloc, parts.path.strip("/"))
    raise ValueError(
        f"unsupported sink URL {url!r}: use file:///…, s3://bucket/prefix, kinesis://stream or kafka://b1:9092,b2:9092/topic"
    )


__all__ = ["Sink", "SinkError", "sink_from_url"]

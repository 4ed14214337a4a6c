"""The raw-record layout of the lake, shared by every writer of raw data.

One object holds gzip NDJSON, one line per ingested HTTP request, in the original's record layout
(spec/ingestion.md §1.9), under

    clickstream/<project_id>/data/buffer/year=YYYY/month=MM/day=DD/hour=HH/<epoch>-<uuid>.log.gz

The collector's file and S3 sinks write through these functions, and so must the Kinesis-to-S3 function of the
AWS Ingestion stack, so that raw data from every path (and from the original) is interchangeable for the ETL.
"""

from __future__ import annotations

import gzip
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime

OBJECT_SUFFIX = ".log.gz"


def buffer_prefix(project_id: str) -> str:
    """Where a project's raw objects live, relative to the lake root (no leading or trailing slash)."""
    return f"clickstream/{project_id}/data/buffer"


def hour_partition(when: datetime) -> str:
    """The hive-style hour partition of a UTC time: ``year=YYYY/month=MM/day=DD/hour=HH``."""
    when = when.astimezone(UTC)
    return f"year={when.year:04d}/month={when.month:02d}/day={when.day:02d}/hour={when.hour:02d}"


def hour_partition_from_key(hour_key: str) -> str:
    """``YYYYMMDDHH`` (the compact form the spool stores) → ``year=…/month=…/day=…/hour=…``."""
    return f"year={hour_key[0:4]}/month={hour_key[4:6]}/day={hour_key[6:8]}/hour={hour_key[8:10]}"


def object_name(epoch: int, object_id: uuid.UUID) -> str:
    """The original S3 sink's object name: ``<epoch seconds>-<uuid>.log.gz``."""
    return f"{epoch}-{object_id}{OBJECT_SUFFIX}"


def object_key(project_id: str, partition: str, name: str) -> str:
    """The full key of one raw object below the lake root."""
    return f"{buffer_prefix(project_id)}/{partition}/{name}"


def stable_object_id(seed: str, project_id: str, partition: str) -> uuid.UUID:
    """A uuid derived from its inputs, so shipping the same spool segment twice rewrites the same objects
    instead of writing duplicates."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"clickstream:{seed}:{project_id}:{partition}")


def raw_object(
    records: Iterable[bytes], *, project_id: str, partition: str, epoch: int, object_id: uuid.UUID, level: int
) -> tuple[str, bytes]:
    """One raw object: its key below the lake root and its gzip NDJSON content. Every writer of raw data
    (the collector's file and S3 sinks, the Kinesis-to-S3 function) goes through here."""
    return object_key(project_id, partition, object_name(epoch, object_id)), encode_object(
        records, level=level
    )


def encode_object(lines: Iterable[bytes], *, level: int = 6) -> bytes:
    """gzip NDJSON: each line is one compact JSON record without its newline."""
    body = b"".join(line + b"\n" for line in lines)
    return gzip.compress(body, compresslevel=level, mtime=0)


def decode_object(blob: bytes) -> list[bytes]:
    """The lines of a raw object (for tests and tools)."""
    return [line for line in gzip.decompress(blob).split(b"\n") if line]

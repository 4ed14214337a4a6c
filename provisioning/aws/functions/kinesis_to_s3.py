"""Kinesis → S3: each batch of the event source mapping becomes raw objects in the lake layout the ETL reads.

One Kinesis record is one ingested HTTP request (spec/ingestion.md §3.3), so the object's lines are the
records' payloads, gzip NDJSON, written through `ingestion.layout` like every other raw writer. Where the
original partitions by the function's wall clock and names objects by a random uuid, we partition by each
record's arrival hour and derive the name from the batch's sequence numbers: a retried batch (Lambda retries
until success) rewrites the same objects instead of adding duplicates, and a record's hour does not depend on
when the function ran.
"""

from __future__ import annotations

import base64
import os
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from ingestion import layout


def objects_for(records: list[dict[str, Any]]) -> dict[str, bytes]:
    """Object key (below the prefix) → content, one object per arrival hour of the batch."""
    by_hour: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        arrival = datetime.fromtimestamp(float(record["kinesis"]["approximateArrivalTimestamp"]), UTC)
        by_hour[layout.hour_partition(arrival)].append(record)
    out = {}
    for partition, batch in by_hour.items():
        seed = f"{batch[0]['eventID']}..{batch[-1]['eventID']}"
        first = datetime.fromtimestamp(float(batch[0]["kinesis"]["approximateArrivalTimestamp"]), UTC)
        name = layout.object_name(int(first.timestamp()), layout.stable_object_id(seed, "kinesis", partition))
        lines = [base64.b64decode(r["kinesis"]["data"]).rstrip(b"\n") for r in batch]
        out[f"{partition}/{name}"] = layout.encode_object(lines)
    return out


def handler(event: dict[str, Any], context: Any, *, s3: Any = None) -> dict[str, int]:
    import boto3

    s3 = s3 or boto3.client("s3")
    bucket, prefix = os.environ["S3_BUCKET"], os.environ["S3_PREFIX"]
    objects = objects_for(event.get("Records", []))
    for key, body in objects.items():
        s3.put_object(Bucket=bucket, Key=f"{prefix}{key}", Body=body, ContentType="application/gzip")
    return {"records": len(event.get("Records", [])), "objects": len(objects)}

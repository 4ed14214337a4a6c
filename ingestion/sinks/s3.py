"""The S3 sink: gzip NDJSON objects in the lake layout under ``s3://bucket/prefix/``.

Batching by size and time is the spool's segment rolling (``--batch-max-bytes``, ``--batch-seconds``, with
the original's ranges: 1–50 MB uncompressed); one object per project and hour of a segment.
"""

from __future__ import annotations

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from ingestion.sinks.base import SinkError, lake_objects
from ingestion.spool import Segment, SpoolLine


def aws_client(service: str) -> object:
    """A boto3 client with adaptive retries; ``AWS_ENDPOINT_URL`` (an emulator) is honoured by boto3."""
    config = Config(retries={"mode": "adaptive", "max_attempts": 5}, connect_timeout=5, read_timeout=30)
    return boto3.client(service, config=config)


class S3Sink:
    name = "s3"

    def __init__(self, bucket: str, prefix: str, client: object | None = None) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.client = client or aws_client("s3")

    def key(self, lake_key: str) -> str:
        return f"{self.prefix}/{lake_key}" if self.prefix else lake_key

    def put(self, segment: Segment, lines: list[SpoolLine]) -> None:
        for lake_key, blob in lake_objects(segment, lines):
            try:
                self.client.put_object(  # type: ignore[attr-defined]
                    Bucket=self.bucket, Key=self.key(lake_key), Body=blob, ContentType="application/gzip"
                )
            except (BotoCoreError, ClientError) as error:
                raise SinkError(f"s3 put_object failed: {error}") from error

    def close(self) -> None:
        return None

"""The Kinesis sink: one Kinesis record per request (the raw record as JSON), written with PutRecords.

A partial failure retries only the records that failed, with back-off, as Vector's ``request_retry_partial``
does; the segment is confirmed only when every record is in the stream.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from botocore.exceptions import BotoCoreError, ClientError

from ingestion.sinks.base import SinkError
from ingestion.sinks.s3 import aws_client
from ingestion.spool import Segment, SpoolLine

MAX_RECORDS = 500
MAX_REQUEST_BYTES = 5 * 1024 * 1024


class KinesisSink:
    name = "kinesis"

    def __init__(self, stream: str, client: object | None = None, attempts: int = 5) -> None:
        self.stream = stream
        self.client = client or aws_client("kinesis")
        self.attempts = attempts

    def put(self, segment: Segment, lines: list[SpoolLine]) -> None:
        entries: list[dict[str, object]] = [
            {"Data": line.record, "PartitionKey": partition_key(line.record)} for line in lines
        ]
        for batch in batches(entries):
            self.put_batch(batch)

    def put_batch(self, entries: list[dict[str, object]]) -> None:
        for attempt in range(self.attempts):
            try:
                answer = self.client.put_records(StreamName=self.stream, Records=entries)  # type: ignore[attr-defined]
            except (BotoCoreError, ClientError) as error:
                raise SinkError(f"kinesis put_records failed: {error}") from error
            if not answer.get("FailedRecordCount"):
                return
            entries = [
                entry
                for entry, result in zip(entries, answer["Records"], strict=True)
                if "ErrorCode" in result
            ]
            time.sleep(min(0.1 * 2**attempt, 3.0))
        raise SinkError(f"kinesis: {len(entries)} records still failing after {self.attempts} attempts")

    def close(self) -> None:
        return None


def partition_key(record: bytes) -> str:
    """Random spread over shards, like the original's receive-time key: the record's ``rid`` is random."""
    start = record.find(b'"rid":"')
    return record[start + 7 : start + 39].decode() if start >= 0 else str(time.time_ns())


def batches(entries: list[dict[str, object]]) -> Iterator[list[dict[str, object]]]:
    """Split into PutRecords calls of at most 500 records and 5 MiB."""
    batch: list[dict[str, object]] = []
    size = 0
    for entry in entries:
        entry_size = len(entry["Data"]) + len(entry["PartitionKey"])  # type: ignore[arg-type]
        if batch and (len(batch) == MAX_RECORDS or size + entry_size > MAX_REQUEST_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(entry)
        size += entry_size
    if batch:
        yield batch

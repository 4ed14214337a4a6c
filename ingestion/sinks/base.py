"""What every sink is: something that takes a closed spool segment and confirms it, or raises."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Protocol

from ingestion.layout import hour_partition_from_key, raw_object, stable_object_id
from ingestion.spool import Segment, SpoolLine


class SinkError(Exception):
    """The sink did not confirm everything; the segment stays in the spool and is shipped again later."""


class Sink(Protocol):
    """A destination for raw records. ``put`` blocks (the shipper runs it in a thread) and returns only once
    the destination has confirmed every record; shipping the same segment twice must be harmless."""

    name: str

    def put(self, segment: Segment, lines: list[SpoolLine]) -> None: ...

    def close(self) -> None: ...


# zlib's fast levels (1-3) compress JSON records about three times faster than the default 6 for a slightly
# larger object; the raw buffer is transient input of the ETL, so CPU matters more here than bytes.
GZIP_LEVEL = 3


def lake_objects(
    segment: Segment, lines: list[SpoolLine], *, level: int = GZIP_LEVEL
) -> Iterator[tuple[str, bytes]]:
    """One gzip NDJSON object per (project, hour) of a segment, with keys in the lake layout.

    Names are derived from the segment, so re-shipping it after a crash overwrites the same objects."""
    groups: dict[tuple[str, str], list[bytes]] = defaultdict(list)
    for line in lines:
        groups[(line.project_id, line.hour_key)].append(line.record)
    for (project_id, hour_key), records in groups.items():
        partition = hour_partition_from_key(hour_key)
        object_id = stable_object_id(segment.uid, project_id, partition)
        yield raw_object(
            records,
            project_id=project_id,
            partition=partition,
            epoch=segment.epoch,
            object_id=object_id,
            level=level,
        )

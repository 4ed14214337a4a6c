"""The file sink: the local lake, ``<root>/clickstream/<project_id>/data/buffer/…``."""

from __future__ import annotations

import os
from pathlib import Path

from ingestion.sinks.base import lake_objects
from ingestion.spool import Segment, SpoolLine


class FileSink:
    """Writes each object to a hidden temporary name, syncs it, then renames it into place: readers (the ETL)
    never see half an object, and a crash leaves either nothing or the whole object."""

    name = "file"

    def __init__(self, root: Path) -> None:
        self.root = root

    def put(self, segment: Segment, lines: list[SpoolLine]) -> None:
        for key, blob in lake_objects(segment, lines):
            write_atomically(self.root / key, blob)

    def close(self) -> None:
        return None


def write_atomically(path: Path, blob: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")  # hidden from readers such as Spark
    with open(temporary, "wb") as handle:
        handle.write(blob)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)

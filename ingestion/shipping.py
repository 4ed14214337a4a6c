"""The shipping worker: a child process that reads closed spool segments and puts them into the sink.

Reading, grouping and gzipping segments is CPU work; in a process of its own it neither takes the request
path's interpreter lock nor its core. The worker builds its own sink from the ``--sink`` URL.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from ingestion.logs import configure_logging
from ingestion.sinks import Sink, sink_from_url
from ingestion.spool import Segment, read_segment

_sink: Sink | None = None


def start_worker(sink_url: str) -> None:
    """Process-pool initializer: one sink per worker process, kept for its whole life."""
    global _sink
    configure_logging("info")
    _sink = sink_from_url(sink_url)
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()


def _exit_with_parent(parent: int) -> None:
    """A collector killed with SIGKILL cannot stop its worker: the worker notices and exits by itself."""
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(0)


def ship_segment(path: str, seq: int, epoch: int, uid: str) -> int:
    """Put one segment into the sink; return its number of records. Raises if the sink did not confirm."""
    segment = Segment(Path(path), seq, epoch, uid)
    lines = read_segment(segment.path)
    _worker_sink().put(segment, lines)
    return len(lines)


def close_sink() -> None:
    if _sink is not None:
        _sink.close()


def _worker_sink() -> Sink:
    if _sink is None:
        raise RuntimeError("the shipping worker was started without a sink")
    return _sink

"""The spool: a write-ahead log of accepted records, made durable by group commit before a request is acked.

Records are appended to the active segment file. Concurrent requests share one write and one ``fdatasync``
(group commit): while a sync is in flight, new records gather in memory, and the next write takes them all.
A request's future resolves only after the sync that covers its record returns, so a 200 means the record
is on disk. The active segment is rolled (closed, a new one opened) when it reaches a size or an age; closed
segments are what the shipper moves to the sink, and it removes a segment only after the sink confirmed it.

Segment files are named ``<seq>-<epoch>-<uuid>.seg``; each line is ``<project_id>\\t<YYYYMMDDHH>\\t<record>``.
A process killed mid-write may leave a torn last line: the reader skips lines that are not complete.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
import uuid
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

log = logging.getLogger("ingestion.spool")
T = TypeVar("T")
SUFFIX = ".seg"


class SpoolError(OSError):
    """The spool could not make a record durable (disk full, I/O error)."""


@dataclass(slots=True)
class Segment:
    """One segment file of the spool."""

    path: Path
    seq: int
    epoch: int
    uid: str
    size: int = 0

    @classmethod
    def from_path(cls, path: Path) -> Segment | None:
        try:
            seq, epoch, uid = path.name.removesuffix(SUFFIX).split("-")
            return cls(path, int(seq), int(epoch), uid, path.stat().st_size)
        except (ValueError, OSError):
            return None


@dataclass(frozen=True, slots=True)
class SpoolLine:
    """One record read back from a segment."""

    project_id: str
    hour_key: str
    record: bytes


def spool_line(project_id: str, hour_key: str, record: bytes) -> bytes:
    return b"%s\t%s\t%s\n" % (project_id.encode(), hour_key.encode(), record)


def read_segment(path: Path) -> list[SpoolLine]:
    """The complete lines of a segment; a torn final line (crash mid-write) is skipped."""
    lines = []
    for raw in path.read_bytes().split(b"\n"):
        parts = raw.split(b"\t", 2)
        # A record is compact JSON, so it never holds a raw tab: a line that does is two glued together.
        if len(parts) == 3 and raw.endswith(b"}") and len(parts[1]) == 10 and b"\t" not in parts[2]:
            lines.append(SpoolLine(parts[0].decode(), parts[1].decode(), parts[2]))
    return lines


class Spool:
    """Append-only segments with group commit; see the module docstring."""

    def __init__(
        self,
        directory: Path,
        *,
        max_bytes: int,
        segment_bytes: int,
        segment_seconds: float,
        fsync: bool = True,
        commit_interval: float = 0.002,
    ) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self.segment_bytes = segment_bytes
        self.segment_seconds = segment_seconds
        self.fsync = fsync
        self.commit_interval = commit_interval
        self.closed: deque[Segment] = deque()
        self.segment_closed = asyncio.Event()
        self.stored_bytes = 0
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        self._waiters: list[asyncio.Future[None]] = []
        self._wakeup = asyncio.Event()
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="spool")
        self._active: Segment | None = None
        self._fd = -1
        self._next_seq = 0
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    # life cycle

    def open(self) -> None:
        """Recover the segments a previous process left (all closed now) and open a new active one."""
        self.directory.mkdir(parents=True, exist_ok=True)
        found = sorted(filter(None, map(Segment.from_path, self.directory.glob("*" + SUFFIX))), key=_seq)
        for segment in found:
            if segment.size:
                self.closed.append(segment)
                self.stored_bytes += segment.size
            else:
                segment.path.unlink()
        self._next_seq = found[-1].seq + 1 if found else 1
        if self.closed:
            log.info("spool recovered", extra={"segments": len(self.closed), "bytes": self.stored_bytes})
            self.segment_closed.set()
        self._open_active()

    async def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def close(self) -> None:
        """Write what is pending, close the active segment, and stop."""
        self._stopping = True
        self._wakeup.set()
        if self._task is not None:
            await self._task
        await self._roll_active()
        self._executor.shutdown(wait=True)

    # the request path

    def has_room(self) -> bool:
        return not self._stopping and self.stored_bytes + self._pending_bytes < self.max_bytes

    def append(self, line: bytes) -> asyncio.Future[None]:
        """Queue a line; the future resolves once it is on disk (or fails with SpoolError)."""
        future = asyncio.get_running_loop().create_future()
        self._pending.append(line)
        self._pending_bytes += len(line)
        self._waiters.append(future)
        if not self._wakeup.is_set():
            self._wakeup.set()
        return future

    # introspection

    def oldest_epoch(self) -> int | None:
        if self.closed:
            return self.closed[0].epoch
        active = self._active
        return active.epoch if active is not None and active.size else None

    def remove(self, segment: Segment) -> None:
        """The sink has confirmed this segment: forget it."""
        segment.path.unlink(missing_ok=True)
        with contextlib.suppress(ValueError):
            self.closed.remove(segment)
        self.stored_bytes -= segment.size

    # the writer

    async def _run(self) -> None:
        ticker = asyncio.get_running_loop().create_task(self._tick())
        try:
            await self._write_loop()
        finally:
            ticker.cancel()

    async def _tick(self) -> None:
        """Wake the writer now and then, so an idle active segment still rolls when it is old enough."""
        while True:
            await asyncio.sleep(0.25)
            self._wakeup.set()

    async def _write_loop(self) -> None:
        loop = asyncio.get_running_loop()
        last_commit = 0.0
        while not self._stopping or self._pending:
            await self._wakeup.wait()
            # Commits at most every commit_interval: more records share a sync, which costs far less CPU
            # per request than syncing a handful at a time, for at most that much extra latency.
            delay = last_commit + self.commit_interval - loop.time()
            if delay > 0 and not self._stopping:
                await asyncio.sleep(delay)
            self._wakeup.clear()
            last_commit = loop.time()
            await self._flush()
            if self._roll_due():
                await self._roll_active()

    async def _flush(self) -> None:
        while self._pending:
            batch, waiters = self._pending, self._waiters
            self._pending, self._waiters, self._pending_bytes = [], [], 0
            try:
                data = b"".join(batch)
                await self._in_thread(self._write, data)
            except OSError as error:
                log.error("spool write failed", extra={"error": str(error)})
                _settle(waiters, SpoolError(str(error)))
                with contextlib.suppress(OSError):  # a torn line must not be glued to the next one
                    await self._roll_active()
            else:
                self.stored_bytes += len(data)  # counted on the loop's thread, like remove()'s subtraction
                _settle(waiters, None)

    def _roll_due(self) -> bool:
        active = self._active
        if active is None or not active.size:
            return False
        return active.size >= self.segment_bytes or time.time() - active.epoch >= self.segment_seconds

    async def _in_thread(self, function: Callable[..., T], *args: object) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, function, *args)

    async def _roll_active(self) -> None:
        segment = await self._in_thread(self._roll)
        if segment is not None:
            self.closed.append(segment)
            self.segment_closed.set()

    # these run on the spool thread

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        if self.fsync:
            os.fdatasync(self._fd)
        assert self._active is not None
        self._active.size += len(data)

    def _roll(self) -> Segment | None:
        """Close the active segment; return it if it holds records (else it is deleted)."""
        active = self._active
        if active is None:
            return None
        os.close(self._fd)
        self._active, self._fd = None, -1
        if not active.size:
            active.path.unlink(missing_ok=True)
        if not self._stopping:
            self._open_active()
        return active if active.size else None

    def _open_active(self) -> None:
        epoch, uid = int(time.time()), uuid.uuid4().hex
        path = self.directory / f"{self._next_seq:012d}-{epoch}-{uid}{SUFFIX}"
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        if self.fsync:
            _sync_directory(self.directory)
        self._active = Segment(path, self._next_seq, epoch, uid)
        self._next_seq += 1


def _seq(segment: Segment) -> int:
    return segment.seq


def _settle(waiters: list[asyncio.Future[None]], error: BaseException | None) -> None:
    for waiter in waiters:
        if waiter.done():
            continue
        if error is None:
            waiter.set_result(None)
        else:
            waiter.set_exception(error)


def _sync_directory(directory: Path) -> None:
    """Make a created, renamed or removed file name durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

"""The shipper: moves closed spool segments to the sink, oldest first, and removes each one only after the
sink confirmed it. A failure keeps the segment and retries with back-off; the spool absorbs the outage."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from concurrent.futures import ThreadPoolExecutor

from ingestion.metrics import Metrics
from ingestion.sinks import Sink
from ingestion.spool import Segment, Spool, read_segment

log = logging.getLogger("ingestion.shipper")


class Shipper:
    """Runs as one task next to the server; the sink's blocking calls run on a thread of their own."""

    def __init__(self, spool: Spool, sink: Sink, metrics: Metrics, *, max_backoff: float = 5.0) -> None:
        self.spool = spool
        self.sink = sink
        self.metrics = metrics
        self.max_backoff = max_backoff
        self.failures = 0
        self.last_error: str | None = None
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="shipper")
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    @property
    def healthy(self) -> bool:
        return self.failures == 0

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self, *, deadline: float) -> None:
        """Stop the loop, then ship what is left until the deadline; what is not shipped stays spooled."""
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait({self._task}, timeout=1.0)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.drain(), timeout=max(deadline - time.monotonic(), 0.1))
        log.info("shipper stopped", extra={"segments_left": len(self.spool.closed)})
        self._executor.shutdown(wait=False, cancel_futures=True)
        self.sink.close()

    async def drain(self) -> None:
        """Ship every closed segment; give up (leaving it spooled) at the first failure."""
        while self.spool.closed:
            if not await self.ship(self.spool.closed[0]):
                return

    async def _run(self) -> None:
        while not self._stopping:
            self.spool.segment_closed.clear()
            await self.drain()
            if self.failures:
                await asyncio.sleep(min(0.2 * 2 ** min(self.failures, 8), self.max_backoff))
            elif not self.spool.closed:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.spool.segment_closed.wait(), timeout=1.0)

    async def ship(self, segment: Segment) -> bool:
        loop = asyncio.get_running_loop()
        started = time.perf_counter()
        try:
            lines = await loop.run_in_executor(self._executor, read_segment, segment.path)
            await loop.run_in_executor(self._executor, self.sink.put, segment, lines)
        except Exception as error:  # a sink can fail in many ways; all of them mean "keep it spooled"
            self._failed(segment, error)
            return False
        self.metrics.sink_latency.observe(time.perf_counter() - started)
        self.spool.remove(segment)
        if self.failures:
            log.info("sink recovered", extra={"sink": self.sink.name, "failures": self.failures})
        self.failures, self.last_error = 0, None
        log.debug("segment shipped", extra={"segment": segment.path.name, "records": len(lines)})
        return True

    def _failed(self, segment: Segment, error: Exception) -> None:
        self.failures += 1
        self.last_error = str(error)
        self.metrics.sink_errors.inc()
        log.warning(
            "sink failed, segment kept in the spool",
            extra={"sink": self.sink.name, "segment": segment.path.name, "error": str(error)[:500]},
        )

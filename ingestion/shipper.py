"""The shipper: moves closed spool segments to the sink, oldest first, and removes each one only after the
sink confirmed it. A failure keeps the segment and retries with back-off; the spool absorbs the outage.

The sink's work runs in a child process (``shipping.py``) so that gzip and the SDK clients never compete
with the request path for the interpreter lock or its core."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import time
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from ingestion.metrics import Metrics
from ingestion.shipping import close_sink, ship_segment, start_worker
from ingestion.spool import Segment, Spool

log = logging.getLogger("ingestion.shipper")


class Shipper:
    """Runs as one task next to the server."""

    def __init__(self, spool: Spool, metrics: Metrics, *, sink_url: str, max_backoff: float = 5.0) -> None:
        self.spool = spool
        self.metrics = metrics
        self.sink_url = sink_url
        self.max_backoff = max_backoff
        self.failures = 0
        self.last_error: str | None = None
        self._executor: Executor | None = None
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
        await self._close_executor()

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
        started = time.perf_counter()
        try:
            records = await self._put(segment)
        except Exception as error:  # a sink can fail in many ways; all of them mean "keep it spooled"
            self._failed(segment, error)
            return False
        self.metrics.sink_latency.observe(time.perf_counter() - started)
        self.spool.remove(segment)
        if self.failures:
            log.info("sink recovered", extra={"failures": self.failures})
        self.failures, self.last_error = 0, None
        log.debug("segment shipped", extra={"segment": segment.path.name, "records": records})
        return True

    async def _put(self, segment: Segment) -> int:
        loop = asyncio.get_running_loop()
        executor = self._executor or self._new_executor()
        try:
            args = (str(segment.path), segment.seq, segment.epoch, segment.uid)
            return await loop.run_in_executor(executor, ship_segment, *args)
        except BrokenProcessPool:
            self._executor = None  # the worker died; a new one is started for the next attempt
            raise

    def _new_executor(self) -> Executor:
        context = multiprocessing.get_context("spawn")
        self._executor = ProcessPoolExecutor(1, context, initializer=start_worker, initargs=(self.sink_url,))
        return self._executor

    async def _close_executor(self) -> None:
        executor, self._executor = self._executor, None
        if executor is None:
            return
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.get_running_loop().run_in_executor(executor, close_sink), 10)
        executor.shutdown(wait=False, cancel_futures=True)

    def _failed(self, segment: Segment, error: Exception) -> None:
        self.failures += 1
        self.last_error = str(error)[:500]
        self.metrics.sink_errors.inc()
        log.warning(
            "sink failed, segment kept in the spool",
            extra={"segment": segment.path.name, "error": self.last_error},
        )

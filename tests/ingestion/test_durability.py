"""Nothing acknowledged is lost: kill -9 under load, sink outage, full spool, SIGTERM."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.ingestion.conftest import CollectorProcess, lake_records, wait_until
from tests.ingestion.helpers import mobile_body, mobile_query, records_by_rid, web_body

pytestmark = pytest.mark.slow
APPS = ("--app-ids", "shop_web,shop_android", "--project-id", "shop")


class Load:
    """Threads posting web and mobile requests as fast as they can; keeps the request id of every 200."""

    def __init__(self, url: str, threads: int = 4) -> None:
        self.url = url
        self.acknowledged: set[str] = set()
        self.statuses: dict[int, int] = {}
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run, args=(i,), daemon=True) for i in range(threads)]

    def __enter__(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=15)

    def run(self, index: int) -> None:
        with httpx.Client(timeout=5) as client:
            while not self.stop.is_set():
                self.send(client, index)

    def send(self, client: httpx.Client, index: int) -> None:
        if index % 2:
            body: str | bytes = mobile_body(2)
            url = f"{self.url}/collect?{mobile_query(body)}"  # type: ignore[arg-type]
        else:
            body, url = web_body(2), f"{self.url}/collect?appId=shop_web&platform=Web"
        try:
            answer = client.post(url, content=body)
        except httpx.HTTPError:
            time.sleep(0.01)
            return
        with self.lock:
            self.statuses[answer.status_code] = self.statuses.get(answer.status_code, 0) + 1
            if answer.status_code == 200:
                self.acknowledged.add(answer.headers["x-request-id"])


def test_kill_9_under_load_loses_no_acknowledged_request(start_collector: object) -> None:
    collector: CollectorProcess = start_collector(*APPS, "--batch-seconds", "1")  # type: ignore[operator]
    with Load(collector.url) as load:
        time.sleep(2.0)
        collector.stop(signal.SIGKILL)
        time.sleep(0.3)
    assert len(load.acknowledged) > 100, load.statuses
    collector.start()  # the same spool: the leftovers are shipped on start-up
    found = records_by_rid(collector.lake, load.acknowledged, timeout=30)
    assert set(found) == load.acknowledged
    collector.stop()


def test_sink_outage_fills_the_spool_then_503_then_recovers(start_collector: object, tmp_path: Path) -> None:
    blocker = tmp_path / "lake"
    blocker.write_text("a file where the lake directory should be: every write to the sink fails")
    collector: CollectorProcess = start_collector(  # type: ignore[operator]
        *APPS, "--batch-seconds", "1", "--batch-max-bytes", "1000000", "--spool-max-bytes", "400000"
    )
    acknowledged, statuses = set(), []
    with httpx.Client(timeout=5) as client:
        for _ in range(400):
            answer = client.post(f"{collector.url}/collect?appId=shop_web", content=web_body(5))
            statuses.append(answer.status_code)
            if answer.status_code == 200:
                acknowledged.add(answer.headers["x-request-id"])
            else:
                assert answer.status_code == 503 and answer.headers["retry-after"]
                break
        assert statuses[-1] == 503, "a full spool answers 503"
        assert client.get(f"{collector.url}/health").status_code == 503, "a full spool is unhealthy at once"
        # the spool may fill before the shipper's first attempt (batches are due every second): wait for it
        wait_until(lambda: client.get(f"{collector.url}/health").json()["sink_healthy"] is False, timeout=10)
        health = client.get(f"{collector.url}/health")
        assert health.status_code == 503 and health.json()["sink_error"]
        blocker.unlink()  # the sink comes back
        found = records_by_rid(collector.lake, acknowledged, timeout=30)
        assert set(found) == acknowledged
        wait_until(lambda: client.get(f"{collector.url}/health").status_code == 200, timeout=10)
        assert client.post(f"{collector.url}/collect?appId=shop_web", content=web_body()).status_code == 200
    assert collector.stop() == 0


def test_sigterm_flushes_the_spool_to_the_sink_and_exits_in_time(start_collector: object) -> None:
    collector: CollectorProcess = start_collector(*APPS, "--batch-seconds", "600", "--grace", "10")  # type: ignore[operator]
    rids = set()
    with httpx.Client(timeout=5) as client:
        for _ in range(50):
            answer = client.post(f"{collector.url}/collect?appId=shop_web", content=web_body())
            rids.add(answer.headers["x-request-id"])
    assert not lake_records(collector.lake), "nothing is shipped before the batch is due"
    started = time.monotonic()
    assert collector.stop(signal.SIGTERM, timeout=15) == 0
    assert time.monotonic() - started < 10
    assert {record["rid"] for record in lake_records(collector.lake)} == rids
    assert not list(collector.spool.glob("*.seg")), "the spool is empty after a clean stop"

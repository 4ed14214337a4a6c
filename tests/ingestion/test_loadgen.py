"""`python -m ingestion.loadgen` against a real collector: every request it says it sent is in the lake,
with the events it counted, shaped as the SDKs send them; bad flags are refused with a message."""

from __future__ import annotations

import base64
import gzip
import json
import subprocess
import sys

import orjson
import pytest

from ingestion.loadgen import Traffic
from tests.conftest import REPO_DIR
from tests.ingestion.conftest import lake_records, wait_until


def loadgen(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "ingestion.loadgen", *args]
    return subprocess.run(command, cwd=REPO_DIR, capture_output=True, text=True, timeout=60)


def body_events(record: dict) -> list[dict]:
    data = record["data"]
    return orjson.loads(data if data.startswith("[") else gzip.decompress(base64.b64decode(data)))


def test_a_fixed_set_lands_in_the_lake_as_counted(start_collector):  # type: ignore[no-untyped-def]
    collector = start_collector("--app-ids", "web,ios", "--project-id", "shop", "--batch-seconds", "1",
                                "--trusted-proxies", "127.0.0.1")  # fmt: skip
    done = loadgen("--endpoint", f"{collector.url}/collect", "--app-id", "web", "--app-id", "ios",
                   "--platform", "Web", "--platform", "iOS", "--users", "12")  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["accepted"] == report["requests"] > 12 and report["refused"] == {}
    wait_until(lambda: len(lake_records(collector.lake)) == report["requests"], timeout=20, interval=0.3)
    records = lake_records(collector.lake)
    events = [event for record in records for event in body_events(record)]
    names: dict[str, int] = {}
    for event in events:
        names[event["event_type"]] = names.get(event["event_type"], 0) + 1
    assert names == report["events_by_name"]
    mobile = [r for r in records if r["appId"] == "ios"]
    assert mobile and all(r["compression"] == "gzip" and r["client_timestamp"] for r in mobile)
    assert len({r["ip"] for r in records}) > 1  # several countries, through the trusted loopback proxy


def test_paced_mode_sends_for_the_duration(start_collector):  # type: ignore[no-untyped-def]
    collector = start_collector("--app-ids", "web", "--project-id", "shop")
    done = loadgen(
        "--endpoint", f"{collector.url}/collect", "--app-id", "web", "--rate", "20", "--duration", "1"
    )
    report = json.loads(done.stdout)
    assert done.returncode == 0 and 5 <= report["accepted"] == report["requests"] <= 21


def test_refused_requests_are_counted_and_fail_the_run(start_collector):  # type: ignore[no-untyped-def]
    collector = start_collector("--app-ids", "web", "--project-id", "shop")
    done = loadgen("--endpoint", f"{collector.url}/collect", "--app-id", "other", "--users", "2")
    assert done.returncode == 1 and json.loads(done.stdout)["refused"] == {
        "403": json.loads(done.stdout)["requests"]
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rate", "0"], "--rate must be"),
        (["--users", "0"], "--users must be"),
        (["--platform", "Web", "--platform", "iOS"], "one --platform per --app-id"),
    ],
)
def test_bad_flags_are_refused(args, message):  # type: ignore[no-untyped-def]
    done = loadgen("--endpoint", "http://127.0.0.1:9/collect", "--app-id", "web", *args)
    assert done.returncode != 0 and message in done.stderr


def test_history_stays_within_what_the_etl_keeps():
    now = 1_800_000_000_000
    requests = Traffic({"Web": "web"}, seed=3).history(users=50, days=7, now_ms=now)
    stamps = [event["timestamp"] for request in requests for event in request.events]
    assert max(stamps) < now and min(stamps) >= now - 60 * 3_600_000
    sessions = [e for r in requests for e in r.events if e["event_type"] == "_session_start"]
    assert any(e["attributes"]["_session_number"] == 2 for e in sessions)  # returning users

"""Fuzzing the collector over HTTP: whatever arrives, the answer is a 2xx or 4xx (503 only under back-pressure),
never another 5xx, and the collector keeps serving."""

from __future__ import annotations

import base64
import gzip
import json
import re
from pathlib import Path
from urllib.parse import quote

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.ingestion.conftest import CollectorProcess

ALLOWED = {200, 400, 403, 404, 405, 413, 414, 431}
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)


def as_mobile(value: object) -> bytes:
    return base64.b64encode(gzip.compress(json.dumps(value).encode()))


bodies = st.one_of(
    st.binary(max_size=2000),
    json_values.map(lambda value: json.dumps(value).encode()),
    st.lists(st.dictionaries(st.text(max_size=8), json_values, max_size=4), max_size=5).map(
        lambda events: json.dumps(events).encode()
    ),
    json_values.map(as_mobile),
    st.binary(max_size=500).map(base64.b64encode),
    st.binary(max_size=300).map(lambda raw: base64.b64encode(gzip.compress(raw))[: len(raw) // 2]),
)
query_values = st.text(max_size=30).map(lambda text: quote(text, safe=""))
queries = st.lists(
    st.tuples(
        st.sampled_from(["appId", "platform", "upload_timestamp", "compression", "fakeIp", "x"]), query_values
    ),
    max_size=6,
).map(lambda pairs: "&".join(f"{key}={value}" for key, value in [("appId", "shop_web"), *pairs]))
header_values = st.text(st.characters(min_codepoint=33, max_codepoint=126), max_size=200)
headers = st.dictionaries(
    st.sampled_from(["Origin", "User-Agent", "X-Forwarded-For", "Content-Type", "Cookie", "X-Other"]),
    header_values,
    max_size=4,
)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    method=st.sampled_from(["POST", "POST", "POST", "GET", "OPTIONS", "PUT"]),
    path=st.sampled_from(["/collect", "/collect", "/ping", "/health", "/other"]),
    query=queries,
    body=bodies,
    extra_headers=headers,
)
def test_no_input_breaks_the_collector(
    shared_collector: CollectorProcess, method: str, path: str, query: str, body: bytes, extra_headers: dict
) -> None:
    answer = httpx.request(
        method, f"{shared_collector.url}{path}?{query}", content=body, headers=extra_headers, timeout=10
    )
    assert answer.status_code in ALLOWED, (answer.status_code, answer.text)


def test_the_collector_is_still_healthy_after_the_fuzzing(shared_collector: CollectorProcess) -> None:
    assert httpx.get(f"{shared_collector.url}/health").json()["status"] == "ok"
    assert shared_collector.process is not None and shared_collector.process.poll() is None
    errors = [line for line in shared_collector.logs() if line["level"] in {"error", "critical"}]
    assert not errors, errors[:3]


def test_bad_inputs_cost_bounded_memory(shared_collector: CollectorProcess) -> None:
    bomb = base64.b64encode(gzip.compress(b"[" + b" " * 300_000_000 + b"]", compresslevel=9))
    too_big = b"[" + b"1," * 700_000 + b"1]"
    with httpx.Client(timeout=10) as client:
        for _ in range(10):
            assert (
                client.post(f"{shared_collector.url}/collect?appId=shop_web", content=bomb).status_code == 413
            )
            assert (
                client.post(f"{shared_collector.url}/collect?appId=shop_web", content=too_big).status_code
                == 413
            )
    assert shared_collector.process is not None
    status = Path(f"/proc/{shared_collector.process.pid}/status").read_text()
    resident_kib = int(re.search(r"VmHWM:\s+(\d+) kB", status)[1])  # type: ignore[index]
    assert resident_kib < 200 * 1024, f"peak resident memory {resident_kib} KiB"

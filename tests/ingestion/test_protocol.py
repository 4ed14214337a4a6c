"""The wire protocol against a running collector (spec/ingestion.md §1–§4, §7)."""

from __future__ import annotations

import base64
import gzip
import json
import re
import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.ingestion.conftest import CollectorProcess
from tests.ingestion.helpers import mobile_body, mobile_query, records_by_rid, web_body

EXPECTED_KEYS = {
    "appId", "client_timestamp", "compression", "data", "date", "fakeIp", "ingest_time", "ip", "method",
    "path", "platform", "rid", "server_ingest_time", "source_type", "timestamp", "ua", "uri",
}  # fmt: skip


def post(collector: CollectorProcess, query: str, body: bytes | str, **headers: str) -> httpx.Response:
    return httpx.post(f"{collector.url}/collect?{query}", content=body, headers=headers, timeout=10)


def test_mobile_gzip_base64_request_is_recorded_field_by_field(shared_collector: CollectorProcess) -> None:
    body = mobile_body()
    query = mobile_query(body, sequence=7, upload=1714566896123)
    started = int(time.time())
    answer = post(
        shared_collector, query, body, **{"User-Agent": "okhttp/4.12", "Content-Type": "application/json"}
    )
    assert answer.status_code == 200
    assert answer.content == b""
    rid = answer.headers["x-request-id"]
    record = records_by_rid(shared_collector.lake, {rid})[rid]
    assert set(record) == EXPECTED_KEYS
    assert list(record) == sorted(record), "keys are written in sorted order, as Vector's JSON codec does"
    assert record["appId"] == "shop_android"
    assert record["platform"] == "Android"
    assert record["compression"] == "gzip"
    assert record["client_timestamp"] == "1714566896123"
    assert record["data"] == body
    assert json.loads(gzip.decompress(base64.b64decode(record["data"])))[0]["app_id"] == "shop_android"
    assert record["fakeIp"] is None
    assert record["ip"] == "127.0.0.1"
    assert record["method"] == "POST"
    assert record["path"] == "/collect"
    assert record["uri"] == f"/collect?{query}"
    assert re.fullmatch(r"[0-9a-f]{32}", record["rid"])
    assert record["source_type"] == "http_server"
    assert record["ua"] == "okhttp/4.12"
    assert record["ingest_time"] == record["server_ingest_time"]
    assert record["ingest_time"] % 1000 == 0 and abs(record["ingest_time"] // 1000 - started) <= 2
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", record["date"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", record["timestamp"])


def test_web_request_keeps_the_body_verbatim_and_marks_upload_timestamp_absent(
    shared_collector: CollectorProcess,
) -> None:
    body = web_body(5)
    answer = post(shared_collector, "platform=Web&appId=shop_web&event_bundle_sequence_id=1", body)
    assert answer.status_code == 200
    rid = answer.headers["x-request-id"]
    record = records_by_rid(shared_collector.lake, {rid})[rid]
    assert record["data"] == body.decode()
    assert record["upload_timestamp"] is None and "client_timestamp" not in record
    assert record["compression"] is None and record["ua"] is not None


def test_the_lake_layout_is_the_originals(shared_collector: CollectorProcess) -> None:
    answer = post(shared_collector, "appId=shop_web&platform=Web", web_body())
    records_by_rid(shared_collector.lake, {answer.headers["x-request-id"]})
    paths = [p.relative_to(shared_collector.lake).as_posix() for p in shared_collector.lake.rglob("*.log.gz")]
    pattern = (
        r"clickstream/shop/data/buffer/year=\d{4}/month=\d\d/day=\d\d/hour=\d\d/\d{10}-[0-9a-f-]{36}\.log\.gz"
    )
    assert paths and all(re.fullmatch(pattern, path) for path in paths), paths


def test_ping_answers_a_timestamp(shared_collector: CollectorProcess) -> None:
    answer = httpx.get(f"{shared_collector.url}/ping")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    assert abs(answer.json()["timestamp"] - time.time()) < 5


def test_health_reports_the_sink(shared_collector: CollectorProcess) -> None:
    answer = httpx.get(f"{shared_collector.url}/health")
    assert answer.status_code == 200
    assert answer.json()["status"] == "ok" and answer.json()["sink"] == "file"


@pytest.mark.parametrize(
    ("query", "body", "status"),
    [
        ("appId=someone_else", web_body(), 403),
        ("platform=Web", web_body(), 403),
        ("appId=shop_web", b"[{]", 400),
        ("appId=shop_web", b'{"event_type": "x"}', 400),
        ("appId=shop_web", b"[1, 2]", 400),
        ("appId=shop_web", b"[]", 400),
        ("appId=shop_web", b"[\xff\xfe]", 400),
        ("appId=shop_web", b"not base64 at all!", 400),
        ("appId=shop_web", base64.b64encode(b"not gzip"), 400),
        ("appId=shop_web", base64.b64encode(gzip.compress(web_body())[:-12]), 400),
        ("appId=shop_web", base64.b64encode(gzip.compress(b"[{}, oops")), 400),
        ("appId=shop_web&upload_timestamp=yesterday", web_body(), 400),
        ("appId=shop_web&upload_timestamp=%C2%B2%C2%B3", web_body(), 400),
        ("appId=shop_web&event_bundle_sequence_id=\u0663", web_body(), 400),
        ("appId=shop_web", base64.b64encode(gzip.compress(web_body()) + b"trailing"), 400),
        ("appId=shop_web", base64.b64encode(gzip.compress(b'[{"a": "\xff"}]')), 400),
        ("appId=shop_web", b"", 400),
    ],
    ids=[
        "unknown-app", "no-app", "malformed-json", "object-not-array", "array-of-numbers", "empty-array",
        "invalid-utf8", "bad-base64", "base64-not-gzip", "truncated-gzip", "gzip-of-bad-json",
        "non-integer-upload-timestamp", "superscript-digits", "arabic-indic-digit", "gzip-trailing-garbage",
        "inflated-not-utf8", "empty-body",
    ],
)  # fmt: skip
def test_bad_requests_get_their_status(
    shared_collector: CollectorProcess, query: str, body: bytes, status: int
) -> None:
    assert post(shared_collector, query, body).status_code == status


def test_a_gzip_bomb_stops_at_the_inflate_cap(shared_collector: CollectorProcess) -> None:
    bomb = base64.b64encode(gzip.compress(b"[" + b" " * 200_000_000 + b"]", compresslevel=9))
    assert len(bomb) < 1024 * 1024
    started = time.monotonic()
    answer = post(shared_collector, "appId=shop_web", bomb)
    assert answer.status_code == 413 and "inflates to more than" in answer.text
    assert time.monotonic() - started < 2


def test_a_bomb_in_a_second_gzip_member_gets_413(shared_collector: CollectorProcess) -> None:
    """Only the first member was inflated: this body was answered 200 and the ETL inflated the bomb."""
    small = gzip.compress(json.dumps([{"event_type": "x"}]).encode())
    bomb = base64.b64encode(small + gzip.compress(b" " * 200_000_000, compresslevel=9))
    answer = post(shared_collector, "appId=shop_web", bomb)
    assert answer.status_code == 413 and "inflates to more than" in answer.text


def test_a_refusal_says_why(shared_collector: CollectorProcess) -> None:
    answer = post(shared_collector, "appId=shop_web&upload_timestamp=%C2%B2%C2%B3", web_body())
    assert (
        answer.status_code == 400 and answer.text == "upload_timestamp is not an integer (ASCII digits only)"
    )
    answer = post(shared_collector, "appId=shop_web", base64.b64encode(gzip.compress(web_body()) + b"junk"))
    assert answer.status_code == 400 and "trailing data after the gzip stream" in answer.text


def test_bodies_over_one_megabyte_get_413(shared_collector: CollectorProcess) -> None:
    big = b"[" + b'{"a": 1},' * 120_000 + b'{"a": 1}]'
    assert post(shared_collector, "appId=shop_web", big).status_code == 413

    def chunks() -> Iterator[bytes]:
        for _ in range(200):
            yield b" " * 8192

    chunked = httpx.post(f"{shared_collector.url}/collect?appId=shop_web", content=chunks(), timeout=10)
    assert chunked.status_code == 413


def test_half_a_megabyte_the_sdk_limit_is_accepted(shared_collector: CollectorProcess) -> None:
    body = json.dumps([{"event_id": str(i), "pad": "x" * 500} for i in range(1000)]).encode()
    assert 500_000 < len(body) < 1024 * 1024
    assert post(shared_collector, "appId=shop_web", body).status_code == 200


def raw_exchange(collector: CollectorProcess, payload: bytes, wait: float = 5.0) -> bytes:
    with socket.create_connection(("127.0.0.1", collector.port), timeout=wait) as sock:
        sock.sendall(payload)
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except (TimeoutError, ConnectionResetError):
                break
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)


def test_extreme_query_strings_and_headers_are_refused(shared_collector: CollectorProcess) -> None:
    long_query = b"POST /collect?appId=shop_web&x=" + b"a" * 100_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    assert raw_exchange(shared_collector, long_query).startswith(b"HTTP/1.1 414")
    headers = b"".join(b"X-Pad-%d: %s\r\n" % (i, b"b" * 1000) for i in range(100))
    big_head = b"POST /collect?appId=shop_web HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\n"
    assert raw_exchange(shared_collector, big_head).startswith(b"HTTP/1.1 431")
    assert raw_exchange(shared_collector, b"GARBAGE\r\n\r\n").startswith(b"HTTP/1.1 400")


def test_slow_headers_and_slow_bodies_time_out(shared_collector: CollectorProcess) -> None:
    started = time.monotonic()
    assert raw_exchange(shared_collector, b"POST /collect?appId=shop_web HTTP/1.1\r\nHo").startswith(
        b"HTTP/1.1 408"
    )
    slow_body = b"POST /collect?appId=shop_web HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n[{"
    assert raw_exchange(shared_collector, slow_body).startswith(b"HTTP/1.1 408")
    assert time.monotonic() - started < 4, "the test collector's timeouts are 1 s"
    assert httpx.get(f"{shared_collector.url}/ping").status_code == 200


def test_preflight_is_answered_locally_for_allowed_origins(shared_collector: CollectorProcess) -> None:
    before = len(list(shared_collector.lake.rglob("*.log.gz")))
    for origin in ("https://shop.example", "https://www.example.com", "http://a.b.example.com:8080"):
        answer = httpx.options(
            f"{shared_collector.url}/collect?appId=shop_web",
            headers={"Origin": origin, "Access-Control-Request-Method": "POST",
                     "Access-Control-Request-Headers": "content-type"},
        )  # fmt: skip
        assert answer.status_code == 204
        assert answer.headers["access-control-allow-origin"] == origin
        assert answer.headers["access-control-allow-credentials"] == "true"
        assert "POST" in answer.headers["access-control-allow-methods"]
        assert answer.headers["access-control-allow-headers"] == "content-type"
    time.sleep(1.5)
    assert len(list(shared_collector.lake.rglob("*.log.gz"))) == before, "preflights are never persisted"


@pytest.mark.parametrize(
    "origin", ["https://evil.example", "https://example.com.evil.net", "https://shop.example.evil", "null"]
)
def test_other_origins_get_no_cors(shared_collector: CollectorProcess, origin: str) -> None:
    preflight = httpx.options(f"{shared_collector.url}/collect", headers={"Origin": origin})
    assert preflight.status_code == 403
    assert "access-control-allow-origin" not in preflight.headers
    answer = post(shared_collector, "appId=shop_web", web_body(), Origin=origin)
    assert answer.status_code == 403


def test_an_allowed_origin_is_echoed_on_collect_and_ping(shared_collector: CollectorProcess) -> None:
    answer = post(shared_collector, "appId=shop_web", web_body(), Origin="https://shop.example")
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == "https://shop.example"
    assert answer.headers["access-control-allow-credentials"] == "true"
    ping = httpx.get(f"{shared_collector.url}/ping", headers={"Origin": "https://m.example.com"})
    assert ping.headers["access-control-allow-origin"] == "https://m.example.com"


def test_forwarded_for_is_honoured_only_from_trusted_proxies(shared_collector: CollectorProcess) -> None:
    # The test collector trusts 127.0.0.1 and 10.0.0.0/8: the client is the right-most untrusted hop.
    answer = post(
        shared_collector, "appId=shop_web", web_body(), **{"X-Forwarded-For": "6.6.6.6, 1.2.3.4, 10.1.2.3"}
    )
    rid = answer.headers["x-request-id"]
    assert records_by_rid(shared_collector.lake, {rid})[rid]["ip"] == "1.2.3.4"


def test_other_methods_and_paths(shared_collector: CollectorProcess) -> None:
    assert httpx.get(f"{shared_collector.url}/collect?appId=shop_web").status_code == 405
    assert httpx.get(f"{shared_collector.url}/elsewhere").status_code == 404


def test_metrics_count_requests_bytes_events_and_the_spool(shared_collector: CollectorProcess) -> None:
    post(shared_collector, "appId=shop_web", web_body(4))
    post(shared_collector, "appId=nobody", web_body())
    text = httpx.get(f"{shared_collector.url}/metrics").text
    assert re.search(r'collector_requests_total\{status="200"\} [1-9]', text)
    assert re.search(r'collector_requests_total\{status="403"\} [1-9]', text)
    assert re.search(r"collector_events_total [1-9]", text)
    assert re.search(r"collector_body_bytes_total [1-9]", text)
    for name in (
        "collector_spool_bytes",
        "collector_spool_oldest_age_seconds",
        "collector_sink_latency_seconds",
    ):
        assert name in text


def test_refusals_are_logged_as_json(shared_collector: CollectorProcess) -> None:
    post(shared_collector, "appId=shop_web", b"[{]")
    time.sleep(0.2)
    refusals = [line for line in shared_collector.logs() if line.get("message") == "request refused"]
    assert any(line["status"] == 400 and "malformed JSON" in line["reason"] for line in refusals)


def test_pipelined_requests_are_answered_in_order(shared_collector: CollectorProcess) -> None:
    body = web_body()
    one = b"POST /collect?appId=shop_web HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s" % (
        len(body),
        body,
    )
    last = b"GET /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    answer = raw_exchange(shared_collector, one * 3 + last)
    statuses = re.findall(rb"HTTP/1.1 (\d+)", answer)
    assert statuses == [b"200", b"200", b"200", b"200"]
    assert answer.rstrip().endswith(b"}"), "the ping's answer comes last"


def test_expect_100_continue_is_honoured(shared_collector: CollectorProcess) -> None:
    body = web_body()
    head = (
        b"POST /collect?appId=shop_web HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nConnection: close\r\n"
    )
    with socket.create_connection(("127.0.0.1", shared_collector.port), timeout=5) as sock:
        sock.sendall(head + b"Content-Length: %d\r\n\r\n" % len(body))
        assert sock.recv(100).startswith(b"HTTP/1.1 100 Continue")
        sock.sendall(body)
        assert sock.recv(1000).startswith(b"HTTP/1.1 200")

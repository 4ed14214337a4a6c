"""The collector's pieces on their own: allow-list, CORS, body checks, record layout, settings."""

from __future__ import annotations

import base64
import gzip
import ipaddress
import json
import os
import re
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from ingestion.allowlist import AllowList, AllowListError, parse_apps, static_apps
from ingestion.body import MAX_MEMBERS, BadBody, BodyTooLarge, validate_body
from ingestion.config import build_parser, settings_from_args
from ingestion.cors import CorsPolicy
from ingestion.exchange import ClientAddress, parse_query
from ingestion.layout import decode_object, encode_object, hour_partition, object_key, object_name
from ingestion.record import ClockCache, build_record
from ingestion.spool import read_segment, spool_line
from tests.ingestion.conftest import CollectorProcess, wait_until
from tests.ingestion.helpers import web_body


def test_allow_list_file_format_and_validation() -> None:
    assert parse_apps({"apps": {"shop_web": {"project_id": "shop"}}}) == {"shop_web": "shop"}
    bad: Any
    for bad in (
        {},
        {"apps": []},
        {"apps": {"1bad": {"project_id": "p"}}},
        {"apps": {"ok": {"project_id": "Bad"}}},
    ):
        with pytest.raises(AllowListError):
            parse_apps(bad)
    with pytest.raises(AllowListError):
        static_apps(["a"], None)


def test_allow_list_reloads_when_the_file_changes_and_keeps_the_old_list_on_errors(tmp_path: Path) -> None:
    path = tmp_path / "apps.json"
    allow = AllowList({"static_app": "p0"}, path)
    assert allow.project_for("static_app") == "p0" and allow.project_for("shop_web") is None
    path.write_text(json.dumps({"apps": {"shop_web": {"project_id": "shop"}}}))
    assert allow.refresh() and allow.project_for("shop_web") == "shop"
    path.write_text("{not json")
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 10**9))
    assert not allow.refresh() and allow.project_for("shop_web") == "shop"


def test_the_collector_picks_up_a_new_allow_list_without_restarting(
    start_collector: object, tmp_path: Path
) -> None:
    apps = tmp_path / "apps.json"
    apps.write_text(json.dumps({"apps": {"old_app": {"project_id": "p1"}}}))
    collector: CollectorProcess = start_collector("--app-ids-file", str(apps))  # type: ignore[operator]
    url = f"{collector.url}/collect?appId=new_app"
    assert httpx.post(url, content=web_body()).status_code == 403
    apps.write_text(json.dumps({"apps": {"old_app": {"project_id": "p1"}, "new_app": {"project_id": "p2"}}}))
    wait_until(lambda: httpx.post(url, content=web_body()).status_code == 200, timeout=10, interval=0.3)
    assert collector.stop() == 0
    assert list((collector.lake / "clickstream" / "p2" / "data" / "buffer").rglob("*.log.gz"))


@pytest.mark.parametrize(
    ("entries", "origin", "allowed"),
    [
        (["https://shop.example"], b"https://shop.example", True),
        (["https://shop.example"], b"https://SHOP.example", True),
        (["https://shop.example"], b"https://shop.example.evil.net", False),
        (["https://shop.example"], b"http://shop.example", False),
        (["*.example.com"], b"https://a.example.com", True),
        (["*.example.com"], b"http://a.b.example.com:8080", True),
        (["*.example.com"], b"https://example.com.evil.net", False),
        (["*.example.com"], b"https://evil.net/.example.com", False),
        (["*"], b"https://anything.test", True),
        ([], b"https://shop.example", False),
        (["*"], b"https://\xff.test", False),
    ],
)
def test_cors_origins(entries: list[str], origin: bytes, allowed: bool) -> None:
    assert CorsPolicy(entries).allows(origin) is allowed


def test_a_gzip_bomb_is_cut_at_the_cap_with_bounded_work() -> None:
    bomb = base64.b64encode(gzip.compress(b"[" + b"0," * 50_000_000 + b"0]", compresslevel=9))
    started = time.perf_counter()
    with pytest.raises(BodyTooLarge, match="inflates to more than 1000000 bytes"):
        validate_body(bomb, max_inflated=1_000_000)
    assert time.perf_counter() - started < 0.5


def b64(raw: bytes) -> bytes:
    return base64.b64encode(raw)


def test_a_bomb_in_a_second_gzip_member_is_caught_by_the_one_cap() -> None:
    """The first member inflated alone passed the cap and the rest of the stream was never looked at."""
    bomb = b64(gzip.compress(b'[{"a": 1}]') + gzip.compress(b" " * 50_000_000, compresslevel=9))
    started = time.perf_counter()
    with pytest.raises(BodyTooLarge) as refused:
        validate_body(bomb, max_inflated=1_000_000)
    assert refused.value.status == 413 and time.perf_counter() - started < 0.5


def test_the_cap_is_on_all_the_members_together() -> None:
    half = gzip.compress(b" " * 600)
    with pytest.raises(BodyTooLarge):
        validate_body(b64(gzip.compress(b"[{}") + half + half + gzip.compress(b"]")), max_inflated=1000)
    body = b64(gzip.compress(b"[{}") + half + gzip.compress(b", {}]"))
    assert validate_body(body, max_inflated=1000) == (body.decode(), 2)


def test_every_member_is_part_of_the_events() -> None:
    """Members are one text once inflated (as gzip -d reads them): the events are counted over all."""
    body = b64(gzip.compress(b'[{"a": 1},') + gzip.compress(b' {"b": 2}]'))
    assert validate_body(body, max_inflated=1000) == (body.decode(), 2)
    with pytest.raises(BadBody, match="malformed JSON"):
        validate_body(b64(gzip.compress(b'[{"a": 1}]') + gzip.compress(b'[{"b": 2}]')), max_inflated=1000)


@pytest.mark.parametrize(
    "trailer",
    [b"garbage", b"\x00" * 8, b"\x1f", gzip.compress(b"]")[:-3]],
    ids=["text", "zeros", "half-magic", "cut-member"],
)
def test_trailing_data_after_the_gzip_stream_is_refused(trailer: bytes) -> None:
    with pytest.raises(BadBody) as refused:
        validate_body(b64(gzip.compress(b'[{"a": 1}]') + trailer), max_inflated=1000)
    assert refused.value.status == 400
    assert re.search("trailing data|truncated|not gzip", str(refused.value)), refused.value


def test_a_stream_of_many_tiny_members_is_refused_before_it_costs_much() -> None:
    empty = gzip.compress(b"")
    with pytest.raises(BadBody, match=f"more than {MAX_MEMBERS} members"):
        validate_body(b64(gzip.compress(b"[{}]") + empty * 30_000), max_inflated=1000)
    body = b64(gzip.compress(b"[{}]") + empty * (MAX_MEMBERS - 1))
    assert validate_body(body, max_inflated=1000)[1] == 1


@pytest.mark.parametrize(
    "inflated", [b'[{"a": "\xff"}]', b'[{"\xc3": 1}]', b'[{"a": {"b": "caf\xc3"}}]', b'[{"a": "\xed\xa0\x80"}]'],
    ids=["invalid-byte", "cut-sequence-in-a-key", "cut-sequence-nested", "surrogate"],
)  # fmt: skip
def test_inflated_text_that_is_not_utf8_is_refused(inflated: bytes) -> None:
    """The JSON decoder skips event fields without checking their bytes: the check is the collector's."""
    with pytest.raises(BadBody, match="inflated body is not valid UTF-8") as refused:
        validate_body(b64(gzip.compress(inflated)), max_inflated=1000)
    assert refused.value.status == 400


def test_inflated_utf8_text_is_accepted() -> None:
    body = b64(gzip.compress('[{"city": "São Paulo", "emoji": "🙂"}]'.encode()))
    assert validate_body(body, max_inflated=1000) == (body.decode(), 1)


def test_valid_bodies_keep_their_text_and_count_events() -> None:
    assert validate_body(b' [{"a": 1}, {"b": 2}]\n', max_inflated=1000) == (' [{"a": 1}, {"b": 2}]\n', 2)
    mobile = base64.b64encode(gzip.compress(b'[{"a": 1}]'))
    assert validate_body(mobile, max_inflated=1000) == (mobile.decode(), 1)


def test_record_layout_and_dev_mode_fake_ip() -> None:
    clock = ClockCache().now(1714566896.5)
    query = {"appId": "a", "platform": "Web", "fakeIp": "9.9.9.9"}
    common: dict[str, Any] = {
        "clock": clock,
        "query": query,
        "data": "[]",
        "ip": "1.2.3.4",
        "ua": None,
        "path": "/c",
        "uri": "/c?x",
    }
    record = orjson.loads(build_record(**common, rid="0" * 32))
    assert list(record) == sorted(record)
    assert record["ip"] == "1.2.3.4" and record["fakeIp"] == "9.9.9.9"
    assert record["date"] == "2024-05-01T12:34:56+00:00"
    assert record["timestamp"] == "2024-05-01T12:34:56.500000Z"
    assert record["ingest_time"] == 1714566896000 and clock.hour_key == "2024050112"
    dev = orjson.loads(build_record(**common, rid="0" * 32, dev_mode=True))
    assert dev["ip"] == "9.9.9.9" and "fakeIp" not in dev


def test_layout_helpers_write_the_originals_paths() -> None:
    when = datetime(2024, 5, 1, 3, tzinfo=UTC)
    name = object_name(1714532400, uuid.UUID(int=1))
    assert object_key("p1", hour_partition(when), name) == (
        "clickstream/p1/data/buffer/year=2024/month=05/day=01/hour=03/"
        "1714532400-00000000-0000-0000-0000-000000000001.log.gz"
    )
    assert decode_object(encode_object([b'{"a":1}', b'{"b":2}'])) == [b'{"a":1}', b'{"b":2}']


def test_query_parsing_and_client_address() -> None:
    assert parse_query(b"appId=a%20b&x=1&x=2&&flag") == {"appId": "a b", "x": "1", "flag": ""}
    clients = ClientAddress((ipaddress.ip_network("10.0.0.0/8"),))
    assert clients.resolve("10.0.0.1", b"1.1.1.1, 2.2.2.2, 10.0.0.9") == "2.2.2.2"
    assert clients.resolve("8.8.8.8", b"1.1.1.1") == "8.8.8.8", (
        "an untrusted peer cannot claim another address"
    )
    assert clients.resolve("10.0.0.1", None) == "10.0.0.1"


def test_every_flag_can_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLLECTOR_SINK", "file:///tmp/lake")
    monkeypatch.setenv("COLLECTOR_APP_IDS", "a,b")
    monkeypatch.setenv("COLLECTOR_PROJECT_ID", "p1")
    monkeypatch.setenv("COLLECTOR_PORT", "8001")
    monkeypatch.setenv("COLLECTOR_CORS_ORIGINS", "*")
    settings = settings_from_args(build_parser().parse_args(["serve", "--port", "9000"]))
    assert settings.sink == "file:///tmp/lake" and settings.app_ids == ("a", "b")
    assert settings.port == 9000, "a flag wins over the environment"
    assert settings.cors_origins == ("*",)


def test_the_image_installs_the_versions_pinned_in_pyproject() -> None:
    repo = Path(__file__).resolve().parents[2]
    pins = set(re.findall(r'"([a-z\-]+(?:\[\w+\])?==[\w.]+)"', (repo / "pyproject.toml").read_text()))
    image = set(
        re.findall(r'"([a-z\-]+(?:\[\w+\])?==[\w.]+)"', (repo / "ingestion" / "Dockerfile").read_text())
    )
    assert image and image <= pins, image - pins
    assert "USER collector" in (repo / "ingestion" / "Dockerfile").read_text()


def test_the_request_path_imports_nothing_from_django() -> None:
    code = "import sys, ingestion.app, ingestion.server; sys.exit('django' in sys.modules)"
    assert (
        subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[2]).returncode == 0
    )


def test_a_torn_spool_line_is_skipped_and_complete_ones_are_kept(tmp_path: Path) -> None:
    segment = tmp_path / "000000000001-1700000000-abc.seg"
    good = spool_line("p1", "2026112722", b'{"rid":"1"}')
    segment.write_bytes(good + b'p1\t2026112722\t{"rid":"torn' + b"\n" + good + b'p1\t2026112722\t{"ri')
    assert [line.record for line in read_segment(segment)] == [b'{"rid":"1"}', b'{"rid":"1"}']

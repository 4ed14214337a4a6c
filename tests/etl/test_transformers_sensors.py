"""The `sensors` transformer (Sensors Data SDK payloads) against the original's golden data, bad input, and a
run. Every expected value must match except the differences listed in DELIBERATE, each with its reason; the
comparison rules (process_info, object-valued parameters) are those of tests/etl/test_transformers_gtm.py."""

from __future__ import annotations

import base64
import gzip
import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from pyspark.sql import SparkSession

from etl.job import build_tables, run_job
from etl.lake import dir_layout
from etl.plugins import Context
from tests.etl.conftest import copy_raw, job_config, read_expected
from tests.etl.test_transformers_gtm import _compare, _runner_row, corrupted_rows

pytestmark = pytest.mark.spark

APPS = ["shopping", "sensorTest"]
EVENT_ID = (
    "95652074a6de38887c28cdd21a6abf95-0-18f6b3eb4d890f-0049f49f49f49f48-7e433c49-3686400-18f6b3eb4d92266"
)
ANONYMOUS = "18f6b3eb4d890f-0049f49f49f49f48-7e433c49-3686400-18f6b3eb4d92266"
# The runner's file was written after UA and IP enrichment (GeoLite2-City); our bundled geo database is
# country level (README), so no city.
NO_CITY = {"geo_city": ("Beijing", None)}
DELIBERATE: dict[str, dict[str, tuple[Any, Any]]] = {
    "test_sensors_data_runner.json": NO_CITY
    | {
        # The Web SDK sends neither $wifi nor $network_type; the original read a missing $wifi as false, so
        # every web event was "CELLULAR".
        "device_network_type": ("CELLULAR", None),
        # $timezone_offset is JavaScript's getTimezoneOffset() (minutes, positive west of UTC); the original
        # stored the minutes. UTC+8 is 28800 seconds.
        "device_time_zone_offset_seconds": (-480, 28800),
        # A missing $event_duration was 0 in the original (a Java primitive); it is null here, and seconds are
        # converted to milliseconds when present.
        "user_engagement_time_msec": (0, None),
        # user_id is the login identity; the original fell back to the anonymous id, so every anonymous
        # visitor looked logged in.
        "user_id": (ANONYMOUS, None),
    },
}
# Custom parameters: $viewport_width/height are read into the device_viewport_* columns (the original swapped
# them and then left them as parameters); every identity is kept as sent ($identity_cookie_id…), where the
# original kept only the Android and login ids, null when absent. The rest match by value.
MOVED_TO_COLUMNS = {"$viewport_width", "$viewport_height"}
IDENTITIES_SENT = {"$identity_cookie_id", "$identity_anonymous_id"}
IDENTITIES_ADDED = {"$identity_android_id", "$identity_login_id"}


def _tables(spark: SparkSession, anchor: Path, plugins: list[str]) -> dict[str, list[dict[str, Any]]]:
    cfg = job_config(APPS, deduplicate=False, plugins=plugins)
    paths = [str(anchor / "sensordata" / name) for name in ("sensors-web-ua.json", "web_sdk_data.json")]
    built = build_tables(Context(spark, cfg), paths)
    return {name: [r.asDict(recursive=True) for r in df.collect()] for name, df in built.tables.items()}


@pytest.fixture(scope="module")
def enriched(spark: SparkSession, anchor_fixtures: Path) -> dict[str, list[dict[str, Any]]]:
    return _tables(spark, anchor_fixtures, ["sensors", "traffic", "ua", "geo"])


def test_enriched_event_matches_the_runner(
    enriched: dict[str, list[dict[str, Any]]], anchor_fixtures: Path
) -> None:
    expected = _runner_row(
        read_expected(anchor_fixtures / "sensordata/expected/test_sensors_data_runner.json")[0]
    )
    rows = [r for r in enriched["event_v2"] if r["event_id"] == EVENT_ID]
    assert len(rows) == 1
    found = _compare(expected, rows[0])
    want, got = found.pop("custom_parameters")
    assert (
        set(got) == (set(want) - MOVED_TO_COLUMNS - IDENTITIES_ADDED - {"$referrer_host"}) | IDENTITIES_SENT
    )
    assert all(got[k] == want[k] for k in got if k in want)
    want_json, got_json = found.pop("custom_parameters_json_str")
    assert set(got_json) == set(got)
    assert all(got_json[k] == want_json[k] for k in got_json if k in want_json)
    assert (rows[0]["device_viewport_width"], rows[0]["device_viewport_height"]) == (1857, 1242)
    assert found == DELIBERATE["test_sensors_data_runner.json"]


def test_events_ids_and_names(enriched: dict[str, list[dict[str, Any]]]) -> None:
    events = enriched["event_v2"]
    # 4 web events (gzip-less base64 `data=`), 2 × 7 Android events (gzipped `data_list=`/`data=`) plus their
    # two profile records each, and the plain JSON object of the third line.
    assert len(events) == 4 + 2 * (7 + 2) + 1
    names = {r["event_id"]: r["event_name"] for r in events}
    assert names[EVENT_ID] == "$WebClick"
    assert names["d7f8603a6f8b516e3e3b82076ca2fc4a-0-" + ANONYMOUS] == "_page_view"
    assert names["d612c941112ddb8a0f186bb0725be01a-0-9113946abd821d52"] == "_screen_view"
    assert names["d612c941112ddb8a0f186bb0725be01a-2-9113946abd821d52"] == "_profile_set"
    plain = next(r for r in events if r["event_id"] == "07157da84281bb7234ba6f8613df7d32-0-123456")
    assert (plain["event_name"], plain["user_id"], plain["user_pseudo_id"]) == (
        "ViewProduct",
        "130xxxx1234",
        "123456",
    )
    android = next(
        r for r in events if r["event_id"] == "d612c941112ddb8a0f186bb0725be01a-0-9113946abd821d52"
    )
    assert (android["platform"], android["device_network_type"], android["sdk_name"], android["app_version"]) == (
        "Android", "WIFI", "Android", "3.0.3",
    )  # fmt: skip
    assert android["screen_view_screen_name"] == "com.farmerbb.notepad.android.NotepadActivity"


def test_profile_records_set_the_user_properties(enriched: dict[str, list[dict[str, Any]]]) -> None:
    users = {u["user_pseudo_id"]: u for u in enriched["user_v2"]}
    # Two profile records arrive in one request (the same event time): user_v2 keeps the latest record's
    # properties, as for clickstream _profile_set events, so either one.
    assert users["9113946abd821d52"]["user_properties"] in (
        {
            "_user_id": {
                "value": "007160b9-fe02-4dbc-ad37-6e380584ef2a",
                "type": "string",
                "set_time_msec": None,
            }
        },
        {"_user_name": {"value": "adfd", "type": "string", "set_time_msec": None}},
    )
    # A track event's properties are not user properties unless their name says so.
    assert users[ANONYMOUS]["user_properties"] is None


def _line(rid: str, payload: str, app: str = "shopping") -> str:
    return json.dumps(
        {"appId": app, "rid": rid, "ingest_time": 1715499272000, "ip": "54.222.61.41", "data": payload}
    )


def test_bad_input_is_corrupted_with_a_reason_never_fatal(
    spark: SparkSession, anchor_fixtures: Path, tmp_path: Path
) -> None:
    event = {
        "distinct_id": "d1",
        "event": "$pageview",
        "time": 1715499272687,
        "properties": {"$url": "https://x.y/"},
    }
    gzipped = base64.b64encode(gzip.compress(json.dumps([event]).encode())).decode()
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "lines.json").write_text(
        "\n".join([
            _line("good", "data_list=" + quote(gzipped, safe="") + "&gzip=1"),
            _line("not-gzip", "data=" + quote(base64.b64encode(b"not gzip").decode()) + "&gzip=1"),
            _line("not-json", "data=" + base64.b64encode(b"{not json}").decode()),
            _line("not-object", "[1]"),
            _line("no-name", json.dumps({"distinct_id": "d2", "type": "track", "properties": {}})),
            _line("empty", ""),
            "{ broken line",
        ]) + "\n"
    )  # fmt: skip
    cfg = job_config(["shopping"], plugins=["sensors"], job_name="sensors-bad")
    result = run_job(spark, dir_layout(str(raw), str(tmp_path / "out")), cfg)

    assert result["rows_out"] == 1
    corrupted = corrupted_rows(tmp_path / "out" / "job-data" / "corrupted")
    assert result["corrupted"] == len(corrupted) == 6
    assert {row["reason"] for row in corrupted} == {
        "data is neither a JSON array nor base64 gzip",
        "data is not a JSON array",
        "invalid event JSON",
        "missing event_name",
        "data is null or empty",
        "line is not a JSON object",
    }


def test_a_run_with_the_sensors_plugin_writes_the_tables(
    spark: SparkSession, anchor_fixtures: Path, tmp_path: Path
) -> None:
    raw = copy_raw(anchor_fixtures / "sensordata", ["sensors-web-ua.json"], tmp_path / "raw")
    out = tmp_path / "out"
    cfg = job_config(["shopping"], plugins=["sensors", "traffic", "ua", "geo"], job_name="sensors-run")
    result = run_job(spark, dir_layout(str(raw), str(out)), cfg)

    assert (result["files"], result["rows_out"], result["corrupted"]) == (1, 4, 0)
    events = spark.read.parquet(str(out / "event_v2"))
    assert sorted(r.event_name for r in events.select("event_name").collect()) == [
        "$WebClick", "$WebClick", "_page_view", "_page_view",
    ]  # fmt: skip
    assert spark.read.parquet(str(out / "user_v2")).count() == 1
    # Sensors events carry no session id, so there are no session rows (as in the original).
    assert not (out / "session").exists() or spark.read.parquet(str(out / "session")).count() == 0

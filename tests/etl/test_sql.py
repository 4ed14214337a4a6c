"""The shared per-request SQL (etl/sql.py), which both engines run: time adjustment of future events."""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa

from etl import sql
from tests.etl.conftest import job_config

NOW = 1_764_000_000_000
INGEST = NOW - 1_000


def _rows(events: list[dict[str, Any]], **fields: str) -> list[dict[str, Any]]:
    cfg = job_config(now_ms=NOW)
    raw = {
        name: pa.array([None], pa.string())
        for name in ("input_file_name", *sql.RAW_FIELDS, "_corrupt_record")
    }
    line = {"data": json.dumps(events), "appId": "uba-app", "ingest_time": str(INGEST), "rid": "r1"} | fields
    for name, value in line.items():
        raw[name] = pa.array([value], pa.string())
    con = sql.connect(cfg)
    con.register("raw", pa.table(raw))
    return con.execute(sql.event_sql(cfg)).fetch_arrow_table().to_pylist()


def _event(event_id: str, timestamp: int) -> dict[str, Any]:
    return {"event_id": event_id, "app_id": "uba-app", "event_type": "_first_open", "timestamp": timestamp}


def test_a_future_event_says_what_was_adjusted_and_why() -> None:
    # The SDK's clock runs 1 h ahead: the upload time says so, and shifting by it puts the event in the past.
    ahead = 3_600_000
    rows = _rows(
        [_event("e1", INGEST - 5_000 + ahead)], uri=f"/collect?upload_timestamp={INGEST - 2_000 + ahead}"
    )
    info = dict(rows[0]["process_info"])
    assert rows[0]["status"] == "ok"
    assert info["event_timestamp_adjusted"] == "true"
    diff = 2_000 - ahead  # ingest − upload: negative, as the original writes it ("-10 millis ahead")
    reason = f"ingestTimestamp is {diff} millis ahead of uploadTimestamp, isFutureEvent: true"
    assert info["event_timestamp_adjusted_reason"] == reason
    assert int(info["event_timestamp_adjusted_to"]) == INGEST - 3_000 == rows[0]["event_time_msec"]


def test_a_future_event_without_upload_time_is_set_to_the_ingest_time() -> None:
    rows = _rows([_event("e2", NOW + 86_400_000)])
    info = dict(rows[0]["process_info"])
    # The original joins an empty first part with "|" (a leading bar); we leave the empty part out.
    assert (
        info["event_timestamp_adjusted_reason"] == "eventTimestamp is in the future, set to ingestTimestamp"
    )
    assert rows[0]["event_time_msec"] == INGEST


def test_an_event_on_time_is_not_adjusted() -> None:
    info = dict(_rows([_event("e3", INGEST - 5_000)])[0]["process_info"])
    assert not any(k.startswith("event_timestamp_adjusted") for k in info)


def _raw_rows(data: str) -> list[dict[str, Any]]:
    cfg = job_config(now_ms=NOW)
    raw = {
        name: pa.array([None], pa.string())
        for name in ("input_file_name", *sql.RAW_FIELDS, "_corrupt_record")
    }
    for name, value in {"data": data, "appId": "uba-app", "ingest_time": str(INGEST), "rid": "r1"}.items():
        raw[name] = pa.array([value], pa.string())
    con = sql.connect(cfg)
    con.register("raw", pa.table(raw))
    return con.execute(sql.event_sql(cfg)).fetch_arrow_table().to_pylist()


def test_a_plain_body_that_is_not_a_json_array_is_corrupt_with_its_reason() -> None:
    # Bracketed (so taken as plain JSON) but malformed, and bracketed around something that is not one array.
    for data in ("[{]", "[1 2]", '[{"event_id": "e1"}] x [2]', "[{'a': 1}]"):
        rows = _raw_rows(data)
        assert [(r["status"], r["error"]) for r in rows] == [("corrupted", "data is not a JSON array")], data
        assert rows[0]["data"] == data


def test_custom_parameters_keep_the_unknown_attributes_and_top_level_keys_in_order() -> None:
    attrs = {"_session_id": "s1", "plan": "pro", "ab": 2}
    alone = _rows([_event("e1", INGEST - 5_000) | {"attributes": attrs}])[0]
    assert alone["custom_parameters_json_str"] == '{"plan":"pro","ab":2}'
    assert [k for k, _ in alone["custom_parameters"]] == ["plan", "ab"]
    both = _rows([_event("e2", INGEST - 5_000) | {"attributes": attrs, "zz_top": True}])[0]
    assert both["custom_parameters_json_str"] == '{"zz_top":true,"plan":"pro","ab":2}'
    none = _rows([_event("e3", INGEST - 5_000)])[0]
    assert none["custom_parameters"] is None and none["custom_parameters_json_str"] is None


def test_a_repeated_key_takes_its_first_value_and_fails_nothing() -> None:
    """JSON with a key twice in the attributes or the user (any parser accepts it): the first value, as the
    struct of known attributes reads it; before, the map kept both and the run failed on writing the row."""
    event = json.dumps(_event("e1", INGEST - 5_000))[:-1]
    text = (
        f'[{event}, "attributes": {{"plan": "pro", "plan": "free", "_session_id": "s1", "_session_id": "s2"}},'
        ' "user": {"_user_id": {"value": "u1"}, "_user_id": {"value": "u2"}}}]'
    )
    (row,) = _rows([], data=text)
    assert row["status"] == "ok" and row["error"] is None
    assert row["session_id"] == "s1" and row["user_id"] == "u1"
    assert dict(row["custom_parameters"]) == {"plan": {"value": "pro", "type": "string"}}
    assert row["custom_parameters_json_str"] == '{"plan":"pro"}'


def test_attributes_count_a_repeated_key_once_and_need_an_object() -> None:
    """The attributes' map is kept with its repeated keys (checking every event's keys cost 7 % of the SQL):
    what reads it takes care. The 1,000-attribute limit counts a repeated key once, and attributes that are
    not an object are no custom parameters."""
    event = json.dumps(_event("e1", INGEST - 5_000))[:-1]
    repeated = ", ".join(f'"k{i % 600}": {i}' for i in range(1_200))  # 1,200 keys, 600 distinct
    (row,) = _rows([], data=f'[{event}, "attributes": {{{repeated}}}}}]')
    assert row["status"] == "ok" and row["error"] is None
    assert len(row["custom_parameters"]) == 600 and dict(row["custom_parameters"])["k1"]["value"] == "1"
    many = {f"k{i}": i for i in range(1_001)}
    (row,) = _rows([_event("e2", INGEST - 5_000) | {"attributes": many}])
    assert row["error"] == "more than 1000 attributes"
    for value in ("text", [1, 2], 3):
        (row,) = _rows([_event("e3", INGEST - 5_000) | {"attributes": value}])
        assert row["status"] == "ok" and row["custom_parameters"] is None, value


def test_known_fields_read_as_text_keep_each_json_type_s_value() -> None:
    """Known attributes and top-level keys are read as the text of their JSON value: a string unquoted and
    unescaped, a number or boolean as written (a cast to the column's type), an object or array as JSON."""
    event = _event("e1", INGEST - 5_000) | {
        "event_type": "_page_view",
        "screen_width": "1170",  # a number sent as a string is still a number for an integer column
        "screen_height": 12.5,  # rounded, as a cast of "12.5"
        "zone_offset": 3_600_000,
        "brand": 7,  # a number where text is expected: its text
        "attributes": {
            "_page_title": 'a "quoted" \u00e9t\u00e9',
            "_session_number": "3",
            "_entrances": 1,
            "_engagement_time_msec": True,  # a boolean is no number: null
            "_search_key": {"x": [1, 2]},
            "_link_id": None,
        },
    }
    (row,) = _rows([event])
    assert (row["device_screen_width"], row["device_screen_height"]) == (1170, 13)
    assert row["device_time_zone_offset_seconds"] == 3600
    assert row["device_mobile_brand_name"] == "7"
    assert row["page_view_page_title"] == 'a "quoted" été'
    assert row["session_number"] == 3
    assert row["page_view_entrances"] is True
    assert row["page_view_engagement_time_msec"] is None
    assert row["search_key"] == '{"x":[1,2]}'
    assert row["outbound_link_id"] is None

"""The per-request transformation, defined once, in DuckDB SQL (spec/etl.md §2.1–§2.8).

`event_sql(cfg)` turns a relation `raw` (one row per raw line: the line's fields as text, `_corrupt_record`
for a line that is not a JSON object, `input_file_name`) into one row per event with every event_v2 column
known before enrichment, its status and, for a corrupt event, the reason. Both engines run this same text:
the DuckDB engine over the raw files (`etl/duck.py`), the Spark engine inside its tasks, over Arrow batches
of the raw lines (`etl/transform.py`, `mapInArrow`). So the two cannot drift; what each engine keeps in its
own SQL is only what needs the whole batch: de-duplication, the user state, items and sessions.

Lenient, as the original's deserializers: a value of the wrong type becomes null, never a failed row. Each
event is parsed once into a struct of its known fields; nested objects stay JSON until their maps are built.
"""

from __future__ import annotations

import json
import re

import duckdb
from duckdb.func import PythonUDFType
from duckdb.sqltypes import VARCHAR

from etl import body, keys
from etl.config import JobConfig
from etl.results import CORRUPT, FUTURE, OK, STALE, UNKNOWN_APP

RAW_FIELDS = (
    "date", "data", "ip", "source_type", "rid", "ua", "m", "method", "uri", "platform", "path", "appId",
    "compression", "ingest_time", "client_timestamp", "server_ingest_time", "timestamp",
)  # fmt: skip
# The raw line fields the output keeps (lineage, corrupted records, enrichment inputs).
KEPT_RAW = ("input_file_name", "rid", "appId", "ingest_time", "uri", "ip", "ua", "_corrupt_record")
MAX_EVENT_BYTES = 1 << 20
MIN_TIMESTAMP_MS = 946684800000  # 2000-01-01
_JSON_KEYS = ("attributes", "user", "items")
# A known field as VARCHAR is the text `->>'$'` gives of its JSON value (a string unquoted, anything else as
# JSON), without parsing that value again: the same values, 0.11 CPU-s less per 150 k events than JSON fields
# read with `->>'$'` (tests/etl/test_sql.py pins numbers, booleans, objects, escapes).
EVENT_STRUCT = json.dumps({k: "JSON" if k in _JSON_KEYS else "VARCHAR" for k in sorted(keys.KNOWN_TOP_KEYS)})
# The known attributes, parsed once into a struct: a field is read in constant time, where a map look-up
# scans the keys (about 45 look-ups per event). With a repeated key both take its first value.
ATTR_STRUCT = json.dumps(dict.fromkeys(sorted(keys.KNOWN_ATTRIBUTES), "VARCHAR"))
_CASTS = {"bigint": "BIGINT", "int": "INTEGER", "double": "DOUBLE", "boolean": "BOOLEAN"}

# Macros shared by the SQL below: JSON values (type JSON) → typed values, maps, URLs.
MACROS = r"""
CREATE OR REPLACE MACRO jtext(x) AS x->>'$';
CREATE OR REPLACE MACRO jcast_bigint(x) AS TRY_CAST(x->>'$' AS BIGINT);
CREATE OR REPLACE MACRO jcast_double(x) AS TRY_CAST(x->>'$' AS DOUBLE);
-- A JSON object → MAP(VARCHAR, JSON), as `from_json` gives it: a repeated key is there twice (a map DuckDB
-- refuses only when the row is written, failing the run). Its JSON comes out of DuckDB's parser, minified, so
-- the first character tells an object (`json_type` parses it again).
CREATE OR REPLACE MACRO json_map_all(x) AS CASE WHEN starts_with(CAST(x AS VARCHAR), '{') THEN
    from_json(x, '"MAP(VARCHAR, JSON)"') END;
-- The same with a repeated key's first value: the keys are checked; only such rows (rare) take the slow path.
-- The one-element list binds the parsed map to a name, parsed once.
CREATE OR REPLACE MACRO json_map(x) AS list_transform([json_map_all(x)], jm -> CASE
    WHEN jm IS NULL OR len(list_distinct(map_keys(jm))) = cardinality(jm) THEN jm
    ELSE map_from_entries(list_transform(
        list_filter(json_keys(x), (jk, ji) -> list_position(json_keys(x), jk) = ji),
        jk -> {'k': jk, 'v': json_extract(x, '$."' || replace(jk, '"', '\"') || '"')})) END)[1];
-- A list of map entries with a repeated key's first entry only (the check costs per row what the list holds).
CREATE OR REPLACE MACRO first_entries(es) AS CASE
    WHEN len(list_distinct(list_transform(es, x -> x.key))) = len(es) THEN es
    ELSE list_filter(es, (x, i) -> list_position(list_transform(es, y -> y.key), x.key) = i) END;
-- {value, type} of a custom parameter or user property (spec/etl.md §2.6). Its JSON comes out of DuckDB's
-- parser, minified, so the first character tells the type without parsing the value again.
CREATE OR REPLACE MACRO typed_value(x) AS {
    'value': CASE WHEN x IS NULL THEN 'null' WHEN starts_with(CAST(x AS VARCHAR), '"') THEN x->>'$' ELSE CAST(x AS VARCHAR) END,
    'type': CASE WHEN x IS NULL THEN 'object' ELSE CASE left(CAST(x AS VARCHAR), 1) WHEN '"' THEN 'string'
        WHEN 't' THEN 'boolean' WHEN 'f' THEN 'boolean' WHEN '{' THEN 'object' WHEN '[' THEN 'object' WHEN 'n' THEN 'object'
        ELSE 'number' END END};
CREATE OR REPLACE MACRO typed_map(m) AS CASE WHEN len(map_keys(m)) > 0 THEN
    map(map_keys(m), list_transform(map_values(m), x -> typed_value(x))) END;
-- The same two from a map's entries (a list of {key, value}), so the event's custom parameters are never a
-- map of their own: building one costs more than the list. The JSON text is to_json's of the map, byte for byte.
CREATE OR REPLACE MACRO typed_entries(es) AS CASE WHEN len(es) > 0 THEN
    map(list_transform(es, x -> x.key), list_transform(es, x -> typed_value(x.value))) END;
CREATE OR REPLACE MACRO entries_json(es) AS CASE WHEN len(es) > 0 THEN '{' || array_to_string(
    list_transform(es, x -> to_json(x.key) || ':' || coalesce(CAST(x.value AS VARCHAR), 'null')), ',') || '}' END;
-- URL decoding as java.net.URLDecoder ('+' is a space); a value it would refuse is kept as it is.
CREATE OR REPLACE MACRO decoded(x) AS CASE
    WHEN x IS NULL OR NOT contains(x, '%') AND NOT contains(x, '+') THEN x
    WHEN regexp_matches(x, '%([^0-9A-Fa-f]|.[^0-9A-Fa-f]|.?$)') THEN x
    ELSE coalesce(try(url_decode(replace(x, '+', ' '))), x) END;
CREATE OR REPLACE MACRO with_scheme(u) AS CASE WHEN u IS NULL OR u = '' THEN NULL
    WHEN strpos(left(u, 15), '://') = 0 THEN 'https://' || u ELSE u END;
-- scheme://[user@]host[:port]path[?query][#fragment], as java.net.URI splits it (a URL with a space or
-- another character URI refuses has no parts).
CREATE OR REPLACE MACRO url_parts(u) AS CASE WHEN regexp_matches(u, '[\s"<>\\^`{|}]') THEN NULL ELSE
    regexp_extract(u, '^[A-Za-z][A-Za-z0-9+.\-]*://(?:[^@/?#]*@)?(\[[^\]]*\]|[^:/?#]*)(?::[0-9]*)?([^?#]*)(?:\?([^#]*))?',
        ['host', 'path', 'query']) END;
CREATE OR REPLACE MACRO url_host(u) AS nullif(url_parts(with_scheme(u)).host, '');
CREATE OR REPLACE MACRO url_path(u) AS url_parts(with_scheme(u)).path;
-- Query parameters → map<param, values joined by ','>, values URL-decoded; null without parameters.
CREATE OR REPLACE MACRO query_pairs(u) AS list_transform(
    list_filter(string_split(nullif(url_parts(with_scheme(u)).query, ''), '&'), qp -> qp != ''),
    qp -> [split_part(qp, '=', 1), decoded(CASE WHEN strpos(qp, '=') > 0 THEN qp[strpos(qp, '=') + 1:] ELSE '' END)]);
CREATE OR REPLACE MACRO uri_param(uri, name) AS nullif(regexp_extract(uri, '[?&]' || name || '=([^&#]*)', 1), '');
CREATE OR REPLACE MACRO iso_ms(ms) AS CASE WHEN ms BETWEEN 0 AND 253402300799999
    THEN strftime(epoch_ms(ms), '%Y-%m-%dT%H:%M:%S.%gZ') END;
"""


def q(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def connect(
    cfg: JobConfig | None = None,
    *,
    memory_limit: str | None = None,
    temp_directory: str | None = None,
    threads: int | None = None,
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with the functions the SQL needs. Memory is bounded: past `memory_limit` DuckDB
    spills to `temp_directory` (joins, aggregates, sorts) instead of growing."""
    con = duckdb.connect()
    con.execute("SET preserve_insertion_order = false")
    con.execute("SET TimeZone = 'UTC'")
    if memory_limit:
        con.execute(f"SET memory_limit = {q(memory_limit)}")
    if temp_directory:
        con.execute(f"SET temp_directory = {q(temp_directory)}")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    inflated = duckdb.struct_type({"body": VARCHAR, "reason": VARCHAR})
    con.create_function("inflate_body", body.inflate_arrow, [VARCHAR], inflated, type=PythonUDFType.ARROW)
    if cfg is not None and cfg.anonymise_ip:
        from etl.enrich.geo import anonymise_arrow

        con.create_function("anonymised", anonymise_arrow, [VARCHAR], VARCHAR, type=PythonUDFType.ARROW)
    con.execute(MACROS)
    return con


def _attr(name: str, cast: str = "") -> str:
    if name not in keys.KNOWN_ATTRIBUTES:
        raise ValueError(f"{name} is not in keys.KNOWN_ATTRIBUTES (the struct of known attributes)")
    value = f'a."{name}"'
    return f"TRY_CAST({value} AS {_CASTS[cast]})" if cast else value


def _attrs(*names: str, cast: str = "") -> str:
    return (
        f"coalesce({', '.join(_attr(n, cast) for n in names)})" if len(names) > 1 else _attr(names[0], cast)
    )


def _top(name: str, cast: str = "") -> str:
    value = f"e.{name}"
    return f"TRY_CAST({value} AS {_CASTS[cast]})" if cast else value


def _user(name: str, cast: str = "") -> str:
    value = f"json_extract(user_map[{q(name)}], '$.value')"
    return f"jcast_{cast}({value})" if cast else f"jtext({value})"


def _query_map(pairs: str) -> str:
    """Query parameters → map<param, values joined by ','>, values URL-decoded; null without parameters.
    (Inline SQL, not a macro, and no macro inside the nested lambda: DuckDB 1.4 cannot bind those.)"""
    keys = f"list_filter(list_transform({pairs}, qa -> qa[1]), (fk, fi) -> list_position(list_transform({pairs}, qb -> qb[1]), fk) = fi)"
    values = f"list_transform({keys}, qk -> list_aggr(list_transform(list_filter({pairs}, qc -> qc[1] = qk), qd -> qd[2]), 'string_agg', ','))"
    return f"CASE WHEN len({pairs}) > 0 THEN map({keys}, {values}) END"


def _only_for(event: str, value: str) -> str:
    return f"CASE WHEN event_name = {q(event)} THEN {value} END"


def event_columns() -> dict[str, str]:
    """event_v2 columns known before enrichment, as SQL over the parsed event (spec/etl.md §2.3–§2.5)."""
    value = f"coalesce({_top('event_value', 'double')}, {_top('event_value_in_usd', 'double')})"
    currency = "coalesce(e.event_value_currency, e.currency)"
    mobile = "|".join(keys.MOBILE_OS)
    gclid = _attr("_gclid")
    return {
        "event_id": "event_id",
        "event_time_msec": "client_ts + time_diff",
        "event_name": "event_name",
        "event_value": value,
        "event_value_currency": f"CASE WHEN {value} IS NOT NULL THEN coalesce({currency}, 'USD') ELSE {currency} END",
        "event_bundle_sequence_id": "bundle_sequence_id",
        "ingest_time_msec": "ingest_ms",
        "device_mobile_brand_name": "e.brand",
        "device_mobile_model_name": "e.model",
        "device_manufacturer": "e.make",
        "device_carrier": "e.carrier",
        "device_network_type": "e.network_type",
        "device_operating_system": f"CASE WHEN regexp_matches(e.platform, '^(?i)({mobile})$') THEN e.platform END",
        "device_operating_system_version": "e.os_version",
        "device_vendor_id": "e.device_id",
        "device_advertising_id": "coalesce(e.device_unique_id, e.advertising_id)",
        "device_system_language": "e.system_language",
        "device_time_zone_offset_seconds": f"TRY_CAST(trunc({_top('zone_offset', 'bigint')} / 1000) AS INTEGER)",
        "device_ua": "request_ua",
        "device_screen_width": _top("screen_width", "int"),
        "device_screen_height": _top("screen_height", "int"),
        "device_viewport_width": _top("viewport_width", "int"),
        "device_viewport_height": _top("viewport_height", "int"),
        "geo_locale": "e.locale",
        "traffic_source_source": _attrs("_traffic_source_source", "_utm_source"),
        "traffic_source_medium": _attrs("_traffic_source_medium", "_utm_medium"),
        "traffic_source_campaign": _attrs("_traffic_source_campaign", "_utm_campaign"),
        "traffic_source_content": _attrs("_traffic_source_content", "_utm_content"),
        "traffic_source_term": _attrs("_traffic_source_term", "_utm_term"),
        "traffic_source_campaign_id": _attrs("_traffic_source_campaign_id", "_utm_id"),
        "traffic_source_clid_platform": _attrs("_traffic_source_clid_platform", "_utm_source_platform"),
        "traffic_source_clid": f"coalesce({_attr('_traffic_source_clid')}, CASE WHEN {gclid} IS NOT NULL"
        f" THEN to_json({{'type': 'gclid', 'value': {gclid}}})::VARCHAR END)",
        "traffic_source_channel_group": _attr("_traffic_source_channel_group"),
        "traffic_source_category": _attr("_traffic_source_category"),
        "user_first_touch_time_msec": f"{_user('_user_first_touch_timestamp', 'bigint')} + time_diff",
        "app_package_id": "e.app_package_name",
        "app_version": "e.app_version",
        "app_title": "e.app_title",
        "app_install_source": _attrs("_app_install_channel", "_app_install_source", "_install_channel"),
        "platform": "coalesce(e.platform, 'Web')",
        "project_id": "project_id",
        "app_id": "app_id",
        "screen_view_screen_name": _attr("_screen_name"),
        "screen_view_screen_id": _attr("_screen_id"),
        "screen_view_screen_unique_id": _attr("_screen_unique_id"),
        "screen_view_previous_screen_name": _attr("_previous_screen_name"),
        "screen_view_previous_screen_id": _attr("_previous_screen_id"),
        "screen_view_previous_screen_unique_id": _attr("_previous_screen_unique_id"),
        "screen_view_previous_time_msec": _only_for(
            "_screen_view", f"{_attr('_previous_timestamp', 'bigint')} + time_diff"
        ),
        "screen_view_engagement_time_msec": _only_for(
            "_screen_view", _attr("_engagement_time_msec", "bigint")
        ),
        "screen_view_entrances": _attr("_entrances", "boolean"),
        "page_view_page_referrer": f"decoded({_attr('_page_referrer')})",
        "page_view_page_referrer_title": f"decoded({_attr('_page_referrer_title')})",
        "page_view_previous_time_msec": _only_for(
            "_page_view", f"{_attr('_previous_timestamp', 'bigint')} + time_diff"
        ),
        "page_view_engagement_time_msec": _only_for("_page_view", _attr("_engagement_time_msec", "bigint")),
        "page_view_page_title": f"decoded({_attr('_page_title')})",
        "page_view_page_url": "decoded(page_url_raw)",
        "page_view_page_url_path": "url_path(page_url_raw)",
        "page_view_page_url_query_parameters": _query_map("url_pairs"),
        "page_view_hostname": "coalesce(e.host_name, url_host(page_url_raw))",
        "page_view_latest_referrer": "decoded(latest_referrer_raw)",
        "page_view_latest_referrer_host": f"coalesce({_attr('_latest_referrer_host')}, url_host(latest_referrer_raw))",
        "page_view_entrances": _attr("_entrances", "boolean"),
        "app_start_is_first_time": _only_for("_app_start", _attr("_is_first_time", "boolean")),
        "upgrade_previous_app_version": _attr("_previous_app_version"),
        "upgrade_previous_os_version": _attr("_previous_os_version"),
        "search_key": _attr("_search_key"),
        "search_term": _attr("_search_term"),
        "outbound_link_classes": _attr("_link_classes"),
        "outbound_link_domain": _attr("_link_domain"),
        "outbound_link_id": _attr("_link_id"),
        "outbound_link_url": _attr("_link_url"),
        "outbound_link": _attr("_outbound", "boolean"),
        "user_engagement_time_msec": _only_for("_user_engagement", _attr("_engagement_time_msec", "bigint")),
        "user_id": _user("_user_id"),
        "user_pseudo_id": "coalesce(e.unique_id, e.user_pseudo_id)",
        "session_id": _attr("_session_id"),
        "session_start_time_msec": f"{_attrs('_session_start_time_msec', '_session_start_timestamp', cast='bigint')}"
        " + time_diff",
        "session_duration": _attr("_session_duration", "bigint"),
        "session_number": _attr("_session_number", "bigint"),
        "scroll_engagement_time_msec": _only_for("_scroll", _attr("_engagement_time_msec", "bigint")),
        "sdk_error_code": _attr("_error_code"),
        "sdk_error_message": _attr("_error_message"),
        "sdk_version": "e.sdk_version",
        "sdk_name": "e.sdk_name",
        "app_exception_message": _attr("_exception_message"),
        "app_exception_stack": _attr("_exception_stack"),
        "custom_parameters_json_str": "entries_json(custom_entries)",
        "custom_parameters": "typed_entries(custom_entries)",
        "process_info": "process_info",
    }


def _except(map_sql: str, known: frozenset[str] | set[str]) -> str:
    """The map without the known keys."""
    return f"map_from_entries({_except_entries(map_sql, known)})"


def _except_entries(map_sql: str, known: frozenset[str] | set[str]) -> str:
    """The map's entries without the known keys (one compiled pattern: a list constant would be built per row)."""
    pattern = q("|".join(re.escape(k) for k in sorted(known)))
    return f"list_filter(map_entries({map_sql}), x -> NOT regexp_full_match(x.key, {pattern}))"


def _process_info_entries(cfg: JobConfig) -> dict[str, str]:
    """Lineage and time adjustment of one event (spec/etl.md §2.4, §2.8). An event from the future is
    adjusted: the reason says by how much and why, in the original's words."""
    return {
        "rid": "rid",
        "ingest_time": "iso_ms(ingest_ms)",
        "input_file_name": "input_file_name",
        "source_ip": "ip",
        "upload_time": "iso_ms(upload_ms)",
        "event_timestamp_adjusted": "CASE WHEN future THEN 'true' END",
        "event_timestamp_adjusted_from": "CASE WHEN future THEN CAST(client_ts AS VARCHAR) END",
        "event_timestamp_adjusted_to": "CASE WHEN future THEN CAST(client_ts + time_diff AS VARCHAR) END",
        "event_timestamp_adjusted_reason": "CASE WHEN future THEN concat_ws('|', "
        "CASE WHEN upload_ms IS NOT NULL THEN 'ingestTimestamp is ' || (ingest_ms - upload_ms) "
        "|| ' millis ahead of uploadTimestamp, isFutureEvent: true' END, "
        "CASE WHEN still_future THEN 'eventTimestamp is in the future, set to ingestTimestamp' END) END",
        "process_job_id": q(cfg.job_name),
        "process_time": q(cfg.process_time_iso),
    }


_LINEAGE = ("rid", "ingest_time", "input_file_name", "source_ip")


def _request_info(cfg: JobConfig) -> str:
    """process_info of a request's events that are not adjusted, when its lineage is all there (null
    otherwise): built once per request, as a struct cast to a map (a map built from a list of entries, keys
    checked row by row, costs several times as much)."""
    entries = _process_info_entries(cfg)
    present = " AND ".join(f"{entries[k]} IS NOT NULL" for k in _LINEAGE)
    without_upload = _as_map(entries, (*_LINEAGE, "process_job_id", "process_time"))
    with_upload = _as_map(entries, (*_LINEAGE, "upload_time", "process_job_id", "process_time"))
    return (
        f"CASE WHEN {present} THEN CASE WHEN {entries['upload_time']} IS NULL"
        f" THEN {without_upload} ELSE {with_upload} END END"
    )


def _process_info(cfg: JobConfig) -> str:
    """An event's process_info: its request's (`request_info`), or, adjusted or with lineage missing, built
    from its entries with the null ones left out."""
    structs = ", ".join(f"{{'k': {q(k)}, 'v': {v}}}" for k, v in _process_info_entries(cfg).items())
    any_shape = f"map_from_entries(list_filter([{structs}], x -> x.v IS NOT NULL))"
    return f"CASE WHEN NOT future AND request_info IS NOT NULL THEN request_info ELSE {any_shape} END"


def _as_map(entries: dict[str, str], names: tuple[str, ...]) -> str:
    """The named entries (all of them not null) as a MAP(VARCHAR, VARCHAR), in that order."""
    return "CAST({" + ", ".join(f"{q(k)}: {entries[k]}" for k in names) + "} AS MAP(VARCHAR, VARCHAR))"


_NO_ENTRIES = "[]::STRUCT(key VARCHAR, value JSON)[]"
# `trim(data)` starts with '[' and ends with ']' (DuckDB's trim removes spaces), without copying the body.
_PLAIN = r"(regexp_matches(data, '^ *\[') AND regexp_matches(data, '\] *$'))"


def event_sql(cfg: JobConfig, carried: tuple[str, ...] = ()) -> str:
    """SELECT over `raw` → one row per event (or per bad request), with `status`, `error`, `pos`, `first`.
    `carried`: more columns of `raw` passed through unchanged (the DuckDB engine's line numbers)."""
    lifecycle = ", ".join(q(n) for n in keys.LIFECYCLE_EVENTS)
    apps = ", ".join(q(a) for a in cfg.app_ids)
    now, fresh = int(cfg.now_ms), int(cfg.freshness_hours) * 3_600_000
    ip = "anonymised(ip)" if cfg.anonymise_ip else "ip"
    raw_cols = ", ".join(f'"{c}"' for c in (*KEPT_RAW, *carried) if c != "ip")
    columns = ",\n    ".join(f"{sql} AS {name}" for name, sql in event_columns().items())
    known_count = " + ".join(f"(e.{k} IS NOT NULL)::INT" for k in sorted(keys.KNOWN_TOP_KEYS))
    return f"""
WITH lines AS (
  SELECT {raw_cols}, {ip} AS ip, data, client_timestamp,
    CASE WHEN data IS NULL OR regexp_full_match(data, ' *') THEN NULL
      WHEN {_PLAIN} THEN NULL
      ELSE inflate_body(data) END AS inflated,
    CASE WHEN {_PLAIN} THEN data END AS plain
  FROM raw
), bodies AS (
  -- What is the same for all of a request's events, computed once per request.
  SELECT *, coalesce(plain, inflated.body) AS body,
    TRY_CAST(uri_param(uri, 'event_bundle_sequence_id') AS BIGINT) AS bundle_sequence_id,
    CASE WHEN ua IS NOT NULL THEN CAST({{'string': ua}} AS MAP(VARCHAR, VARCHAR)) END AS request_ua,
    trim(split_part(ip, ',', 1)) AS ip_first,
    {_request_info(cfg)} AS request_info
  FROM (SELECT *, TRY_CAST(ingest_time AS BIGINT) AS ingest_ms,
      coalesce(TRY_CAST(client_timestamp AS BIGINT), TRY_CAST(uri_param(uri, 'upload_timestamp') AS BIGINT)) AS upload_ms
    FROM lines)
), requests AS (
  SELECT *,
    try(from_json(body, '["JSON"]')) AS events,
    CASE WHEN _corrupt_record IS NOT NULL THEN 'line is not a JSON object'
      WHEN data IS NULL OR regexp_full_match(data, ' *') THEN 'data is null or empty'
      WHEN body IS NULL THEN coalesce(inflated.reason, {q(body.NOT_PACKED)})
    END AS line_error
  FROM bodies
), exploded AS (
  SELECT * EXCLUDE (events, body, inflated, plain, data, line_error),
    coalesce(line_error, CASE WHEN events IS NULL THEN 'data is not a JSON array' END) AS request_error,
    CASE WHEN coalesce(line_error, CASE WHEN events IS NULL THEN 'x' END) IS NOT NULL THEN data END AS data,
    unnest(CASE WHEN line_error IS NULL AND len(events) > 0
      THEN list_transform(events, (x, i) -> {{'pos': i - 1, 'event': x::VARCHAR}})
      ELSE [{{'pos': NULL::BIGINT, 'event': NULL::VARCHAR}}] END) AS u
  FROM requests
), parsed AS (
  SELECT * EXCLUDE (u), u.pos AS pos, u.event AS event,
    CASE WHEN request_error IS NULL AND starts_with(u.event, '{{') THEN from_json(u.event, {q(EVENT_STRUCT)}) END AS e
  FROM exploded
), mapped AS (
  SELECT *, json_map_all(e.attributes) AS attrs, from_json(e.attributes, {q(ATTR_STRUCT)}) AS a,
    json_map(e.user) AS user_map FROM parsed
), base AS (
  SELECT *,
    e.event_id AS event_id,
    coalesce(e.event_type, e.event_name) AS event_name,
    e.app_id AS app_id,
    TRY_CAST(e.timestamp AS BIGINT) AS client_ts,
    {_attr("_page_url")} AS page_url_raw,
    {_attr("_latest_referrer")} AS latest_referrer_raw
  FROM mapped
), checked AS (
  SELECT *,
    CASE WHEN request_error IS NOT NULL THEN request_error
      WHEN length(event) > {MAX_EVENT_BYTES} THEN 'event larger than 1 MiB'
      WHEN e IS NULL THEN 'invalid event JSON'
      WHEN event_id IS NULL THEN 'missing event_id'
      WHEN app_id IS NULL THEN 'missing app_id'
      WHEN client_ts IS NULL THEN 'missing or invalid timestamp'
      WHEN client_ts < {MIN_TIMESTAMP_MS} THEN 'timestamp before the year 2000'
      WHEN cardinality(attrs) > {keys.MAX_ATTRIBUTES} AND len(list_distinct(map_keys(attrs))) > {keys.MAX_ATTRIBUTES}
        THEN 'more than 1000 attributes'
    END AS error,
    client_ts > {now} AS future,
    coalesce(upload_ms IS NULL OR client_ts + (ingest_ms - upload_ms) > {now}, true) AS still_future
  FROM base
), classified AS (
  SELECT *,
    CASE WHEN error IS NOT NULL THEN {q(CORRUPT)}
      WHEN event_name NOT IN ({lifecycle}) AND client_ts > {now} THEN {q(FUTURE)}
      WHEN event_name NOT IN ({lifecycle}) AND ingest_ms - client_ts > {fresh} THEN {q(STALE)}
      WHEN NOT (app_id IN ({apps}) AND trim(coalesce(appId, '')) != '') THEN {q(UNKNOWN_APP)}
      ELSE {q(OK)} END AS status,
    CASE WHEN NOT future THEN 0
      WHEN upload_ms IS NOT NULL AND client_ts + (ingest_ms - upload_ms) <= {now} THEN ingest_ms - upload_ms
      ELSE ingest_ms - client_ts END AS time_diff,
    {q(cfg.project_id)} AS project_id,
    CASE WHEN {known_count} < len(json_keys(event)) THEN {_except("json_map(event::JSON)", keys.KNOWN_TOP_KEYS)} END AS unknown_top,
    first_entries({_except_entries("attrs", keys.KNOWN_ATTRIBUTES)}) AS unknown_attrs
  FROM checked
), prepared AS (
  SELECT *, query_pairs(page_url_raw) AS url_pairs,
    CASE WHEN unknown_top IS NULL THEN coalesce(unknown_attrs, {_NO_ENTRIES})
      ELSE map_entries(map_concat(unknown_top, map_from_entries(coalesce(unknown_attrs, {_NO_ENTRIES})))) END
      AS custom_entries,
    {_process_info(cfg)} AS process_info,
    -- The user entries' values, in user_map's order (its keys are taken from it: a map is costly to build).
    CASE WHEN cardinality(user_map) > 0 THEN list_transform(map_values(user_map), x -> {{
      'x': coalesce(json_extract(x, '$.value'), x), 't': jcast_bigint(json_extract(x, '$.set_timestamp'))}}) END AS user_values
  FROM classified
)
SELECT {", ".join(f'"{c}"' for c in (*KEPT_RAW, *carried))}, data,
  CASE WHEN error IS NOT NULL THEN event END AS event, error, status, pos, coalesce(pos, 0) = 0 AS first,
  client_ts, upload_ms, time_diff,
  {columns},
  CAST(e.items AS VARCHAR) AS items,
  CASE WHEN user_values IS NOT NULL THEN map(map_keys(user_map), list_transform(user_values,
    s -> struct_insert(typed_value(s.x), set_time_msec := s.t))) END AS user_properties,
  entries_json(list_transform(list_zip(map_keys(user_map), user_values), z -> {{'key': z[1], 'value':
    CASE WHEN z[2].t IS NULL THEN json_object('value', z[2].x) ELSE json_object('set_time_msec', z[2].t, 'value', z[2].x) END}}))
    AS user_properties_json_str,
  page_url_raw,
  ip_first
FROM prepared
"""

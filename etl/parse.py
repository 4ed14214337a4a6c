"""Per-event field extraction into event_v2 columns (spec/etl.md §2.3–§2.8), in Spark SQL only.

Each event is parsed once, with `from_json` and `EVENT_SCHEMA` (the known fields), into the struct `e`. Text
fields are read as strings (a number or object keeps its JSON text); numbers, attribute and user values as
VARIANT, read with `try_variant_get`, so a value of the wrong type becomes null instead of failing the row, as
the original's lenient deserializers do. Unknown top-level keys are rare: the event is parsed a second time,
as a map, only when it has more keys (`json_object_keys`, a scan that builds nothing) than fields were read.
"""

from __future__ import annotations

from pyspark.sql import Column
from pyspark.sql import functions as F

KNOWN_TOP_KEYS = frozenset(
    [
        "app_id",
        "unique_id",
        "user_pseudo_id",
        "device_id",
        "device_unique_id",
        "advertising_id",
        "event_type",
        "event_name",
        "event_id",
        "timestamp",
        "platform",
        "os_version",
        "make",
        "brand",
        "model",
        "carrier",
        "network_type",
        "screen_height",
        "screen_width",
        "viewport_width",
        "viewport_height",
        "zone_offset",
        "locale",
        "system_language",
        "sdk_version",
        "sdk_name",
        "app_version",
        "app_package_name",
        "app_title",
        "host_name",
        "user",
        "attributes",
        "items",
        "event_value",
        "event_value_in_usd",
        "event_value_currency",
        "currency",
    ]
)
KNOWN_ATTRIBUTES = frozenset(
    [
        "_traffic_source_source",
        "_traffic_source_medium",
        "_traffic_source_campaign",
        "_traffic_source_content",
        "_traffic_source_term",
        "_traffic_source_campaign_id",
        "_traffic_source_clid_platform",
        "_traffic_source_clid",
        "_traffic_source_channel_group",
        "_traffic_source_category",
        "_utm_source",
        "_utm_medium",
        "_utm_campaign",
        "_utm_content",
        "_utm_term",
        "_utm_id",
        "_utm_source_platform",
        "_gclid",
        "_session_id",
        "_session_start_timestamp",
        "_session_start_time_msec",
        "_session_duration",
        "_session_number",
        "_is_first_time",
        "_previous_app_version",
        "_previous_os_version",
        "_search_key",
        "_search_term",
        "_link_classes",
        "_link_domain",
        "_link_id",
        "_link_url",
        "_outbound",
        "_engagement_time_msec",
        "_error_code",
        "_error_message",
        "_exception_message",
        "_exception_stack",
        "_page_referrer",
        "_page_referrer_title",
        "_page_title",
        "_page_url",
        "_latest_referrer",
        "_latest_referrer_host",
        "_entrances",
        "_previous_timestamp",
        "_screen_name",
        "_screen_id",
        "_screen_unique_id",
        "_previous_screen_name",
        "_previous_screen_id",
        "_previous_screen_unique_id",
        "_app_install_channel",
        "_app_install_source",
        "_install_channel",
    ]
)
# Known top-level keys whose values are numbers; the others are text, or the three nested values below.
NUMBER_KEYS = frozenset(
    [
        "timestamp",
        "screen_height",
        "screen_width",
        "viewport_width",
        "viewport_height",
        "zone_offset",
        "event_value",
        "event_value_in_usd",
    ]
)
NESTED_KEYS = {
    "attributes": "map<string,variant>",
    "user": "map<string,variant>",
    "items": "array<map<string,variant>>",
}
EVENT_SCHEMA = ", ".join(
    [
        *(f"`{k}` string" for k in sorted(KNOWN_TOP_KEYS - NUMBER_KEYS - NESTED_KEYS.keys())),
        *(f"`{k}` variant" for k in sorted(NUMBER_KEYS)),
        *(f"`{k}` {t}" for k, t in NESTED_KEYS.items()),
        "`_corrupt_record` string",
    ]
)
MAX_ATTRIBUTES = 1000
LIFECYCLE_EVENTS = ("_first_open", "_first_visit", "_profile_set")
MOBILE_OS = ("android", "ios", "wechatmp")
# Case-insensitive match of MOBILE_OS (lower() goes through ICU's case mapping, slower per row).
_MOBILE_OS_PATTERN = f"(?i)^({'|'.join(MOBILE_OS)})$"
SHIFT_THRESHOLD_MS = 600_000


def parse_event(event: Column) -> Column:
    """The event text → the struct `e` of its known fields (`_corrupt_record` set when it is not an object)."""
    return F.from_json(event, EVENT_SCHEMA)


def invalid_event() -> Column:
    """True when the event text is not a JSON object. A value of the wrong type (attributes as a string) also
    sets `_corrupt_record`, but the other fields are still read (partial results): such an event is invalid
    only if none of its key fields could be read."""
    e = F.col("e")
    keys_missing = F.coalesce(e["event_id"], e["app_id"], e["timestamp"].cast("string")).isNull()
    return e.isNull() | (e["_corrupt_record"].isNotNull() & keys_missing)


def top(name: str, type_: str = "string") -> Column:
    """A known top-level field of the parsed event, as `type_` (null when it has another type)."""
    value = F.col("e")[name]
    if name in NUMBER_KEYS:
        return F.try_variant_get(value, "$", type_)
    return value if type_ == "string" else value.cast(type_)


def attr(*names: str, type_: str = "string") -> Column:
    """The first present of the named attributes, as `type_`."""
    return F.coalesce(*[F.try_variant_get(F.col("e.attributes")[n], "$", type_) for n in names])


def user_value(name: str, type_: str = "string") -> Column:
    """`user.<name>.value`: a reserved user property's value."""
    return F.try_variant_get(F.col("e.user")[name], "$.value", type_)


def only_for(event: str, value: Column) -> Column:
    return F.when(F.col("event_name") == event, value)


def decoded(value: Column) -> Column:
    return F.coalesce(F.try_url_decode(value), value)


def _host(url: Column) -> Column:
    return F.try_parse_url(_with_scheme(url), F.lit("HOST"))


def typed_values(map_col: str, extra: str = "") -> Column:
    """map<string, struct<x: variant, …>> → map<string, struct<value:string, type:string, …>> (spec/etl.md §2.6).

    The type comes from the first character of the value's JSON text, which is computed once per value
    (`schema_of_variant` per value was the job's hottest expression)."""
    first = "substr(s.j, 1, 1)"
    return F.expr(
        f"""transform_values(transform_values({map_col}, (k, s) -> struct(to_json(s.x) as j, s.x as x{extra})),
            (k, s) -> named_struct(
                'value', case when {first} = '"' then cast(s.x as string) else s.j end,
                'type', case when {first} = '"' then 'string' when {first} in ('t', 'f') then 'boolean'
                    when {first} in ('{{', '[', 'n') then 'object' else 'number' end
                {", 'set_time_msec', s.set_time_msec" if extra else ""}))"""
    )


def typed_map(map_col: str) -> Column:
    """map<string,variant> → map<string, struct<value:string, type:string>>."""
    return typed_values(f"transform_values({map_col}, (k, x) -> struct(x))")


def _unknown(key: str, known: frozenset[str]) -> str:
    """SQL: `key` is not one of `known`."""
    return f"not {key} in ({', '.join(repr(k) for k in sorted(known))})"


def _may_have_unknown_keys() -> Column:
    """False when every top-level key of the event is a known one with a value (the usual case): then the
    keys outnumber none of the fields read. Otherwise (an unknown key, or a known one set to null) the event
    is looked at key by key."""
    read = sum(F.col("e")[k].isNotNull().cast("int") for k in sorted(KNOWN_TOP_KEYS))
    return F.size(F.expr("json_object_keys(event)")) > read


def custom_map() -> Column:
    """Unknown top-level keys merged with unknown attributes (attributes win), as map<string,variant>."""
    unknown_top = F.expr(
        f"map_filter(from_json(event, 'map<string,variant>'), (k, x) -> {_unknown('k', KNOWN_TOP_KEYS)})"
    )
    attributes = F.expr(f"map_filter(coalesce(attrs, map()), (k, x) -> {_unknown('k', KNOWN_ATTRIBUTES)})")
    return F.map_concat(F.when(_may_have_unknown_keys(), unknown_top).otherwise(F.create_map()), attributes)


def time_diff(now_ms: Column) -> Column:
    """Milliseconds to add to the client's times (spec/etl.md §2.4); 0 unless the event is in the future."""
    ts = F.col("client_ts")
    upload = F.col("upload_ms")
    shifted = ts + (F.col("ingest_ms") - upload)
    future = ts > now_ms
    return (
        F.when(~future, F.lit(0))
        .when(upload.isNotNull() & (shifted <= now_ms), F.col("ingest_ms") - upload)
        .otherwise(F.col("ingest_ms") - ts)
    )


def event_base_columns() -> dict[str, Column]:
    """Columns computed straight from the parsed event `e`; the rest depend on these."""
    return {
        "event_id": top("event_id"),
        "event_name": F.coalesce(top("event_type"), top("event_name")),
        "app_id": top("app_id"),
        "client_ts": top("timestamp", "bigint"),
        "ingest_ms": F.col("ingest_time").cast("bigint"),
        "upload_ms": F.coalesce(
            F.col("client_timestamp").cast("bigint"),
            F.expr("try_parse_url(concat('http://x', uri), 'QUERY', 'upload_timestamp')").cast("bigint"),
        ),
        "attrs": F.col("e.attributes"),
        "user_map": F.col("e.user"),
        "page_url_raw": attr("_page_url"),
        "latest_referrer_raw": attr("_latest_referrer"),
    }


def _bundle_sequence() -> Column:
    return F.expr("try_parse_url(concat('http://x', uri), 'QUERY', 'event_bundle_sequence_id')").cast(
        "bigint"
    )


def _plus_diff(value: Column) -> Column:
    return value + F.col("time_diff")


def event_columns() -> dict[str, Column]:
    """event_v2 columns, in terms of the base columns and `time_diff`."""
    platform = top("platform")
    value = F.coalesce(top("event_value", "double"), top("event_value_in_usd", "double"))
    page_url = F.col("page_url_raw")
    return {
        "event_time_msec": F.col("client_ts") + F.col("time_diff"),
        "event_value": value,
        "event_value_currency": F.when(
            value.isNotNull(), F.coalesce(top("event_value_currency"), top("currency"), F.lit("USD"))
        ).otherwise(F.coalesce(top("event_value_currency"), top("currency"))),
        "event_bundle_sequence_id": _bundle_sequence(),
        "ingest_time_msec": F.col("ingest_ms"),
        "device_mobile_brand_name": top("brand"),
        "device_mobile_model_name": top("model"),
        "device_manufacturer": top("make"),
        "device_carrier": top("carrier"),
        "device_network_type": top("network_type"),
        "device_operating_system": F.when(F.regexp_like(platform, F.lit(_MOBILE_OS_PATTERN)), platform),
        "device_operating_system_version": top("os_version"),
        "device_vendor_id": top("device_id"),
        "device_advertising_id": F.coalesce(top("device_unique_id"), top("advertising_id")),
        "device_system_language": top("system_language"),
        "device_time_zone_offset_seconds": (top("zone_offset", "bigint") / 1000).cast("int"),
        "device_ua": F.when(F.col("ua").isNotNull(), F.create_map(F.lit("string"), F.col("ua"))),
        "device_screen_width": top("screen_width", "int"),
        "device_screen_height": top("screen_height", "int"),
        "device_viewport_width": top("viewport_width", "int"),
        "device_viewport_height": top("viewport_height", "int"),
        "geo_locale": top("locale"),
        "user_first_touch_time_msec": _plus_diff(user_value("_user_first_touch_timestamp", "bigint")),
        "app_package_id": top("app_package_name"),
        "app_version": top("app_version"),
        "app_title": top("app_title"),
        "app_install_source": attr("_app_install_channel", "_app_install_source", "_install_channel"),
        "platform": F.coalesce(platform, F.lit("Web")),
        "screen_view_screen_name": attr("_screen_name"),
        "screen_view_screen_id": attr("_screen_id"),
        "screen_view_screen_unique_id": attr("_screen_unique_id"),
        "screen_view_previous_screen_name": attr("_previous_screen_name"),
        "screen_view_previous_screen_id": attr("_previous_screen_id"),
        "screen_view_previous_screen_unique_id": attr("_previous_screen_unique_id"),
        "screen_view_previous_time_msec": only_for(
            "_screen_view", _plus_diff(attr("_previous_timestamp", type_="bigint"))
        ),
        "screen_view_engagement_time_msec": only_for(
            "_screen_view", attr("_engagement_time_msec", type_="bigint")
        ),
        "screen_view_entrances": attr("_entrances", type_="boolean"),
        "page_view_page_referrer": decoded(attr("_page_referrer")),
        "page_view_page_referrer_title": decoded(attr("_page_referrer_title")),
        "page_view_previous_time_msec": only_for(
            "_page_view", _plus_diff(attr("_previous_timestamp", type_="bigint"))
        ),
        "page_view_engagement_time_msec": only_for(
            "_page_view", attr("_engagement_time_msec", type_="bigint")
        ),
        "page_view_page_title": decoded(attr("_page_title")),
        "page_view_page_url": decoded(page_url),
        "page_view_page_url_path": F.try_parse_url(_with_scheme(page_url), F.lit("PATH")),
        "page_view_page_url_query_parameters": _query_map(page_url),
        "page_view_hostname": F.coalesce(top("host_name"), _host(page_url)),
        "page_view_latest_referrer": decoded(F.col("latest_referrer_raw")),
        "page_view_latest_referrer_host": F.coalesce(
            attr("_latest_referrer_host"), _host(F.col("latest_referrer_raw"))
        ),
        "page_view_entrances": attr("_entrances", type_="boolean"),
        "app_start_is_first_time": only_for("_app_start", attr("_is_first_time", type_="boolean")),
        "upgrade_previous_app_version": attr("_previous_app_version"),
        "upgrade_previous_os_version": attr("_previous_os_version"),
        "search_key": attr("_search_key"),
        "search_term": attr("_search_term"),
        "outbound_link_classes": attr("_link_classes"),
        "outbound_link_domain": attr("_link_domain"),
        "outbound_link_id": attr("_link_id"),
        "outbound_link_url": attr("_link_url"),
        "outbound_link": attr("_outbound", type_="boolean"),
        "user_engagement_time_msec": only_for(
            "_user_engagement", attr("_engagement_time_msec", type_="bigint")
        ),
        "user_id": user_value("_user_id"),
        "user_pseudo_id": F.coalesce(top("unique_id"), top("user_pseudo_id")),
        "session_id": attr("_session_id"),
        "session_start_time_msec": _plus_diff(
            attr("_session_start_time_msec", "_session_start_timestamp", type_="bigint")
        ),
        "session_duration": attr("_session_duration", type_="bigint"),
        "session_number": attr("_session_number", type_="bigint"),
        "scroll_engagement_time_msec": only_for("_scroll", attr("_engagement_time_msec", type_="bigint")),
        "sdk_error_code": attr("_error_code"),
        "sdk_error_message": attr("_error_message"),
        "sdk_version": top("sdk_version"),
        "sdk_name": top("sdk_name"),
        "app_exception_message": attr("_exception_message"),
        "app_exception_stack": attr("_exception_stack"),
    }


def _with_scheme(url: Column) -> Column:
    """`https://` prepended when the URL has no scheme; null for an empty URL, whose parse would always fail
    (and a failed parse costs a thrown exception per row)."""
    url = F.nullif(url, F.lit(""))
    return F.when(F.locate("://", F.substring(url, 1, 15)) == 0, F.concat(F.lit("https://"), url)).otherwise(
        url
    )


def _query_map(url: Column) -> Column:
    """Query parameters as map<param, values joined by ','>, values URL-decoded; null without parameters."""
    query = F.try_parse_url(_with_scheme(url), F.lit("QUERY"))
    pairs = F.transform(F.filter(F.split(query, "&"), lambda p: p != ""), lambda p: F.split(p, "=", 2))
    keys = F.array_distinct(F.transform(pairs, lambda p: p[0]))
    values = F.transform(
        keys,
        lambda k: F.array_join(
            F.transform(
                F.filter(pairs, lambda p: p[0] == k),
                lambda p: F.coalesce(F.try_url_decode(F.coalesce(p[1], F.lit(""))), p[1]),
            ),
            ",",
        ),
    )
    return F.when(F.size(keys) > 0, F.map_from_arrays(keys, values))


def traffic_client_columns() -> dict[str, Column]:
    """Step A of spec/etl.md §4.3: the SDK's own traffic values (preset key, else UTM)."""
    gclid = attr("_gclid")
    return {
        "traffic_source_source": attr("_traffic_source_source", "_utm_source"),
        "traffic_source_medium": attr("_traffic_source_medium", "_utm_medium"),
        "traffic_source_campaign": attr("_traffic_source_campaign", "_utm_campaign"),
        "traffic_source_content": attr("_traffic_source_content", "_utm_content"),
        "traffic_source_term": attr("_traffic_source_term", "_utm_term"),
        "traffic_source_campaign_id": attr("_traffic_source_campaign_id", "_utm_id"),
        "traffic_source_clid_platform": attr("_traffic_source_clid_platform", "_utm_source_platform"),
        "traffic_source_clid": F.coalesce(
            attr("_traffic_source_clid"),
            F.when(
                gclid.isNotNull(), F.to_json(F.struct(F.lit("gclid").alias("type"), gclid.alias("value")))
            ),
        ),
        "traffic_source_channel_group": attr("_traffic_source_channel_group"),
        "traffic_source_category": attr("_traffic_source_category"),
    }

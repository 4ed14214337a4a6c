"""The event format's known keys (spec/etl.md §2.3–§2.6), which the shared SQL (etl/sql.py) reads, and the
Spark helpers the GTM and Sensors transformers share (typed maps, URL parts).

The event_v2 columns themselves are computed by the shared SQL on both engines.
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
MAX_ATTRIBUTES = 1000
LIFECYCLE_EVENTS = ("_first_open", "_first_visit", "_profile_set")
MOBILE_OS = ("android", "ios", "wechatmp")


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

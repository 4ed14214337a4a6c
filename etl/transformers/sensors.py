"""Sensors Data SDK payloads → event rows (BUILT-IN-5, the original's SensorsDataTransformerV2).

A raw line's `data` is what a Sensors SDK posts: a form body with `data=` or `data_list=` holding the
URL-encoded base64 of an event object or array (gzipped or not), or the JSON itself. There is no client
timestamp in the event time: it is the ingest time (the SDK's `time` is kept as `$time`). Per event:

* `distinct_id` is the user pseudo id, the login identity (`identities.$identity_login_id`) the user id;
* `$pageview`, `$AppViewScreen`, `$AppStart`, `$AppEnd` become `_page_view`, `_screen_view`, `_app_start`,
  `_app_end` (and `page_view`, `login`, `user_engagement`, `click` as for GTM); others keep their name;
* a profile record (`type` profile_set…, no event name) is a `_profile_set` event whose properties are the
  user properties (the original skipped it);
* an event flagged `$is_first_time` also yields a `_first_open` event (id suffix `-first-open`);
* `properties.$…` device, page and app fields are read into columns; on other events, properties whose name
  contains `user` are the user properties; every key not read into a column is a custom parameter (with `$time`,
  `$distinct_id`, `$anonymous_id` and the identities).
"""

from __future__ import annotations

from typing import ClassVar

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from etl import parse, read, transform
from etl.config import JobConfig
from etl.plugins import Context, Transformer, TransformOutput
from etl.results import OK
from etl.transformers import common
from etl.transformers.common import get

EVENT_NAMES = {
    "$pageview": "_page_view",
    "$AppViewScreen": "_screen_view",
    "$AppStart": "_app_start",
    "$AppEnd": "_app_end",
    "page_view": "_page_view",
    "login": "_profile_set",
    "user_engagement": "_user_engagement",
    "click": "_click",
}
TOP_KEYS = ("distinct_id", "time", "event", "anonymous_id", "identities", "lib", "properties", "items")
PROPERTY_KEYS = (
    "$os", "$os_version", "$manufacturer", "$model", "$brand", "$screen_width", "$screen_height",
    "$viewport_width", "$viewport_height", "$carrier", "$timezone_offset", "$app_name", "$wifi",
    "$network_type", "$device_id", "$event_duration", "$referrer", "$referrer_title", "$url", "$title",
    "$screen_name", "$browser_language", "$city", "$province", "$is_first_time", "value", "currency",
)  # fmt: skip
LIB_KEYS = ("$lib", "$lib_version", "$app_version")


def prop(name: str, type_: str = "string") -> Column:
    return get(f'$.properties["{name}"]', type_)


def _payload(data: Column) -> Column:
    """The `data=`/`data_list=` field of a form body, URL-decoded, then base64-decoded when that gives JSON
    text; a gzipped payload stays base64 (the clickstream reader gunzips it); JSON bodies pass through."""
    trimmed = F.trim(data)
    field = F.regexp_extract(data, r"(?:^|&)(?:data_list|data)=([^&]*)", 1)
    b64 = F.coalesce(F.try_url_decode(field), field)
    text = F.try_to_binary(b64, F.lit("base64")).cast("string")  # a cast: invalid UTF-8 does not fail
    is_json = F.trim(text).rlike(r"^(\{.*\}|\[.*\])$")
    return (
        F.when(trimmed.startswith("{") | trimmed.startswith("["), data)
        .when(field == "", data)
        .when(is_json, text)
        .otherwise(b64)
    )


def read_events(spark: SparkSession, paths: list[str], cfg: JobConfig) -> transform.Parsed:
    """Raw lines → one classified row per event (and per synthesized `_first_open`), cached, with counts."""
    raw = read.read_raw(spark, paths)
    first = [(prop("$is_first_time", "boolean"), "-first-open", "_first_open")]
    # A profile record (`type` profile_set, profile_set_once…) has no event name: it is a _profile_set event
    # whose properties are the user's.
    profile = F.when(get("type").startswith("profile_"), F.lit("_profile_set"))
    name, ids = F.coalesce(F.nullif(get("event"), F.lit("")), profile), [get("distinct_id")]
    return common.read_events(raw, cfg, name, EVENT_NAMES, first, ids, _payload(F.col("data")))


def _device_columns() -> dict[str, Column]:
    wifi = prop("$wifi", "boolean")
    offset = prop("$timezone_offset", "bigint")
    return {
        "device_mobile_brand_name": prop("$brand"),
        "device_mobile_model_name": prop("$model"),
        "device_manufacturer": prop("$manufacturer"),
        "device_carrier": prop("$carrier"),
        "device_network_type": F.coalesce(
            prop("$network_type"), F.when(wifi, F.lit("WIFI")).when(~wifi, F.lit("CELLULAR"))
        ),
        "device_operating_system": prop("$os"),
        "device_operating_system_version": prop("$os_version"),
        "device_vendor_id": prop("$device_id"),
        "device_system_language": prop("$browser_language"),
        # `$timezone_offset` is JavaScript's getTimezoneOffset(): minutes, positive west of UTC.
        "device_time_zone_offset_seconds": (-offset * 60).cast("int"),
        "device_ua": F.when(F.col("ua").isNotNull(), F.create_map(F.lit("string"), F.col("ua"))),
        "device_screen_width": prop("$screen_width", "int"),
        "device_screen_height": prop("$screen_height", "int"),
        "device_viewport_width": prop("$viewport_width", "int"),
        "device_viewport_height": prop("$viewport_height", "int"),
    }


def _custom() -> Column:
    """Unknown top-level keys, unknown properties, unknown lib keys, the identities, and the SDK's ids/time."""
    top_keys = ", ".join(f"'{k}'" for k in TOP_KEYS)
    prop_keys = ", ".join(f"'{k}'" for k in PROPERTY_KEYS)
    lib_keys = ", ".join(f"'{k}'" for k in LIB_KEYS)
    unknown = F.expr(
        f"""map_concat(
            map_filter(coalesce(try_variant_get(v, '$', 'map<string,variant>'), map()),
                (k, x) -> not array_contains(array({top_keys}), k)),
            map_filter(coalesce(try_variant_get(v, '$.properties', 'map<string,variant>'), map()),
                (k, x) -> not array_contains(array({prop_keys}), k)),
            map_filter(coalesce(try_variant_get(v, '$.lib', 'map<string,variant>'), map()),
                (k, x) -> not array_contains(array({lib_keys}), k)),
            coalesce(try_variant_get(v, '$.identities', 'map<string,variant>'), map()),
            map_filter(map(
                '$time', try_variant_get(v, '$.time', 'variant'),
                '$distinct_id', try_variant_get(v, '$.distinct_id', 'variant'),
                '$anonymous_id', try_variant_get(v, '$.anonymous_id', 'variant')), (k, x) -> x is not null))"""
    )
    return F.when(F.size(unknown) > 0, unknown)


def _user_props() -> Column:
    """A profile record's properties; on other events, the properties whose name contains `user` (as the
    original)."""
    return F.expr(
        """map_filter(coalesce(try_variant_get(v, '$.properties', 'map<string,variant>'), map()),
            (k, x) -> startswith(try_variant_get(v, '$.type', 'string'), 'profile_') or k like '%user%')"""
    )


def _event_columns() -> dict[str, Column]:
    page_url = prop("$url")
    first_visit = F.coalesce(prop("$is_first_time", "boolean"), F.lit(False))
    duration = prop("$event_duration", "double")
    return {
        "event_time_msec": F.col("ingest_ms"),
        "event_value": prop("value", "double"),
        "event_value_currency": prop("currency"),
        "ingest_time_msec": F.col("ingest_ms"),
        **_device_columns(),
        "geo_region": prop("$province"),
        "geo_city": prop("$city"),
        **common.traffic_client_columns(),
        "platform": F.coalesce(prop("$os"), F.lit("Web")),
        "app_title": prop("$app_name"),
        "app_version": F.coalesce(get('$.lib["$app_version"]'), prop("$app_version")),
        "sdk_name": get('$.lib["$lib"]'),
        "sdk_version": get('$.lib["$lib_version"]'),
        "screen_view_screen_name": prop("$screen_name"),
        "page_view_page_referrer": parse.decoded(prop("$referrer")),
        "page_view_page_referrer_title": parse.decoded(prop("$referrer_title")),
        "page_view_page_title": parse.decoded(prop("$title")),
        **transform.page_url_columns(page_url),
        "page_url_raw": page_url,
        # `$event_duration` is in seconds.
        "user_engagement_time_msec": (duration * 1000).cast("bigint"),
        "user_id": get('$.identities["$identity_login_id"]'),
        "user_pseudo_id": get("distinct_id"),
        "user_values": common.user_values(_user_props()),
        "user_first_touch_time_msec": F.when(
            first_visit, F.coalesce(get("time", "bigint"), F.col("ingest_ms"))
        ),
        "session_start_time_msec": get("time", "bigint"),
        "items": get("items", "array<map<string,variant>>"),
        "custom_raw": _custom(),
    }


def event_rows(parsed: transform.Parsed, cfg: JobConfig) -> DataFrame:
    """Accepted events as event rows; `ip` and `ua` are the request's, as for Clickstream SDK events."""
    ok = parsed.rows.where(F.col("status") == OK)
    if cfg.anonymise_ip:
        from etl.enrich.geo import anonymise_column

        ok = anonymise_column(ok)
    ok = ok.withColumn("process_info", transform.process_info(cfg))
    columns = _event_columns()
    kept = ok.drop(*[c for c in columns if c in ok.columns])
    return common.event_rows(kept.select("*", *[c.alias(n) for n, c in columns.items()]), cfg)


class SensorsTransformer(Transformer):
    name: ClassVar[str] = "sensors"
    description: ClassVar[str] = "Sensors Data SDK payloads (the original's SensorsDataTransformerV2)."

    def transform(self, paths: list[str], ctx: Context) -> TransformOutput:
        parsed = read_events(ctx.spark, paths, ctx.cfg)
        ctx.extra["parsed"] = parsed
        return TransformOutput(
            event_rows(parsed, ctx.cfg), transform.corrupted_records(parsed), parsed.counts
        )

"""Google Tag Manager server-side payloads → event rows (BUILT-IN-4, the original's GTMServerDataTransformerV2).

A raw line's `data` is one GA4 event object as the GTM server's HTTP tag sends it (or an array of them, or
either one base64-gzipped). There is no client timestamp: the event time is the ingest time. Per event:

* `event_name` is mapped (`page_view` → `_page_view`, `login` → `_profile_set`, `user_engagement` →
  `_user_engagement`, `click` → `_click`; others unchanged), and the event id is
  `<rid>-<index>-<ga_session_id>-<ga_session_number or x>`;
* `client_id` is the user pseudo id, `user_id` the user id, `ga_session_id`/`ga_session_number` the session;
* a request flagged first visit (`x-ga-system_properties.fv`) also yields a `_first_open` event (id suffix
  `-first-open`), one flagged session start (`ss` = "1") a `_session_start` event (`-session-start`);
* `x-ga-mp2-user_properties` are the user properties (`_user_id` stored as `user_id`);
* `ip_override` and `user_agent` are the address and User-Agent the enrichers use; client hints give the
  platform, OS and browser; every key not mapped to a column is a custom parameter.
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
    "page_view": "_page_view",
    "login": "_profile_set",
    "user_engagement": "_user_engagement",
    "click": "_click",
}
# Keys read into columns and not repeated as custom parameters; every other key is one (client_id,
# ip_override, user_agent, client_hints… included, as in the original).
MAPPED_KEYS = (
    "currency", "engagement_time_msec", "event_name", "ga_session_id", "ga_session_number", "item_id",
    "items", "language", "page_location", "page_referrer", "page_title", "user_id", "value",
)  # fmt: skip
SYSTEM = '$["x-ga-system_properties"]'
SST = '$["x-sst-system_properties"]'


def _copies() -> list[tuple[Column, str, str]]:
    """`_first_open` when the request says first visit, `_session_start` when it says session start."""
    fv = get(f"{SYSTEM}.fv")
    first_visit = fv.isNotNull() & (fv != "0") & (F.lower(fv) != "false")
    return [
        (first_visit, "-first-open", "_first_open"),
        (get(f"{SYSTEM}.ss") == "1", "-session-start", "_session_start"),
    ]


def read_events(spark: SparkSession, paths: list[str], cfg: JobConfig) -> transform.Parsed:
    """Raw lines → one classified row per event (and per synthesized event), cached, with counts."""
    session = [
        get("ga_session_id"),
        F.coalesce(get("ga_session_number", "bigint").cast("string"), F.lit("x")),
    ]
    raw = read.read_raw(spark, paths)
    return common.read_events(raw, cfg, get("event_name"), EVENT_NAMES, _copies(), session)


def _platform() -> Column:
    hinted = F.nullif(F.regexp_replace(get("client_hints.platform"), r"\W", ""), F.lit(""))
    mobile = F.when(get("client_hints.mobile", "boolean"), F.lit("Mobile"))
    return F.coalesce(hinted, mobile, F.lit("Web"))


def _device_columns() -> dict[str, Column]:
    brands = get("client_hints.brands", "array<struct<brand:string,version:string>>")
    versions = get("client_hints.full_version_list", "array<struct<brand:string,version:string>>")
    has_versions = F.size(F.coalesce(versions, F.array())) > 0
    # Client hints quote the platform ("\"macOS\""); the original kept the quotes in this column.
    os_name = F.regexp_replace(get("client_hints.platform"), r'^"(.*)"$', "$1")
    os_version = get("client_hints.platform_version")
    screen = F.split(get("screen_resolution"), "x")
    two = F.size(screen) == 2
    return {
        "device_mobile_brand_name": F.when(F.size(brands) > 0, brands[0]["brand"]),
        "device_mobile_model_name": F.when(F.size(brands) > 0, get("client_hints.model")),
        "device_operating_system": os_name,
        "device_operating_system_version": os_version,
        "device_system_language": get("language"),
        "device_ua_browser": F.when(has_versions, F.element_at(versions, -1)["brand"]),
        "device_ua_browser_version": F.when(has_versions, F.element_at(versions, -1)["version"]),
        "device_ua_os": F.when(has_versions, os_name),
        "device_ua_os_version": F.when(has_versions, os_version),
        "device_ua": F.when(F.col("ua").isNotNull(), F.create_map(F.lit("string"), F.col("ua"))),
        "device_screen_width": F.when(two, screen[0].try_cast("int")),
        "device_screen_height": F.when(two, screen[1].try_cast("int")),
    }


def _geo_columns() -> dict[str, Column]:
    located = get("event_location", "variant").isNotNull()
    region = F.when(located, get("event_location.region"))
    return {
        "geo_country": F.when(located, get("event_location.country")).otherwise(get(f"{SST}.uc")),
        "geo_region": F.coalesce(region, get('$["x-ga-ur"]')),
    }


def _user_columns() -> dict[str, Column]:
    props = F.expr(
        f"""transform_keys(
            map_filter(coalesce(try_variant_get(v, '{USER_PROPS}', 'map<string,variant>'), map()),
                (k, x) -> k != 'user_id' or not exists(map_keys(try_variant_get(v, '{USER_PROPS}', 'map<string,variant>')), n -> n = '_user_id')),
            (k, x) -> case when k = '_user_id' then 'user_id' else k end)"""
    )  # fmt: skip
    fv = get(f"{SYSTEM}.fv")
    first_visit = fv.isNotNull() & (fv != "0") & (F.lower(fv) != "false")
    started = get(f"{SST}.request_start_time_ms", "bigint")
    return {
        "user_id": get("user_id"),
        "user_pseudo_id": get("client_id"),
        "user_values": common.user_values(props),
        # Only a first-visit request knows when the user first came: its time is the first touch.
        "user_first_touch_time_msec": F.when(
            first_visit, F.coalesce(F.when(started > 0, started), F.col("ingest_ms"))
        ),
    }


USER_PROPS = '$["x-ga-mp2-user_properties"]'


def _items() -> Column:
    """Items as maps; an item without its own currency takes the event's (the original gives every item the
    event's currency)."""
    return F.expr(
        """transform(try_variant_get(v, '$.items', 'array<map<string,variant>>'), i ->
            case when try_variant_get(v, '$.currency', 'variant') is null or map_contains_key(i, 'currency') then i
            else map_concat(i, map('currency', try_variant_get(v, '$.currency', 'variant'))) end)"""
    )


def _custom() -> Column:
    """Every key not read into a column, with `ip_override` as stored in `ip` (anonymised when asked)."""
    mapped = ", ".join(f"'{k}'" for k in MAPPED_KEYS)
    kept = F.expr(
        f"map_filter(try_variant_get(v, '$', 'map<string,variant>'), (k, x) -> not array_contains(array({mapped}), k))"
    )
    custom = F.transform_values(
        kept, lambda k, x: F.when(k == "ip_override", F.col("ip").cast("variant")).otherwise(x)
    )
    return F.when(F.size(custom) > 0, custom)


def _event_columns(cfg: JobConfig) -> dict[str, Column]:
    page_url = get("page_location")
    return {
        "event_time_msec": F.col("ingest_ms"),
        "event_value": get("value", "double"),
        "event_value_currency": get("currency"),
        "ingest_time_msec": F.col("ingest_ms"),
        **_device_columns(),
        **_geo_columns(),
        **common.traffic_client_columns(),
        "platform": _platform(),
        "page_view_page_referrer": parse.decoded(get("page_referrer")),
        "page_view_page_title": parse.decoded(get("page_title")),
        **transform.page_url_columns(page_url),
        "page_url_raw": page_url,
        "user_engagement_time_msec": get("engagement_time_msec", "bigint"),
        **_user_columns(),
        "session_id": get("ga_session_id"),
        "session_start_time_msec": get(f"{SST}.request_start_time_ms", "bigint"),
        "session_number": get("ga_session_number", "bigint"),
        "items": _items(),
        "custom_raw": _custom(),
    }


def event_rows(parsed: transform.Parsed, cfg: JobConfig) -> DataFrame:
    """Accepted events as event rows; `ip` is the payload's `ip_override` (the visitor's address; the line's
    address is the GTM server's, kept as process_info `source_ip`)."""
    ok = parsed.rows.where(F.col("status") == OK)
    if cfg.anonymise_ip:
        from etl.enrich.geo import anonymise_column

        ok = anonymise_column(ok)
    ok = ok.withColumn("process_info", transform.process_info(cfg))
    ok = ok.withColumns({"ip": get("ip_override"), "ua": get("user_agent")})
    if cfg.anonymise_ip:
        ok = anonymise_column(ok)
    columns = _event_columns(cfg)
    with_cols = ok.drop(*[c for c in columns if c in ok.columns]).select(
        "*", *[c.alias(n) for n, c in columns.items()]
    )
    return common.event_rows(with_cols, cfg)


class GTMServerTransformer(Transformer):
    name: ClassVar[str] = "gtm"
    description: ClassVar[str] = (
        "Google Tag Manager server-side (GA4) payloads (the original's GTMServerDataTransformerV2)."
    )

    def transform(self, paths: list[str], ctx: Context) -> TransformOutput:
        parsed = read_events(ctx.spark, paths, ctx.cfg)
        ctx.extra["parsed"] = parsed
        return TransformOutput(
            event_rows(parsed, ctx.cfg), transform.corrupted_records(parsed), parsed.counts
        )

"""The event format's known keys and the derived tables' field lists (spec/etl.md §2.3–§2.11), without
Spark: the shared SQL (etl/sql.py) and the DuckDB engine read them, so the DuckDB path never imports pyspark.
`etl.parse` and `etl.tables` re-export them for the Spark code.
"""

from __future__ import annotations

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

ITEM_FIELDS = {
    "name": ("item_name", "name"),
    "brand": ("brand",),
    "currency": ("currency",),
    "price": ("price",),
    "quantity": ("quantity",),
    "creative_name": ("creative_name",),
    "creative_slot": ("creative_slot",),
    "location_id": ("location_id",),
    "category": ("category",),
    "category2": ("category2",),
    "category3": ("category3",),
    "category4": ("category4",),
    "category5": ("category5",),
}
KNOWN_ITEM_KEYS = {"id", "item_id"} | {k for keys in ITEM_FIELDS.values() for k in keys}
FIRST_TOUCH_EVENTS = ("_first_open", "_first_visit", "_session_start", "_screen_view")
SESSION_EVENTS = ("_session_start", "_page_view", "_user_engagement", "_screen_view", "_app_end")
TRAFFIC = ("source", "medium", "campaign", "content", "term", "campaign_id", "clid_platform", "clid")
SESSION_TRAFFIC = {f"traffic_source_{k}": f"session_{k}" for k in TRAFFIC} | {
    "traffic_source_channel_group": "session_channel_group",
    "traffic_source_category": "session_source_category",
}

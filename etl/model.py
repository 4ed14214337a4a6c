"""The data model v2 (spec/etl.md §3): column names and Spark types of the four output tables."""

from __future__ import annotations

EVENT_V2_COLUMNS: tuple[tuple[str, str], ...] = (
    ("event_timestamp", "timestamp"),
    ("event_id", "string"),
    ("event_time_msec", "bigint"),
    ("event_name", "string"),
    ("event_value", "double"),
    ("event_value_currency", "string"),
    ("event_bundle_sequence_id", "bigint"),
    ("ingest_time_msec", "bigint"),
    ("device_mobile_brand_name", "string"),
    ("device_mobile_model_name", "string"),
    ("device_manufacturer", "string"),
    ("device_carrier", "string"),
    ("device_network_type", "string"),
    ("device_operating_system", "string"),
    ("device_operating_system_version", "string"),
    ("device_vendor_id", "string"),
    ("device_advertising_id", "string"),
    ("device_system_language", "string"),
    ("device_time_zone_offset_seconds", "int"),
    ("device_ua_browser", "string"),
    ("device_ua_browser_version", "string"),
    ("device_ua_os", "string"),
    ("device_ua_os_version", "string"),
    ("device_ua_device", "string"),
    ("device_ua_device_category", "string"),
    ("device_ua", "map<string,string>"),
    ("device_screen_width", "int"),
    ("device_screen_height", "int"),
    ("device_viewport_width", "int"),
    ("device_viewport_height", "int"),
    ("geo_continent", "string"),
    ("geo_sub_continent", "string"),
    ("geo_country", "string"),
    ("geo_region", "string"),
    ("geo_metro", "string"),
    ("geo_city", "string"),
    ("geo_locale", "string"),
    ("traffic_source_source", "string"),
    ("traffic_source_medium", "string"),
    ("traffic_source_campaign", "string"),
    ("traffic_source_content", "string"),
    ("traffic_source_term", "string"),
    ("traffic_source_campaign_id", "string"),
    ("traffic_source_clid_platform", "string"),
    ("traffic_source_clid", "string"),
    ("traffic_source_channel_group", "string"),
    ("traffic_source_category", "string"),
    ("user_first_touch_time_msec", "bigint"),
    ("app_package_id", "string"),
    ("app_version", "string"),
    ("app_title", "string"),
    ("app_install_source", "string"),
    ("platform", "string"),
    ("project_id", "string"),
    ("app_id", "string"),
    ("screen_view_screen_name", "string"),
    ("screen_view_screen_id", "string"),
    ("screen_view_screen_unique_id", "string"),
    ("screen_view_previous_screen_name", "string"),
    ("screen_view_previous_screen_id", "string"),
    ("screen_view_previous_screen_unique_id", "string"),
    ("screen_view_previous_time_msec", "bigint"),
    ("screen_view_engagement_time_msec", "bigint"),
    ("screen_view_entrances", "boolean"),
    ("page_view_page_referrer", "string"),
    ("page_view_page_referrer_title", "string"),
    ("page_view_previous_time_msec", "bigint"),
    ("page_view_engagement_time_msec", "bigint"),
    ("page_view_page_title", "string"),
    ("page_view_page_url", "string"),
    ("page_view_page_url_path", "string"),
    ("page_view_page_url_query_parameters", "map<string,string>"),
    ("page_view_hostname", "string"),
    ("page_view_latest_referrer", "string"),
    ("page_view_latest_referrer_host", "string"),
    ("page_view_entrances", "boolean"),
    ("app_start_is_first_time", "boolean"),
    ("upgrade_previous_app_version", "string"),
    ("upgrade_previous_os_version", "string"),
    ("search_key", "string"),
    ("search_term", "string"),
    ("outbound_link_classes", "string"),
    ("outbound_link_domain", "string"),
    ("outbound_link_id", "string"),
    ("outbound_link_url", "string"),
    ("outbound_link", "boolean"),
    ("user_engagement_time_msec", "bigint"),
    ("user_id", "string"),
    ("user_pseudo_id", "string"),
    ("session_id", "string"),
    ("session_start_time_msec", "bigint"),
    ("session_duration", "bigint"),
    ("session_number", "bigint"),
    ("scroll_engagement_time_msec", "bigint"),
    ("sdk_error_code", "string"),
    ("sdk_error_message", "string"),
    ("sdk_version", "string"),
    ("sdk_name", "string"),
    ("app_exception_message", "string"),
    ("app_exception_stack", "string"),
    ("custom_parameters_json_str", "string"),
    ("custom_parameters", "map<string,struct<value:string,type:string>>"),
    ("process_info", "map<string,string>"),
    ("created_time", "timestamp"),
)

USER_V2_COLUMNS: tuple[tuple[str, str], ...] = (
    ("event_timestamp", "timestamp"),
    ("user_pseudo_id", "string"),
    ("user_id", "string"),
    ("user_properties", "map<string,struct<value:string,type:string,set_time_msec:bigint>>"),
    ("user_properties_json_str", "string"),
    ("first_touch_time_msec", "bigint"),
    ("first_visit_date", "date"),
    ("first_referrer", "string"),
    ("first_traffic_source", "string"),
    ("first_traffic_medium", "string"),
    ("first_traffic_campaign", "string"),
    ("first_traffic_content", "string"),
    ("first_traffic_term", "string"),
    ("first_traffic_campaign_id", "string"),
    ("first_traffic_clid_platform", "string"),
    ("first_traffic_clid", "string"),
    ("first_traffic_channel_group", "string"),
    ("first_traffic_category", "string"),
    ("first_app_install_source", "string"),
    ("process_info", "map<string,string>"),
    ("created_time", "timestamp"),
)

ITEM_V2_COLUMNS: tuple[tuple[str, str], ...] = (
    ("event_timestamp", "timestamp"),
    ("event_id", "string"),
    ("event_name", "string"),
    ("platform", "string"),
    ("user_pseudo_id", "string"),
    ("user_id", "string"),
    ("item_id", "string"),
    ("name", "string"),
    ("brand", "string"),
    ("currency", "string"),
    ("price", "double"),
    ("quantity", "double"),
    ("creative_name", "string"),
    ("creative_slot", "string"),
    ("location_id", "string"),
    ("category", "string"),
    ("category2", "string"),
    ("category3", "string"),
    ("category4", "string"),
    ("category5", "string"),
    ("custom_parameters_json_str", "string"),
    ("custom_parameters", "map<string,struct<value:string,type:string>>"),
    ("process_info", "map<string,string>"),
    ("created_time", "timestamp"),
)

SESSION_COLUMNS: tuple[tuple[str, str], ...] = (
    ("event_timestamp", "timestamp"),
    ("user_pseudo_id", "string"),
    ("session_id", "string"),
    ("user_id", "string"),
    ("session_number", "bigint"),
    ("session_start_time_msec", "bigint"),
    ("session_source", "string"),
    ("session_medium", "string"),
    ("session_campaign", "string"),
    ("session_content", "string"),
    ("session_term", "string"),
    ("session_campaign_id", "string"),
    ("session_clid_platform", "string"),
    ("session_clid", "string"),
    ("session_channel_group", "string"),
    ("session_source_category", "string"),
    ("process_info", "map<string,string>"),
    ("created_time", "timestamp"),
)
TABLES: dict[str, tuple[tuple[str, str], ...]] = {
    "event_v2": EVENT_V2_COLUMNS,
    "user_v2": USER_V2_COLUMNS,
    "item_v2": ITEM_V2_COLUMNS,
    "session": SESSION_COLUMNS,
}
PARTITION_COLUMNS = ("partition_app", "partition_year", "partition_month", "partition_day")

_TS = "traffic_source_"
_EVENT_255 = (
    "event_id event_name device_mobile_brand_name device_mobile_model_name device_manufacturer device_carrier "
    "device_network_type device_operating_system device_operating_system_version device_vendor_id "
    "device_advertising_id device_system_language app_package_id app_id app_version app_title "
    "app_install_source platform project_id screen_view_screen_name screen_view_screen_id "
    "screen_view_screen_unique_id screen_view_previous_screen_name screen_view_previous_screen_id "
    "screen_view_previous_screen_unique_id upgrade_previous_app_version upgrade_previous_os_version user_id "
    "user_pseudo_id session_id sdk_error_code sdk_version sdk_name ua ip "
    + " ".join(
        _TS + c
        for c in ["source", "medium", "campaign", "campaign_id", "clid_platform", "channel_group", "category"]
    )
)
_EVENT_2048 = (
    "page_view_page_referrer_title page_view_page_title page_view_hostname page_view_latest_referrer_host "
    "search_key search_term outbound_link_classes outbound_link_domain outbound_link_id sdk_error_message "
    "app_exception_message " + " ".join(_TS + c for c in ("content", "term", "clid"))
)
_EVENT_65535 = (
    "page_view_page_referrer page_view_page_url page_view_page_url_path page_view_latest_referrer "
    "outbound_link_url app_exception_stack custom_parameters_json_str"
)
_FT = "first_traffic_"
_USER_255 = "user_pseudo_id user_id first_app_install_source " + " ".join(
    _FT + c
    for c in ["source", "medium", "campaign", "campaign_id", "clid_platform", "channel_group", "category"]
)
_ITEM_255 = (
    "event_id event_name platform user_pseudo_id user_id item_id name brand currency creative_name "
    "creative_slot location_id category category2 category3 category4 category5 custom_parameters_json_str"
)


def _limits(*groups: tuple[str, int]) -> dict[str, int]:
    return {name: size for names, size in groups for name in names.split()}


# Byte limits of spec/etl.md §2.12. Enriched UA and geo values are truncated too: the original truncates
# before enrichment (so they never are), which lets a hostile User-Agent overflow a Redshift varchar(255).
MAX_LENGTHS: dict[str, dict[str, int]] = {
    "event_v2": _limits(
        ("event_value_currency", 32),
        (_EVENT_255, 255),
        (_EVENT_2048, 2048),
        (_EVENT_65535, 65535),
        ("device_ua_browser device_ua_browser_version device_ua_device device_ua_device_category", 255),
        ("geo_continent geo_sub_continent geo_country geo_region geo_metro geo_city geo_locale", 255),
    ),
    "item_v2": _limits((_ITEM_255, 255)),
    "user_v2": _limits(
        (_USER_255, 255),
        (" ".join(_FT + c for c in ("content", "clid", "term")), 2048),
        ("first_referrer user_properties_json_str", 65535),
    ),
    "session": {},
}

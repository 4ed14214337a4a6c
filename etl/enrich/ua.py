"""User-agent enrichment with ua-parser's built-in rules (spec/etl.md §4.1)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from etl.enrich import lookup_join

if TYPE_CHECKING:  # the DuckDB engine uses `parse_ua` without Spark
    from pyspark.sql import DataFrame

OUTPUTS = {
    "device_ua_browser": "string",
    "device_ua_browser_version": "string",
    "device_ua_os": "string",
    "device_ua_os_version": "string",
    "device_ua_device": "string",
    "device_ua_device_category": "string",
    "ua_user_agent_json": "string",
    "ua_os_json": "string",
    "ua_device_json": "string",
}


def version(major: str | None, minor: str | None, patch: str | None) -> str | None:
    parts = []
    for part in (major, minor, patch):
        if not part:
            break
        parts.append(part)
    return ".".join(parts) or None


def category(device_family: str | None) -> str:
    family = (device_family or "").lower()
    if "bot" in family or family in ("spider", "crawler"):
        return "Bot"
    if "mobile" in family or "phone" in family:
        return "Mobile"
    if any(w in family for w in ("tablet", "pad", "kindle")):
        return "Tablet"
    if any(w in family for w in ("pc", "mac", "linux")):
        return "PC"
    return "Other"


def _compact(value: dict[str, Any]) -> str:
    return json.dumps(value, separators=(",", ":"))


def parse_ua(row: dict[str, Any]) -> dict[str, Any]:
    """The enriched fields of one user agent, in the original's shape (family/major/minor/patch)."""
    from ua_parser import parse

    ua = row.get("ua")
    if not ua:
        return {}
    result = parse(ua)
    agent, os_, device = result.user_agent, result.os, result.device
    a = {"family": agent.family if agent else "Other", "major": None, "minor": None, "patch": None}
    if agent:
        a |= {"major": agent.major, "minor": agent.minor, "patch": agent.patch}
    o = {
        "family": os_.family if os_ else "Other",
        "major": None,
        "minor": None,
        "patch": None,
        "patchMinor": None,
    }
    if os_:
        o |= {"major": os_.major, "minor": os_.minor, "patch": os_.patch, "patchMinor": os_.patch_minor}
    d = {"family": device.family if device else "Other"}
    return {
        "device_ua_browser": a["family"],
        "device_ua_browser_version": version(a["major"], a["minor"], a["patch"]),
        "device_ua_os": o["family"],
        "device_ua_os_version": version(o["major"], o["minor"], o["patch"]),
        "device_ua_device": d["family"],
        "device_ua_device_category": category(d["family"]),
        "ua_user_agent_json": _compact(a),
        "ua_os_json": _compact(o),
        "ua_device_json": _compact(d),
    }


def enrich_ua(events: DataFrame) -> DataFrame:
    """Fills the `device_ua_*` columns and the `device_ua` map from the request's User-Agent header."""
    from pyspark.sql import functions as F

    joined = lookup_join(events, ["ua"], parse_ua, OUTPUTS)
    ua_map = F.when(
        F.col("ua_user_agent_json").isNotNull(),
        F.create_map(
            F.lit("string"), F.col("ua"),
            F.lit("userAgent"), F.col("ua_user_agent_json"),
            F.lit("os"), F.col("ua_os_json"),
            F.lit("device"), F.col("ua_device_json"),
        ),
    )  # fmt: skip
    return joined.withColumn("device_ua", ua_map).drop("ua_user_agent_json", "ua_os_json", "ua_device_json")


def apply_bot_mode(events: DataFrame, mode: str) -> DataFrame:
    """drop: remove bot rows (the original's default); keep: leave them; flag: keep and mark `is_bot` in
    `process_info` so reports can exclude them."""
    from pyspark.sql import functions as F

    bot = F.coalesce(F.col("device_ua_device_category") == "Bot", F.lit(False))
    if mode == "drop":
        return events.where(~bot)
    if mode == "flag":
        flag = F.create_map(F.lit("is_bot"), F.lit("true"))
        return events.withColumn("process_info", F.when(bot, F.map_concat("process_info", flag)).otherwise(
            F.col("process_info")
        ))  # fmt: skip
    return events

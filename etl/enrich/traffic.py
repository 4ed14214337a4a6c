"""Traffic source and channel group classification from the rule files (spec/etl.md §4.3).

Pure Python, applied to the distinct combinations of (app, client traffic values, page URL, referrers), so its
cost follows the number of distinct landing pages and referrers, not the number of events.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

FIELDS = ("source", "medium", "campaign", "content", "term", "campaign_id", "clid_platform", "clid")
OUTPUTS = (*FIELDS, "channel_group", "category")
CATEGORY_FILE = "traffic_source_category_rule_v1.json"
CHANNEL_FILE = "traffic_source_channel_rule_v1.json"
_UTM = {f"utm_{k}": k for k in ("source", "medium", "campaign", "content", "term")} | {
    "utm_id": "campaign_id",
    "utm_source_platform": "clid_platform",
}
_COUNTRY_SUFFIX = re.compile(r"(.*\.[a-z]{2,3})\.[a-z]{2}")


@dataclass
class Rules:
    """One app's category table and ordered channel rules."""

    categories: dict[str, dict[str, Any]]
    channels: list[dict[str, Any]]
    source_category: dict[str, str] = field(default_factory=dict)
    # channel per distinct rule input: many pages and referrers share one (source, medium, category, …)
    channel_cache: dict[tuple[tuple[str, str], ...], str] = field(
        default_factory=dict, repr=False, compare=False
    )

    @classmethod
    def load(cls, folder: Path) -> Rules:
        entries = json.loads((folder / CATEGORY_FILE).read_text())
        channels = json.loads((folder / CHANNEL_FILE).read_text())
        return cls(
            categories={e["url"]: e for e in entries},
            channels=channels,
            source_category={e["source"]: e["category"] for e in entries},
        )


def load_rules(rules_dir: Path, app_ids: list[str]) -> dict[str, Rules]:
    """Per-app rules: `<dir>/<app_id>/…` when present, else `<dir>/` itself, else the first app folder."""
    default_dir = rules_dir if (rules_dir / CATEGORY_FILE).exists() else None
    if default_dir is None:
        folders = sorted(p.parent for p in rules_dir.glob(f"*/{CATEGORY_FILE}"))
        default_dir = folders[0] if folders else None
    rules = {}
    for app in app_ids:
        folder = rules_dir / app if (rules_dir / app / CATEGORY_FILE).exists() else default_dir
        if folder is not None:
            rules[app] = Rules.load(folder)
    return rules


def host_of(url: str | None) -> str | None:
    if not url:
        return None
    if "://" not in url[:15]:
        url = "https://" + url
    try:
        return urlsplit(url).hostname
    except ValueError:
        return None


def _query(url: str | None) -> list[tuple[str, str]]:
    if not url:
        return []
    try:
        return parse_qsl(
            urlsplit(url if "://" in url[:15] else "https://" + url).query, keep_blank_values=True
        )
    except ValueError:
        return []


def utm_from_url(url: str | None) -> dict[str, str | None]:
    """UTM values and click id from a URL's query (step 1 of the URL-based parse)."""
    params = _query(url)
    utm: dict[str, str | None] = {_UTM[k]: v for k, v in params if k in _UTM}
    clid = next(((k, v) for k, v in params if k == "gclid"), None) or next(
        ((k, v) for k, v in params if k.endswith("clid")), None
    )
    if clid:
        utm["clid"] = json.dumps({"type": clid[0], "value": clid[1]}, separators=(",", ":"))
        if not utm.get("source"):
            utm["source"] = "Google" if clid[0] == "gclid" else clid[0]
            utm["medium"] = utm.get("medium") or "(CPC)"
    return utm


def _candidates(referrer: str) -> list[str]:
    no_scheme = referrer.split("://", 1)[-1]
    parts = urlsplit("https://" + no_scheme)
    host = (parts.hostname or "").lower()
    bare = host[4:] if host.startswith("www.") else host
    out = [no_scheme, host + parts.path, host, bare + parts.path, bare]
    for h in (host, bare):
        m = _COUNTRY_SUFFIX.fullmatch(h)
        if m:
            out.append(m.group(1))
    if ".google." in referrer:
        out.append("google.com")
    return out


def lookup_category(rules: Rules, referrer: str) -> tuple[str | None, str | None, str]:
    """(source, search terms, category) of a referrer; category `Unassigned` with the host when unknown."""
    for candidate in _candidates(referrer):
        entry = rules.categories.get(candidate)
        if entry:
            params = set(entry.get("params") or [])
            terms = sorted({v for k, v in _query(referrer) if k in params and v})
            return entry["source"], ",".join(terms) or None, entry["category"]
    return host_of(referrer), None, "Unassigned"


def _matches(cond: dict[str, Any], values: dict[str, str]) -> bool:
    for op, items in cond.items():
        if op.startswith("op::"):
            results = (_matches(i, values) for i in items)
            return all(results) if op == "op::and" else any(results)
    actual = (values.get(cond["field"]) or "").lower()
    op = cond["op"]
    negate = op.startswith("not_")
    base = op[4:] if negate else op
    raw = cond.get("values", cond.get("value"))
    wanted = [("" if w == "__empty__" else str(w).lower()) for w in (raw if isinstance(raw, list) else [raw])]
    checks = {
        "eq": lambda w: actual == w,
        "in": lambda w: actual == w,
        "contain": lambda w: w in actual,
        "start_with": lambda w: actual.startswith(w),
        "end_with": lambda w: actual.endswith(w),
        "match": lambda w: re.fullmatch(w, actual) is not None,
    }
    hit = any(checks[base](w) for w in wanted)
    return hit != negate


def channel_of(
    rules: Rules, t: dict[str, str | None], referrer: str | None, referrer_host: str | None
) -> str:
    values = {f"traffic_source_{k}": t.get(k) or "" for k in FIELDS}
    values["traffic_source_category"] = "" if t.get("category") == "Unassigned" else t.get("category") or ""
    values["traffic_source_medium"] = (t.get("medium") or "").strip("()")
    values["page_view_latest_referrer"] = referrer or ""
    values["page_view_latest_referrer_host"] = referrer_host or ""
    key = tuple(sorted(values.items()))
    found = rules.channel_cache.get(key)
    if found is None:
        found = next((r["channel"] for r in rules.channels if _matches(r["condition"], values)), "Unassigned")
        rules.channel_cache[key] = found
    return found


def _normalise(t: dict[str, str | None]) -> dict[str, str | None]:
    out = dict(t)
    for k in ("source", "medium", "campaign"):
        if not out.get(k) or str(out[k]).lower() == "direct":
            out[k] = None
    if out.get("clid") == "{}":
        out["clid"] = None
    return out


def classify(
    rules: Rules,
    utm: dict[str, str | None],
    page_host: str | None,
    page_referrer: str | None,
    latest_referrer: str | None,
    latest_referrer_host: str | None,
) -> dict[str, str | None]:
    """The generic parse: fills source, medium, category and channel from UTM values and referrers."""
    t = _normalise(utm)
    if not t.get("source"):
        t |= {k: v for k, v in utm_from_url(latest_referrer).items() if v} or {
            k: v for k, v in utm_from_url(page_referrer).items() if v
        }
    page_ref_host = host_of(page_referrer)
    latest_host = latest_referrer_host or host_of(latest_referrer)
    latest_internal = bool(page_host and latest_host and page_host.lower() == latest_host.lower())
    page_internal = bool(page_host and page_ref_host and page_host.lower() == page_ref_host.lower())
    referrer, ref_host = None, None
    if latest_referrer and not latest_internal:
        referrer, ref_host = latest_referrer, latest_host
    elif page_referrer and not page_internal:
        referrer, ref_host = page_referrer, page_ref_host
    if referrer:
        source, terms, category = lookup_category(rules, referrer)
        t["source"] = t.get("source") or source
        t["term"] = t.get("term") or terms
        t["category"] = t.get("category") or category
    if t.get("source") and t.get("category") in (None, "Unassigned"):
        t["category"] = rules.source_category.get(t["source"] or "", t.get("category"))
    if not t.get("medium") and t.get("category") not in (None, "Unassigned"):
        medium = {"Search": "(Organic)"}.get(t["category"] or "", "(Referral)")
        t["medium"] = "(CPC)" if t.get("clid") else medium
    t["channel_group"] = channel_of(rules, t, referrer, ref_host)
    if not t.get("source"):  # no source, no referrer: direct traffic (spec/etl.md §4.3 step 4f)
        t["source"] = ref_host if referrer else None
        t["campaign"] = t.get("campaign") if referrer else "Direct"
    return _post_fix(t, referrer, latest_referrer or page_referrer, latest_internal or page_internal)


def _post_fix(t: dict[str, str | None], referrer: str | None, any_ref: str | None, internal: bool) -> dict:
    if t.get("source"):
        t["category"] = t.get("category") or "Unassigned"
        t["channel_group"] = t.get("channel_group") or "Unassigned"
    else:
        t["source"], t["category"] = "Direct", "Direct"
        t["channel_group"] = "Internal" if internal else "Direct"
    if not t.get("medium"):
        t["medium"] = "None" if not referrer else "(Referral)"
    return {k: t.get(k) for k in OUTPUTS}


def enrich_row(rules: Rules | None, row: dict[str, Any]) -> dict[str, str | None]:
    """Steps B and C of spec/etl.md §4.3 for one distinct key row (`traffic_source_*`, page and referrers)."""
    client = {k: row.get(f"traffic_source_{k}") for k in OUTPUTS}
    if rules is None:
        return client
    page_url, page_host = row.get("page_url"), row.get("page_host")
    if client.get("source"):
        if client.get("category") and client.get("channel_group"):
            return client
        # Step B; the original swaps the page host and referrer arguments here (spec §8.4): we do not.
        fixed = classify(rules, client, page_host, row.get("page_referrer"), None, None)
        return client | {"channel_group": fixed["channel_group"], "category": fixed["category"]}
    utm = utm_from_url(page_url)
    host = host_of(page_url) or page_host
    return classify(
        rules, utm, host, row.get("page_referrer"), row.get("latest_referrer"), row.get("latest_host")
    )


KEY_COLUMNS = {
    "page_url": "page_url_raw",
    "page_host": "page_view_hostname",
    "page_referrer": "page_view_page_referrer",
    "latest_referrer": "page_view_latest_referrer",
    "latest_host": "page_view_latest_referrer_host",
}


def enrich_traffic(events: Any, rules: dict[str, Rules]) -> Any:
    """Classifies traffic per distinct (app, client values, page, referrers) and joins the result back."""
    from pyspark.sql import functions as F

    from etl.enrich import lookup_join

    client = [f"traffic_source_{k}" for k in OUTPUTS]
    keyed = events.select("*", *[F.col(src).alias(f"__tk_{k}") for k, src in KEY_COLUMNS.items()])
    keys = ["app_id", *[f"__tk_{k}" for k in KEY_COLUMNS], *[f"__tc_{c}" for c in client]]
    keyed = keyed.select("*", *[F.col(c).alias(f"__tc_{c}") for c in client])

    def fn(row: dict[str, Any]) -> dict[str, Any]:
        plain = {k[5:]: v for k, v in row.items() if k.startswith("__tk_") or k.startswith("__tc_")}
        result = enrich_row(rules.get(row["app_id"]), plain)
        return {f"traffic_source_{k}": v for k, v in result.items()}

    joined = lookup_join(keyed, keys, fn, {c: "string" for c in client})
    return joined.drop(*keys[1:])

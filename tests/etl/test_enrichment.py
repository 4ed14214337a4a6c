"""Enrichment functions (pure Python, no Spark): user agent, geolocation, IP anonymisation, traffic rules."""

from __future__ import annotations

import ipaddress
import json
import random
from pathlib import Path

import pytest

from etl.enrich import geo, traffic, ua
from tests.etl.conftest import read_expected

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 16_6_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/16.6 Mobile/15E148 Safari/604.1"
)


def test_user_agent_matches_the_golden_row(anchor_fixtures: Path) -> None:
    expected = read_expected(anchor_fixtures / "event_v2/expected/test_enrich_UA_v2.json")[0]
    got = ua.parse_ua({"ua": expected["device_ua"]["string"]})
    for name in ("browser", "browser_version", "os", "os_version", "device", "device_category"):
        assert got[f"device_ua_{name}"] == expected[f"device_ua_{name}"]
    assert json.loads(got["ua_os_json"]) == json.loads(expected["device_ua"]["os"])
    assert json.loads(got["ua_user_agent_json"]) == json.loads(expected["device_ua"]["userAgent"])
    assert json.loads(got["ua_device_json"]) == json.loads(expected["device_ua"]["device"])


def test_user_agent_of_the_runner_golden_row(anchor_fixtures: Path) -> None:
    expected = read_expected(anchor_fixtures / "event_v2/expected/etl_runner_v3_event1.json")[0]
    got = ua.parse_ua({"ua": expected["device_ua"]["string"]})
    assert got["device_ua_browser"] == expected["device_ua_browser"]
    assert got["device_ua_browser_version"] == expected["device_ua_browser_version"]
    assert got["device_ua_device_category"] == expected["device_ua_device_category"]


@pytest.mark.parametrize(
    ("agent", "category"),
    [("Googlebot/2.1 (+http://www.google.com/bot.html)", "Bot"), (IPHONE, "Mobile"), ("", None)],
)
def test_device_category(agent: str, category: str | None) -> None:
    assert ua.parse_ua({"ua": agent}).get("device_ua_device_category") == category


def test_geo_matches_the_golden_row_at_country_level(anchor_fixtures: Path) -> None:
    """Deliberate difference: geoip2fast's bundled data is country-level, so `geo_city` (Schertz) and
    `geo_region` (US-TX) of the golden row need a City `.mmdb` (`--geo-mmdb`); the original downloads
    GeoLite2-City at build time, which we do not do at run time."""
    expected = read_expected(anchor_fixtures / "event_v2/expected/test_enrich_ip_v2.json")[0]
    got = geo.locate(expected["ip"])
    assert got["geo_country"] == expected["geo_country"]
    assert got["geo_continent"] == expected["geo_continent"]


@pytest.mark.parametrize(
    "address", ["10.0.0.1", "127.0.0.1", "100.64.0.1", "23.129.131.99", "not-an-ip", "", None]
)
def test_geo_of_private_or_bad_addresses_is_empty(address: str | None) -> None:
    assert geo.locate(address) == {}


def _by_ipaddress(text: str) -> str | None:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    return None if address.is_private or address.is_loopback else str(address)


def test_the_ipv4_fast_path_agrees_with_ipaddress() -> None:
    """`geo._public` checks a usual IPv4 address with integer ranges instead of `ipaddress`: it must say what
    `ipaddress` says, at each special range's edges and around them, and for text ipaddress refuses."""
    assert geo._SPECIAL_V4, "the interpreter's ranges were not found: every address takes the slow path"
    edges = {n + d for lo, hi in geo._SPECIAL_V4 + geo._NOT_PRIVATE_V4 for n in (lo, hi) for d in (-1, 0, 1)}
    rng = random.Random(3)
    numbers = sorted(n for n in edges | {rng.getrandbits(32) for _ in range(20_000)} if 0 <= n < 1 << 32)
    texts = [str(ipaddress.IPv4Address(n)) for n in numbers]
    texts += ["01.2.3.4", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.4 ", "::1", "2001:db8::1", "2a00:1450::1"]
    texts += ["::ffff:10.0.0.1", "1.2.3.٤"]
    assert [geo._public(t) for t in texts] == [_by_ipaddress(t) for t in texts]


@pytest.mark.parametrize(
    ("raw", "anonymised"),
    [
        ("13.212.229.59", "13.212.229.0"),
        ("13.212.229.59, 10.0.0.7", "13.212.229.0, 10.0.0.0"),
        ("2001:db8:85a3:1234:5678:8a2e:370:7334", "2001:db8:85a3::"),
    ],
)
def test_anonymise_ip(raw: str, anonymised: str) -> None:
    assert geo.anonymise(raw) == anonymised


@pytest.fixture(scope="module")
def rules(anchor_fixtures: Path) -> traffic.Rules:
    return traffic.Rules.load(anchor_fixtures / "rule_config" / "app1")


def _web(rules: traffic.Rules, url: str, referrer: str | None = None) -> dict[str, str | None]:
    row = {"page_url": url, "page_host": traffic.host_of(url), "page_referrer": referrer}
    return traffic.enrich_row(rules, row)


def test_search_referrer_is_organic_search(rules: traffic.Rules) -> None:
    got = _web(rules, "https://shop.example.com/", "https://www.google.com/search?q=shoes")
    assert (got["source"], got["category"], got["medium"], got["channel_group"]) == (
        "Google",
        "Search",
        "(Organic)",
        "Organic Search",
    )


def test_gclid_is_paid_search(rules: traffic.Rules) -> None:
    got = _web(rules, "https://shop.example.com/?gclid=abc", "https://www.google.com/")
    assert got["source"] == "Google" and got["medium"] == "(CPC)"
    assert got["channel_group"] == "Paid Search"
    assert json.loads(got["clid"] or "{}") == {"type": "gclid", "value": "abc"}


def test_no_referrer_is_direct(rules: traffic.Rules) -> None:
    got = _web(rules, "https://shop.example.com/products")
    assert (got["source"], got["category"], got["channel_group"], got["medium"], got["campaign"]) == (
        "Direct",
        "Direct",
        "Direct",
        "None",
        "Direct",
    )


def test_internal_referrer_is_internal(rules: traffic.Rules) -> None:
    got = _web(rules, "https://shop.example.com/cart", "https://shop.example.com/products")
    assert got["channel_group"] == "Internal"


def test_utm_email_campaign(rules: traffic.Rules) -> None:
    got = _web(rules, "https://shop.example.com/?utm_source=newsletter&utm_medium=email&utm_campaign=nov")
    assert (got["source"], got["medium"], got["campaign"], got["channel_group"]) == (
        "newsletter",
        "email",
        "nov",
        "Email",
    )


def test_duckdb_locates_addresses_as_geo_locate_does(tmp_path: Path) -> None:
    """The DuckDB engine locates the usual IPv4 address with a join on the bundled database's networks, any
    other with `geo.locate`: the same result for every address, public, private, at the edges of the special
    ranges, IPv6, malformed or missing."""
    import pyarrow as pa

    from etl import duck
    from tests.etl.conftest import job_config

    rng = random.Random(5)
    edges = {
        n + d for lo, hi in geo._SPECIAL_V4 for n in (lo, hi) for d in (-1, 0, 1) if 0 <= n + d < 1 << 32
    }
    numbers = edges | {rng.getrandbits(32) for _ in range(20_000)}
    addresses: list[str | None] = [str(ipaddress.IPv4Address(n)) for n in sorted(numbers)]
    addresses += ["8.8.8.8", "81.2.69.160", "2a00:1450:4001::1", "::1", " 8.8.8.8", "01.2.3.4", "x", "", None]
    cfg = job_config()
    con = duck.connect(cfg, tmp_path)
    con.register("source", pa.table({"ip_first": pa.array(addresses, pa.string())}))
    found = duck.enrich_geo(con, "source", cfg)
    cols = ", ".join(f"{found.table}.{c}" for c in found.outputs)
    rows = con.execute(
        f"SELECT u.ip_first, {cols} FROM source u LEFT JOIN {found.table} ON {found.on}"
    ).fetchall()
    assert len(rows) == len(addresses)
    got = {r[0]: {k: v for k, v in zip(found.outputs, r[1:], strict=True) if v is not None} for r in rows}
    located = sum(1 for a in addresses if geo.locate(a))
    assert located > 10_000  # most random addresses are somewhere
    for address in addresses:
        assert got[address] == {k: v for k, v in geo.locate(address).items() if v is not None}, address

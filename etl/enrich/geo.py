"""IP geolocation (spec/etl.md §4.2): geoip2fast's bundled country data by default, a MaxMind `.mmdb`
(GeoLite2-City or compatible) when configured, which also gives region and city."""

from __future__ import annotations

import ipaddress
import re
from functools import cache
from typing import TYPE_CHECKING, Any

from etl.enrich import lookup_join

if TYPE_CHECKING:  # the DuckDB engine uses `locate` and `anonymise` without Spark (or pandas)
    from pyspark.sql import Column, DataFrame

OUTPUTS = {"geo_continent": "string", "geo_country": "string", "geo_region": "string", "geo_city": "string"}

# ISO 3166 alpha-2 codes per continent (the bundled country database has no continent field).
_CONTINENTS = {
    "Africa": "AO BF BI BJ BW CD CF CG CI CM CV DJ DZ EG EH ER ET GA GH GM GN GQ GW KE KM LR LS LY MA MG ML MR "
    "MU MW MZ NA NE NG RE RW SC SD SH SL SN SO SS ST SZ TD TG TN TZ UG YT ZA ZM ZW",
    "Antarctica": "AQ BV GS HM TF",
    "Asia": "AE AF AM AZ BD BH BN BT CC CN CX GE HK ID IL IN IO IQ IR JO JP KG KH KP KR KW KZ LA LB LK MM MN MO "
    "MV MY NP OM PH PK PS QA SA SG SY TH TJ TL TM TR TW UZ VN YE",
    "Europe": "AD AL AT AX BA BE BG BY CH CY CZ DE DK EE ES FI FO FR GB GG GI GR HR HU IE IM IS IT JE LI LT LU LV "
    "MC MD ME MK MT NL NO PL PT RO RS RU SE SI SJ SK SM UA VA XK",
    "North America": "AG AI AW BB BL BM BQ BS BZ CA CR CU CW DM DO GD GL GP GT HN HT JM KN KY LC MF MQ MS MX NI "
    "PA PM PR SV SX TC TT US VC VG VI",
    "Oceania": "AS AU CK FJ FM GU KI MH MP NC NF NR NU NZ PF PG PN PW SB TK TO TV UM VU WF WS",
    "South America": "AR BO BR CL CO EC FK GF GY PE PY SR UY VE",
}
CONTINENT_OF = {code: name for name, codes in _CONTINENTS.items() for code in codes.split()}


@cache
def _geoip2fast() -> Any:
    from geoip2fast import GeoIP2Fast

    return GeoIP2Fast(verbose=False)


@cache
def _mmdb(path: str) -> Any:
    import maxminddb

    return maxminddb.open_database(path)


def _from_mmdb(path: str, ip: str) -> dict[str, Any]:
    record = _mmdb(path).get(ip) or {}

    def name(key: str) -> str | None:
        return (record.get(key) or {}).get("names", {}).get("en")

    subdivisions = record.get("subdivisions") or []
    country_code = (record.get("country") or {}).get("iso_code")
    region = f"{country_code}-{subdivisions[0]['iso_code']}" if subdivisions and country_code else None
    return {"geo_continent": name("continent"), "geo_country": name("country"), "geo_region": region,
            "geo_city": name("city")}  # fmt: skip


# An IPv4 address as `ipaddress` writes it (no leading zeros), and the ranges `is_private` and `is_loopback`
# cover, from the interpreter's own constants: the usual address is checked without building an `ipaddress`
# object (1.0 of the 2.1 CPU-s of locating 100 k addresses). Without those constants, every address takes
# the `ipaddress` path.
_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = re.compile(rf"{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}")
_V4 = getattr(ipaddress, "_IPv4Constants", None)


def _ranges(networks: list[Any]) -> list[tuple[int, int]]:
    return [(int(n.network_address), int(n.broadcast_address)) for n in networks]


_SPECIAL_V4 = _ranges(
    [*getattr(_V4, "_private_networks", []), *filter(None, [getattr(_V4, "_loopback_network", None)])]
)
_NOT_PRIVATE_V4 = _ranges(getattr(_V4, "_private_networks_exceptions", []))  # (newer interpreters)


def _public(ip: str) -> str | None:
    """The address as `ipaddress` writes it when it is neither private nor loopback; None otherwise."""
    match = _IPV4.fullmatch(ip) if _SPECIAL_V4 else None
    if match:
        a, b, c, d = (int(x) for x in match.groups())
        n = a << 24 | b << 16 | c << 8 | d
        special = any(lo <= n <= hi for lo, hi in _SPECIAL_V4)
        return ip if not special or any(lo <= n <= hi for lo, hi in _NOT_PRIVATE_V4) else None
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return None
    return None if address.is_private or address.is_loopback else str(address)


def _is_country(code: str) -> bool:
    """A country code of geoip2fast's answer ("--": private, reserved or not in the database)."""
    return len(code) == 2 and code.isalpha()


def locate(ip: str | None, mmdb: str | None = None) -> dict[str, Any]:
    """Continent, country, region and city of one address; empty when unknown, private or malformed."""
    address = _public(ip.strip()) if ip else None
    if address is None:
        return {}
    if mmdb:
        return _from_mmdb(mmdb, address)
    found = _geoip2fast().lookup(address)
    code = getattr(found, "country_code", "") or ""
    if not _is_country(code):
        return {}
    return {"geo_continent": CONTINENT_OF.get(code), "geo_country": found.country_name or None}


@cache
def networks_v4() -> Any:
    """What `locate` finds in the bundled database for an IPv4 address, as an Arrow table of its networks, in
    order: first and last address (integers), continent and country (null where `locate` finds nothing). A
    batch of addresses is then located with one join (`etl/duck.py`) instead of one call each."""
    import geoip2fast.geoip2fast as data
    import pyarrow as pa

    _geoip2fast()  # loads the database into the module's lists
    first: list[int] = []
    last: list[int] = []
    country: list[int] = []
    for firsts, lengths, ids in zip(
        data.mainListFirstIP, data.mainListNetlength, data.mainListIDCountryCodes, strict=True
    ):
        first += firsts
        last += [f + data.numIPsv4[n] - 1 for f, n in zip(firsts, lengths, strict=True)]
        country += ids
    # geoip2fast's first 16 entries are its private and reserved ranges (`_country_lookup`): no country.
    names = [e.split(":", 1) if i >= 16 else ("", "") for i, e in enumerate(data.mainListNamesCountry)]
    found = [(code, name) if _is_country(code) else (None, None) for code, name in names]
    return pa.table(
        {
            "first": pa.array(first, pa.int64()),
            "last": pa.array(last, pa.int64()),
            "geo_continent": pa.array([CONTINENT_OF.get(found[i][0] or "") for i in country], pa.string()),
            "geo_country": pa.array([found[i][1] or None for i in country], pa.string()),
        }
    )


def enrich_geo(events: DataFrame, mmdb: str | None = None) -> DataFrame:
    """Fills geo columns from the first address of the request's X-Forwarded-For (`ip_first`)."""
    return lookup_join(events, ["ip_first"], lambda row: locate(row.get("ip_first"), mmdb), OUTPUTS)


def _anonymised_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False).network_address)


def anonymise(ip: str | None) -> str | None:
    """Zeroes the last octet of an IPv4 address and the last 80 bits of an IPv6 one; keeps the list shape."""
    if not ip:
        return ip
    out = []
    for part in ip.split(","):
        try:
            out.append(_anonymised_address(ipaddress.ip_address(part.strip())))
        except ValueError:
            out.append("")
    return ", ".join(out)


# Anything that may be an IPv4 or IPv6 address inside free text (validated before it is replaced).
_ADDRESS_LIKE = re.compile(r"[0-9A-Fa-f]*[.:][0-9A-Fa-f.:]*")


def anonymise_text(text: str | None) -> str | None:
    """Anonymises every IP address found in a text, e.g. a raw line that is not JSON (a corrupted record)."""

    def replace(match: re.Match[str]) -> str:
        try:
            return _anonymised_address(ipaddress.ip_address(match.group(0)))
        except ValueError:
            return match.group(0)

    return _ADDRESS_LIKE.sub(replace, text) if text else text


@cache
def _anonymise_all() -> Any:
    import pandas as pd
    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType

    def anonymise_all(values: pd.Series) -> pd.Series:
        return values.map(anonymise)

    # Real types, not this module's postponed strings: Spark reads them to choose the UDF's kind.
    anonymise_all.__annotations__ = {"values": pd.Series, "return": pd.Series}
    return F.pandas_udf(anonymise_all, StringType())  # type: ignore[call-overload]


def anonymised(ip: Column) -> Column:
    """The anonymised form of an address list column, computed in Arrow batches (use it per request, before
    the events are exploded, so it runs once per request)."""
    return _anonymise_all()(ip)


def anonymise_column(df: DataFrame) -> DataFrame:
    """Replaces `ip` by its anonymised form (computed per distinct address list)."""
    return (
        lookup_join(df, ["ip"], lambda row: {"ip_anon": anonymise(row.get("ip"))}, {"ip_anon": "string"})
        .drop("ip")
        .withColumnRenamed("ip_anon", "ip")
    )


def anonymise_corrupted(corrupted: DataFrame) -> DataFrame:
    """Corrupted records with the client address anonymised: the `ip` field, and any address inside the raw
    line kept as `_corrupt_record` (a line that is not JSON). Corrupted records are few, so a plain UDF."""
    from pyspark.sql import functions as F

    text = F.udf(anonymise_text, "string")
    return corrupted.withColumns(
        {
            name: (F.udf(anonymise, "string") if name == "ip" else text)(F.col(name))
            for name in ("ip", "_corrupt_record")
            if name in corrupted.columns
        }
    )


def anonymise_arrow(values: Any) -> Any:
    """`anonymise` over an Arrow array (the DuckDB function the shared SQL calls per request)."""
    import pyarrow as pa

    return pa.array([anonymise(v) for v in values.to_pylist()], type=pa.string())

"""The event format's known keys (spec/etl.md §2.3–§2.6), which the shared SQL (etl/sql.py) reads, and the
Spark helpers the GTM and Sensors transformers share (typed maps, URL parts).

The event_v2 columns themselves are computed by the shared SQL on both engines.
"""

from __future__ import annotations

from pyspark.sql import Column
from pyspark.sql import functions as F

from etl.keys import (  # noqa: F401 (re-exported for the Spark code)
    KNOWN_ATTRIBUTES,
    KNOWN_TOP_KEYS,
    LIFECYCLE_EVENTS,
    MAX_ATTRIBUTES,
    MOBILE_OS,
    NESTED_KEYS,
    NUMBER_KEYS,
)


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

"""One query layer for every engine: a query is a sqlglot expression built once, rendered for DuckDB, Trino
(Athena) and Redshift.

Values are never formatted into SQL: `Params.bind()` returns a placeholder and the value travels beside the
text (DuckDB `$name`, Athena `?` with ordered execution parameters, Redshift Data API `:name`). Identifiers
come only from the known schema (`COLUMNS`, from the data model) or the metadata catalog, checked by `col()`.
Queries name the unqualified tables `event_v2`, `user_v2`, `session`, `event_enriched` (the events joined to
their session and user, analytics/base.py) and its roll-ups `user_day` and `session_day`; each warehouse scopes them to the app (`Warehouse.scope`), so a
query cannot reach another app's rows.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from typing import Any, cast

import sqlglot
from sqlglot import exp

from etl.model import TABLES

DIALECTS = ("duckdb", "trino", "redshift")
TABLE_NAMES = frozenset(TABLES)
ENRICHED = "event_enriched"
ROLLUP_TABLES = frozenset(
    {"user_day", "session_day", "event_day", "page_day", "new_user_day"}
)  # analytics/base.py `ROLLUPS`
SCOPED_TABLES = TABLE_NAMES | {ENRICHED} | ROLLUP_TABLES
COLUMNS: dict[str, dict[str, str]] = {table: dict(columns) for table, columns in TABLES.items()}
MARKER = re.compile(r"__P_([a-z0-9_]+)__")
SAFE_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")


class UnknownIdentifier(ValueError):
    """A column or attribute that is neither in the data model nor in the metadata catalog."""


def col(name: str, table: str = "event_v2", alias: str | None = None) -> str:
    """A column of the data model, quoted for SQL; anything else is refused."""
    if name not in COLUMNS[table]:
        raise UnknownIdentifier(f"unknown column {name!r}")
    column = exp.column(name, table=alias) if alias else exp.column(name)
    return column.sql("duckdb")


def json_key(name: str) -> str:
    """A custom parameter or attribute key used in a JSON path; keys come from the metadata catalog."""
    if not SAFE_KEY.match(name):
        raise UnknownIdentifier(f"unsupported attribute name {name!r}")
    return name


@dataclass
class Params:
    """Collects the values a query binds; each gets a generated name, so no value ever names anything."""

    values: dict[str, Any] = field(default_factory=dict)

    def bind(self, value: Any) -> str:
        name = f"p{len(self.values)}"
        self.values[name] = value
        return f"${name}"

    def bind_list(self, values: list[Any]) -> str:
        if not values:
            raise ValueError("an empty list cannot be bound")
        return ", ".join(self.bind(v) for v in values)


@dataclass(frozen=True)
class Rendered:
    sql: str
    params: Any  # dict for duckdb/redshift, ordered list for trino
    order: tuple[str, ...] = ()  # trino: the parameter names in the order of the `?`s

    def bind(self, values: dict[str, Any]) -> Rendered:
        """The same text with other values (of a query of the same shape)."""
        if self.order:
            return Rendered(self.sql, [values[n] for n in self.order], self.order)
        return Rendered(self.sql, dict(values))


@lru_cache(maxsize=2048)
def _parse(sql: str) -> tuple[exp.Expression, frozenset[str]]:
    """Parsing is the costly part of building a query; the text (placeholders, not values) repeats, so the
    tree is parsed once per shape. Callers never mutate it (`transform` copies)."""
    expression = cast(exp.Expression, sqlglot.parse_one(sql, read="duckdb"))
    return expression, frozenset(p.name for p in expression.find_all(exp.Placeholder))


@dataclass(frozen=True)
class Query:
    """A named analytics query: the expression (with placeholders) and the values bound to them."""

    name: str
    expression: exp.Expression
    params: dict[str, Any]
    text: str = ""

    @classmethod
    def parse(cls, name: str, sql: str, params: Params) -> Query:
        """Parses DuckDB-dialect text whose values are `$pN` placeholders from `params`."""
        expression, names = _parse(sql)
        missing = names - set(params.values)
        if missing:
            raise ValueError(f"{name}: placeholders without values: {sorted(missing)}")
        return cls(name=name, expression=expression, params=dict(params.values), text=sql)

    @property
    def key(self) -> str:
        """Identifies the query and its values (the cache key, with the data version)."""
        text = (self.text or self.expression.sql("duckdb")) + json.dumps(
            self.params, default=str, sort_keys=True
        )
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    def render(self, dialect: str, expression: exp.Expression | None = None) -> Rendered:
        tree = (expression or self.expression).transform(lambda node: _portable(node, dialect))
        text = tree.sql(dialect=dialect)
        if dialect == "trino":
            order = tuple(m.group(1) for m in MARKER.finditer(text))
            return Rendered(MARKER.sub("?", text), [self.params[n] for n in order], order)
        prefix = "$" if dialect == "duckdb" else ":"
        return Rendered(MARKER.sub(lambda m: prefix + m.group(1), text), dict(self.params))


def _portable(node: exp.Expression, dialect: str) -> exp.Expression:
    """Placeholders become markers (swapped for the engine's parameter syntax); `AS NOT MATERIALIZED`, a
    DuckDB hint (inline the CTE, so each use reads only its columns), is dropped for Trino and Redshift; a
    lookup in a list of values (`list_contains([…], x)`) is `x IN (…)` on Redshift, which has no arrays."""
    if isinstance(node, exp.Placeholder):
        return exp.Var(this=f"__P_{node.name}__")
    if isinstance(node, exp.ArrayContains) and isinstance(node.this, exp.Array) and dialect == "redshift":
        values = [value.transform(lambda n: _portable(n, dialect)) for value in node.this.expressions]
        return exp.In(this=node.expression.transform(lambda n: _portable(n, dialect)), expressions=values)
    if isinstance(node, exp.CTE) and dialect != "duckdb":
        node.set(
            "materialized", None
        )  # in place: `transform` works on a copy, and descends only into originals
    return node


def literal(value: Any, dialect: str) -> str:
    """A value as a SQL literal, for engines whose parameters travel as literal text (Athena's execution
    parameters). Built by sqlglot, which escapes it; never pasted into the query text."""
    if isinstance(value, datetime):
        return exp.Literal.string(value.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]).sql(dialect)
    if isinstance(value, date):
        return exp.Literal.string(value.isoformat()).sql(dialect)
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    return exp.convert(value).sql(dialect)

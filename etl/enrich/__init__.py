"""Enrichers: values that need Python (user agents, IP geolocation, traffic rules), computed per distinct key.

`lookup_join` is the one pattern they share: take the distinct keys of a (large) event dataset, compute the
outputs in Python with Arrow batches (`mapInArrow`), and broadcast-join the small result back on the keys.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import pyarrow as pa

if TYPE_CHECKING:  # the DuckDB engine imports the enrichers' Python functions without Spark
    from pyspark.sql import DataFrame

RowFn = Callable[[dict[str, Any]], dict[str, Any]]


def _batches(
    fn: RowFn, outputs: dict[str, str]
) -> Callable[[Iterable[pa.RecordBatch]], Iterable[pa.RecordBatch]]:
    def run(batches: Iterable[pa.RecordBatch]) -> Iterable[pa.RecordBatch]:
        for batch in batches:
            results = [fn(row) for row in batch.to_pylist()]
            columns = {name: batch.column(name) for name in batch.schema.names}
            for name, type_ in outputs.items():
                arrow_type = pa.string() if type_ == "string" else pa.float64()
                columns[name] = pa.array([r.get(name) for r in results], type=arrow_type)
            yield pa.RecordBatch.from_pydict(columns)

    return run


def lookup_join(df: DataFrame, keys: list[str], fn: RowFn, outputs: dict[str, str]) -> DataFrame:
    """Replaces (or adds) the `outputs` columns of `df` by `fn` applied once per distinct value of `keys`."""
    from pyspark.sql import functions as F

    distinct = df.select(*keys).distinct()
    schema = ", ".join([*(f"`{k}` {distinct.schema[k].dataType.simpleString()}" for k in keys), *(
        f"`{n}` {t}" for n, t in outputs.items()
    )])  # fmt: skip
    # Computed once (the joined rows may be read by several tables) and broadcast: the lookup table is
    # small, and a shuffle join would move the wide event rows.
    table = distinct.mapInArrow(_batches(fn, outputs), schema).localCheckpoint()
    renamed = F.broadcast(table.select(*[F.col(k).alias(f"__key_{k}") for k in keys], *outputs))
    condition = [df[k].eqNullSafe(renamed[f"__key_{k}"]) for k in keys]
    kept = [c for c in df.columns if c not in outputs]
    joined = df.join(renamed, condition, "left")
    return joined.select(*[df[c] for c in kept], *[renamed[c] for c in outputs])

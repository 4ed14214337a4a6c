"""Athena: the Glue tables of the data model (partition projection on `partition_app/year/month/day`, so no
partition jobs), queried through the pipeline's workgroup with execution parameters.

Athena's parameters travel as SQL literal text (EXECUTE … USING): sqlglot writes each value as an escaped
literal; the query text itself holds only `?`.
"""

from __future__ import annotations

import re
import time
from datetime import date, datetime
from decimal import Decimal
from typing import Any, cast

import sqlglot
from sqlglot import exp

from analytics.sql import Query, literal
from analytics.warehouse import QueryTimeout, Warehouse, WarehouseError

APP_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,126}$")
TERMINAL = {"SUCCEEDED", "FAILED", "CANCELLED"}


def _convert(value: str | None, kind: str) -> Any:
    if value is None:
        return None
    if kind in ("bigint", "integer", "smallint", "tinyint"):
        return int(value)
    if kind in ("double", "float", "real"):
        return float(value)
    if kind == "decimal":
        return Decimal(value)
    if kind == "boolean":
        return value == "true"
    if kind == "date":
        return date.fromisoformat(value)
    if kind.startswith("timestamp"):
        return datetime.fromisoformat(value.replace(" UTC", ""))
    return value


class AthenaWarehouse(Warehouse):
    dialect = "trino"

    def __init__(self, *, project_id: str, session: Any, database: str, workgroup: str,
                 poll_seconds: float = 0.5, timeout_seconds: float | None = None) -> None:  # fmt: skip
        super().__init__(project_id=project_id)
        self.client = session.client("athena")
        self.database, self.workgroup, self.poll_seconds = database, workgroup, poll_seconds
        if timeout_seconds is not None:
            self.timeout_seconds = timeout_seconds

    def table(self, name: str, *, app_id: str) -> exp.Expression:
        """One app's rows of a Glue table; `user_v2` keeps each user's latest row (the ETL appends them)."""
        if not APP_ID.match(app_id):
            raise WarehouseError(f"invalid app id {app_id!r}")
        app = exp.Literal.string(app_id).sql("trino")
        source = f'"{self.database}"."{name}"'
        if name == "user_v2":
            sql = (f"SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY user_pseudo_id ORDER BY event_timestamp"
                   f" DESC) AS _rn FROM {source} WHERE partition_app = {app}) WHERE _rn = 1")  # fmt: skip
        else:
            sql = f"SELECT * FROM {source} WHERE partition_app = {app}"
        return cast(exp.Expression, sqlglot.parse_one(sql, read="trino"))

    def _execute(self, sql: str, params: Any, *, query: Query) -> tuple[list[str], list[tuple]]:
        request: dict[str, Any] = {"QueryString": sql, "WorkGroup": self.workgroup,
                                   "QueryExecutionContext": {"Database": self.database}}  # fmt: skip
        if params:
            request["ExecutionParameters"] = [literal(v, "trino") for v in params]
        try:
            execution_id = self.client.start_query_execution(**request)["QueryExecutionId"]
        except self.client.exceptions.ClientError as exc:
            raise WarehouseError(f"{query.name}: {exc.response['Error']['Message']}") from exc
        self._wait(execution_id, query)
        return self._results(execution_id)

    def _wait(self, execution_id: str, query: Query) -> None:
        deadline = time.monotonic() + self.timeout_seconds
        while True:
            status = self.client.get_query_execution(QueryExecutionId=execution_id)["QueryExecution"][
                "Status"
            ]
            if status["State"] == "SUCCEEDED":
                return
            if status["State"] in TERMINAL:
                reason = status.get("StateChangeReason") or status["State"].lower()
                raise WarehouseError(f"{query.name}: {reason}")
            if time.monotonic() >= deadline:
                self.client.stop_query_execution(QueryExecutionId=execution_id)
                raise QueryTimeout(
                    f"{query.name}: cancelled after {self.timeout_seconds:g} s; narrow the date range or filters."
                )
            time.sleep(self.poll_seconds)

    def _results(self, execution_id: str) -> tuple[list[str], list[tuple]]:
        columns: list[str] = []
        kinds: list[str] = []
        rows: list[tuple] = []
        first = True
        for page in self.client.get_paginator("get_query_results").paginate(QueryExecutionId=execution_id):
            if not columns:
                info = page["ResultSet"]["ResultSetMetadata"]["ColumnInfo"]
                columns, kinds = [c["Name"] for c in info], [c["Type"] for c in info]
            data = page["ResultSet"]["Rows"]
            if first and data:  # the first row of the first page repeats the column names
                data, first = data[1:], False
            for row in data:
                values = [cell.get("VarCharValue") for cell in row["Data"]]
                rows.append(tuple(_convert(v, k) for v, k in zip(values, kinds, strict=True)))
        return columns, rows

"""Redshift Serverless or provisioned, through the Data API: the schema per app of spec/analytics.md §1
(database = project), statements with named parameters, polled to the end, cancelled at the timeout."""

from __future__ import annotations

import time
from datetime import date, datetime
from typing import Any

from analytics.sql import Query
from analytics.warehouse import QueryTimeout, Warehouse, WarehouseError

TERMINAL = {"FINISHED", "FAILED", "ABORTED"}


def _parameter(name: str, value: Any) -> dict[str, str]:
    """The Data API takes every parameter as text; the query casts it (`CAST(:p AS TIMESTAMP)`)."""
    if isinstance(value, datetime):
        text = value.strftime("%Y-%m-%d %H:%M:%S.%f")
    elif isinstance(value, date):
        text = value.isoformat()
    elif isinstance(value, bool):
        text = "true" if value else "false"
    else:
        text = str(value)
    return {"name": name, "value": text}


def _cell(cell: dict[str, Any], kind: str) -> Any:
    if cell.get("isNull"):
        return None
    for key in ("longValue", "doubleValue", "booleanValue"):
        if key in cell:
            return cell[key]
    text = cell.get("stringValue")
    if kind == "date":
        return date.fromisoformat(text)  # type: ignore[arg-type]
    if kind.startswith("timestamp"):
        return datetime.fromisoformat(text)  # type: ignore[arg-type]
    if kind in ("numeric", "decimal"):
        return float(text)  # type: ignore[arg-type]
    return text


class RedshiftWarehouse(Warehouse):
    dialect = "redshift"

    def __init__(self, *, project_id: str, session: Any, workgroup: str | None = None, cluster: str | None = None,
                 db_user: str | None = None, secret_arn: str | None = None, poll_seconds: float = 0.5,
                 timeout_seconds: float | None = None) -> None:  # fmt: skip
        super().__init__(project_id=project_id)
        if not (workgroup or cluster):
            raise ValueError("Name the Redshift Serverless workgroup or the provisioned cluster.")
        self.client = session.client("redshift-data")
        self.target: dict[str, str] = {"Database": project_id}
        if workgroup:
            self.target["WorkgroupName"] = workgroup
        else:
            self.target["ClusterIdentifier"] = cluster  # type: ignore[assignment]
            if db_user:
                self.target["DbUser"] = db_user
        if secret_arn:
            self.target["SecretArn"] = secret_arn
        self.poll_seconds = poll_seconds
        if timeout_seconds is not None:
            self.timeout_seconds = timeout_seconds

    def _execute(self, sql: str, params: Any, *, query: Query) -> tuple[list[str], list[tuple]]:
        request: dict[str, Any] = {**self.target, "Sql": sql, "StatementName": query.name[:500]}
        if params:
            request["Parameters"] = [_parameter(k, v) for k, v in params.items()]
        try:
            statement_id = self.client.execute_statement(**request)["Id"]
        except self.client.exceptions.ClientError as exc:
            raise WarehouseError(f"{query.name}: {exc.response['Error']['Message']}") from exc
        self._wait(statement_id, query)
        return self._results(statement_id)

    def _wait(self, statement_id: str, query: Query) -> None:
        deadline = time.monotonic() + self.timeout_seconds
        while True:
            described = self.client.describe_statement(Id=statement_id)
            if described["Status"] == "FINISHED":
                return
            if described["Status"] in TERMINAL:
                raise WarehouseError(f"{query.name}: {described.get('Error') or described['Status'].lower()}")
            if time.monotonic() >= deadline:
                self.client.cancel_statement(Id=statement_id)
                raise QueryTimeout(
                    f"{query.name}: cancelled after {self.timeout_seconds:g} s; narrow the date range or filters."
                )
            time.sleep(self.poll_seconds)

    def _results(self, statement_id: str) -> tuple[list[str], list[tuple]]:
        columns: list[str] = []
        kinds: list[str] = []
        rows: list[tuple] = []
        for page in self.client.get_paginator("get_statement_result").paginate(Id=statement_id):
            if not columns:
                columns = [c["name"] for c in page["ColumnMetadata"]]
                kinds = [c["typeName"] for c in page["ColumnMetadata"]]
            rows += [
                tuple(_cell(c, k) for c, k in zip(record, kinds, strict=True)) for record in page["Records"]
            ]
        return columns, rows

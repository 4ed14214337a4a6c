"""The Redshift SQL of the modeling stack, built from the ETL's data model (`etl.model`), so the tables the
loader merges into have exactly the columns the job writes; and the Data API calls that run it.

Loading (spec/etl.md §7.1): COPY the manifest's Parquet files into a temporary stage, keep one row per key
(events and items: the newest `created_time`; users: the latest `event_timestamp`; sessions: a non-Direct
source over Direct over none), stamp `created_time` with the load time, then ``MERGE … REMOVE DUPLICATES`` —
an upsert, so loading a file twice never double counts. Sessions keep an existing row unless its source is
empty, or Direct while the new one is not.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from typing import Any

from etl.model import MAX_LENGTHS, TABLES

KEYS = {
    "event_v2": ("event_id", "event_timestamp"),
    "item_v2": ("event_id", "event_timestamp", "user_pseudo_id", "item_id"),
    "user_v2": ("user_pseudo_id",),
    "session": ("user_pseudo_id", "session_id"),
}
_KEEP = {
    "event_v2": "created_time DESC",
    "item_v2": "created_time DESC",
    "user_v2": "event_timestamp DESC, created_time DESC",
    "session": "CASE WHEN session_source IS NULL THEN 2 WHEN session_source = 'Direct' THEN 1 ELSE 0 END, "
    "created_time DESC",
}
SORT_KEYS = {"event_v2": "event_timestamp", "item_v2": "event_timestamp",
             "user_v2": "user_pseudo_id, event_timestamp", "session": "user_pseudo_id, session_id, event_timestamp"}  # fmt: skip
_SIMPLE = {"timestamp": "TIMESTAMP", "bigint": "BIGINT", "int": "INTEGER", "double": "DOUBLE PRECISION",
           "boolean": "BOOLEAN", "date": "DATE"}  # fmt: skip
TERMINAL = ("FINISHED", "FAILED", "ABORTED")


def schema_name(app_id: str) -> str:
    """An app's schema: its id with '.' and '-' as '_' (spec/etl.md §7.1)."""
    return re.sub(r"[.\-]", "_", app_id)


def quote_literal(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"


def column_type(table: str, column: str, spark: str) -> str:
    if spark == "string":
        return f"VARCHAR({MAX_LENGTHS[table].get(column, 65535)})"
    return _SIMPLE.get(spark, "SUPER")  # maps, arrays and structs


def create_table(schema: str, table: str) -> str:
    columns = ",\n  ".join(f'"{c}" {column_type(table, c, t)}' for c, t in TABLES[table])
    return (f"CREATE TABLE IF NOT EXISTS {schema}.{table} (\n  {columns}\n) BACKUP YES DISTSTYLE EVEN "
            f"SORTKEY ({SORT_KEYS[table]})")  # fmt: skip


def schema_statements(app_id: str) -> list[str]:
    schema = schema_name(app_id)
    return [f"CREATE SCHEMA IF NOT EXISTS {schema}", *(create_table(schema, t) for t in TABLES)]


def grant_statements(app_id: str, user: str) -> list[str]:
    schema = schema_name(app_id)
    return [f'GRANT USAGE ON SCHEMA {schema} TO "{user}"', f'GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO "{user}"',
            f'ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT SELECT ON TABLES TO "{user}"']  # fmt: skip


def merge_statements(*, app_id: str, table: str, manifest_uri: str, role_arn: str) -> list[str]:
    """One batch (one transaction, one session, so the temporary tables live through it)."""
    schema, keys = schema_name(app_id), KEYS[table]
    target = f"{schema}.{table}"
    columns = ", ".join(f'"{c}"' for c, _ in TABLES[table])
    partition = ", ".join(keys)
    on = " AND ".join(f"{target}.{k} = stage_{table}_dedup.{k}" for k in keys)
    statements = [
        f"CREATE TEMP TABLE stage_{table} (LIKE {target})",
        f"COPY stage_{table} FROM {quote_literal(manifest_uri)} IAM_ROLE {quote_literal(role_arn)} "
        "FORMAT AS PARQUET SERIALIZETOJSON MANIFEST ACCEPTINVCHARS STATUPDATE ON",
        f"CREATE TEMP TABLE stage_{table}_dedup AS SELECT {columns} FROM (SELECT *, ROW_NUMBER() OVER "
        f"(PARTITION BY {partition} ORDER BY {_KEEP[table]}) AS keep_rank FROM stage_{table}) WHERE keep_rank = 1",
        f"UPDATE stage_{table}_dedup SET created_time = GETDATE()",
    ]
    if table == "session":
        statements.append(
            f"DELETE FROM stage_{table}_dedup USING {target} WHERE {on} AND {target}.session_source IS NOT NULL "
            f"AND NOT ({target}.session_source = 'Direct' AND stage_{table}_dedup.session_source IS NOT NULL "
            f"AND stage_{table}_dedup.session_source <> 'Direct')"
        )
    statements.append(f"MERGE INTO {target} USING stage_{table}_dedup ON {on} REMOVE DUPLICATES")
    return statements


def clear_expired_statements(app_id: str, days: int) -> list[str]:
    """Rows older than the newest one minus `days` (relative to the data, not the clock: spec/analytics.md §1.6)."""
    schema = schema_name(app_id)
    return [
        f"DELETE FROM {schema}.{table} WHERE event_timestamp < "
        f"(SELECT DATEADD(day, -{int(days)}, MAX(event_timestamp)) FROM {schema}.{table})"
        for table in ("event_v2", "item_v2", "session")
    ]


# --- the Data API -----------------------------------------------------------------------------------------


def target(database: str | None = None) -> dict[str, str]:
    """The Data API's connection arguments from the function's environment."""
    env = os.environ
    out = {"Database": database or env["DATABASE"]}
    if env.get("WORKGROUP_NAME"):
        out["WorkgroupName"] = env["WORKGROUP_NAME"]
        if env.get("ADMIN_SECRET_ARN"):
            out["SecretArn"] = env["ADMIN_SECRET_ARN"]
    else:
        out["ClusterIdentifier"], out["DbUser"] = env["CLUSTER_IDENTIFIER"], env["DB_USER"]
    return out


def run(client: Any, sqls: list[str], *, database: str | None = None, wait: bool = True,
        sleep: Callable[[float], None] = time.sleep, poll: float = 2.0) -> dict[str, Any]:  # fmt: skip
    """Runs the statements as one batch; with `wait`, until done (raising with Redshift's error)."""
    args = target(database)
    if len(sqls) == 1:
        started = client.execute_statement(Sql=sqls[0], **args)
    else:
        started = client.batch_execute_statement(Sqls=sqls, **args)
    if not wait:
        return started
    while True:
        described = client.describe_statement(Id=started["Id"])
        if described["Status"] in TERMINAL:
            break
        sleep(poll)
    if described["Status"] != "FINISHED":
        raise RuntimeError(
            f"Redshift statement {started['Id']} {described['Status']}: {described.get('Error', '')}"
        )
    return described

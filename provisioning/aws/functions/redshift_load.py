"""The load workflow's steps (Step Functions runs them): plan manifests of new Parquet files, load one, check
it, and clear expired events (spec/etl.md §7.1, spec/analytics.md §1.6).

Bookkeeping lives in the pipeline bucket under the load-workflow prefix: `<table>/manifest/…` (the Redshift
manifests) and `<table>/loaded/<app>.json` (keys already merged). The original keeps it in DynamoDB; the bucket
is already the pipeline's, and a file loaded twice is harmless (the MERGE de-duplicates by key).
"""

from __future__ import annotations

import json
import os
import re
import uuid
from typing import Any

from provisioning.aws.functions import redshift_sql as sql

TABLES = ("event_v2", "item_v2", "user_v2", "session")
_PARTITION = re.compile(
    r"partition_app=([^/]+)/partition_year=\d{4}/partition_month=\d{2}/partition_day=\d{2}/"
)


def _env() -> dict[str, str]:
    return {k: os.environ[k] for k in ("ODS_BUCKET", "ODS_PREFIX", "ODS_SUFFIX", "WORK_BUCKET", "WORK_PREFIX",
                                        "APP_IDS", "MAX_FILES", "COPY_ROLE_ARN")}  # fmt: skip


def _loaded(s3: Any, e: dict[str, str], table: str, app: str) -> list[str]:
    try:
        body = s3.get_object(Bucket=e["WORK_BUCKET"], Key=f"{e['WORK_PREFIX']}{table}/loaded/{app}.json")[
            "Body"
        ]
    except s3.exceptions.NoSuchKey:
        return []
    return json.loads(body.read())


def plan(event: dict[str, Any], context: Any, *, s3: Any = None) -> dict[str, Any]:
    """Manifests of at most MAX_FILES new files per table and app; `more` when files were left for next time."""
    import boto3

    s3, e = s3 or boto3.client("s3"), _env()
    apps, limit = set(e["APP_IDS"].split(",")), int(e["MAX_FILES"])
    items, more = [], False
    for table in TABLES:
        found: dict[str, list[tuple[str, int]]] = {}
        pages = s3.get_paginator("list_objects_v2").paginate(
            Bucket=e["ODS_BUCKET"], Prefix=f"{e['ODS_PREFIX']}{table}/"
        )
        for page in pages:
            for obj in page.get("Contents", []):
                m = _PARTITION.search(obj["Key"])
                if m and m.group(1) in apps and obj["Key"].endswith(e["ODS_SUFFIX"]):
                    found.setdefault(m.group(1), []).append((obj["Key"], obj["Size"]))
        for app, files in sorted(found.items()):
            done = set(_loaded(s3, e, table, app))
            new = sorted(f for f in files if f[0] not in done)
            more = more or len(new) > limit
            if not new:
                continue
            batch = new[:limit]
            key = f"{e['WORK_PREFIX']}{table}/manifest/{app}-{uuid.uuid4()}.manifest"
            manifest = {"entries": [{"url": f"s3://{e['ODS_BUCKET']}/{k}", "mandatory": True,
                                     "meta": {"content_length": size}} for k, size in batch]}  # fmt: skip
            s3.put_object(Bucket=e["WORK_BUCKET"], Key=key, Body=json.dumps(manifest).encode())
            items.append({"table": table, "app_id": app, "manifest": key, "files": [k for k, _ in batch]})
    return {"items": items, "more": more}


def load(event: dict[str, Any], context: Any, *, data: Any = None) -> dict[str, Any]:
    """Starts the COPY + MERGE of one manifest; returns the statement id to check."""
    import boto3

    e = _env()
    statements = sql.merge_statements(app_id=event["app_id"], table=event["table"], role_arn=e["COPY_ROLE_ARN"],
                                      manifest_uri=f"s3://{e['WORK_BUCKET']}/{event['manifest']}")  # fmt: skip
    started = sql.run(data or boto3.client("redshift-data"), statements, wait=False)
    return {**event, "statement_id": started["Id"]}


def check(event: dict[str, Any], context: Any, *, data: Any = None, s3: Any = None) -> dict[str, Any]:
    """The statement's status; when FINISHED, records the files as loaded and removes the manifest."""
    import boto3

    data, s3, e = data or boto3.client("redshift-data"), s3 or boto3.client("s3"), _env()
    described = data.describe_statement(Id=event["statement_id"])
    status = described["Status"]
    if status == "FINISHED":
        done = _loaded(s3, e, event["table"], event["app_id"])
        key = f"{e['WORK_PREFIX']}{event['table']}/loaded/{event['app_id']}.json"
        s3.put_object(
            Bucket=e["WORK_BUCKET"], Key=key, Body=json.dumps(sorted({*done, *event["files"]})).encode()
        )
        s3.delete_object(Bucket=e["WORK_BUCKET"], Key=event["manifest"])
    if status in ("FAILED", "ABORTED"):
        raise RuntimeError(f"loading {event['manifest']} {status}: {described.get('Error', '')}")
    return {**event, "status": status}


def clear_expired(event: dict[str, Any], context: Any, *, data: Any = None) -> dict[str, Any]:
    import boto3

    data = data or boto3.client("redshift-data")
    days = int(os.environ["RETENTION_DAYS"])
    ids = []
    for app in [a for a in os.environ["APP_IDS"].split(",") if a]:
        ids.append(sql.run(data, sql.clear_expired_statements(app, days), wait=False)["Id"])
    return {"statements": ids}

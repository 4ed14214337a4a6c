"""Starts a run of our `etl` job on EMR Serverless on the pipeline's schedule, and records it.

The job itself finds the raw files not processed yet (its commit records, `etl.job.pending_files`), exactly
as a local run does, so the submitter only starts a run — with the arguments and Spark settings of
`etl.emr`, custom plugins' code included — unless one is still running (two runs would race for the same files). Each start is recorded
under the pipeline's job-data prefix, which the portal reads for run history even when it was down.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from typing import Any

from etl import emr

ACTIVE = ("SUBMITTED", "PENDING", "SCHEDULED", "RUNNING", "QUEUED")


def config() -> dict[str, Any]:
    env = os.environ
    return {
        "application_id": env["APPLICATION_ID"], "role_arn": env["JOB_ROLE_ARN"],
        "project_id": env["PROJECT_ID"], "app_ids": [a for a in env["APP_IDS"].split(",") if a],
        "plugins": [p for p in env["PLUGINS"].split(",") if p], "lake": env["LAKE_ROOT"],
        "code": {"py_files": env["PY_FILES"], "entry_point": env["ENTRY_POINT"]},
        "dependencies": env.get("DEPENDENCIES") or None, "log_uri": env["LOG_URI"],
        "record_bucket": env["RECORD_BUCKET"], "record_prefix": env["RECORD_PREFIX"],
        "freshness_hours": int(env.get("FRESHNESS_HOURS") or 72),
        # Custom plugins' code in S3 (the stack's S3PathPluginJars / S3PathPluginFiles).
        "plugin_jars": _uris(env.get("EXTRA_JARS", "")), "plugin_files": _uris(env.get("EXTRA_FILES", "")),
    }  # fmt: skip


def _uris(text: str) -> list[str]:
    return [u.strip() for u in text.split(",") if u.strip()]


def handler(
    event: dict[str, Any], context: Any, *, session: Any = None, now: datetime | None = None
) -> dict[str, Any]:
    import boto3

    session = session or boto3.session.Session()
    c = config()
    client = session.client("emr-serverless")
    if event.get("detail-type") == "EMR Serverless Job Run State Change":
        return finished(event, session=session, c=c)
    running = client.list_job_runs(applicationId=c["application_id"], states=list(ACTIVE)).get("jobRuns", [])
    if running:
        return {"started": False, "reason": f"run {running[0]['id']} is still {running[0]['state']}"}
    when = now or datetime.now(UTC)
    job_name = f"{c['project_id']}-{when:%Y%m%d%H%M%S}"
    arguments = emr.job_arguments(lake=c["lake"], project_id=c["project_id"], app_ids=c["app_ids"],
                                  plugins=c["plugins"], job_name=job_name)  # fmt: skip
    arguments += ["--freshness-hours", str(c["freshness_hours"])]
    run_id = emr.start_job_run(client, application_id=c["application_id"], role_arn=c["role_arn"],
                               code=c["code"], arguments=arguments, name=job_name, log_uri=c["log_uri"],
                               dependencies=c["dependencies"], plugin_jars=c["plugin_jars"],
                               plugin_files=c["plugin_files"])  # fmt: skip
    record = {
        "job_run_id": run_id,
        "job_name": job_name,
        "started_at": when.isoformat(),
        "arguments": arguments,
    }
    session.client("s3").put_object(
        Bucket=c["record_bucket"], Key=f"{c['record_prefix']}emr-runs/{job_name}.json",
        Body=json.dumps(record).encode(), ContentType="application/json",
    )  # fmt: skip
    return {"started": True, **record}


def finished(event: dict[str, Any], *, session: Any, c: dict[str, Any]) -> dict[str, Any]:
    """A run ended: its result (with the job's counts from its commit record) becomes the pipeline's metrics
    (`etl.emr.put_metrics`), which the DataProcessing alarms watch."""
    run = session.client("emr-serverless").get_job_run(
        applicationId=c["application_id"], jobRunId=event["detail"]["jobRunId"]
    )["jobRun"]
    counts = emr._commit_counts(session.client("s3"), c["record_bucket"], c["project_id"], run["name"])
    result = emr.run_result(run, counts)
    emr.put_metrics(session.client("cloudwatch"), c["application_id"], result)
    return {"metrics": True, **{k: v for k, v in result.items() if k != "duration_s"}}

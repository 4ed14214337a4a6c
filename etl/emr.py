"""EMR Serverless runner: package the job, StartJobRun, poll, and report (spec/etl.md §1.2, §5.2).

Plain functions over a boto3 session, so the portal's session factory (assume-role per organization) and moto
in the tests can both supply it. CloudWatch metrics use the original's namespace and dimensions.
"""

from __future__ import annotations

import io
import json
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

NAMESPACE = "Clickstream/DataPipeline"
TERMINAL = {"SUCCESS", "FAILED", "CANCELLED"}
ENTRY_POINT = "etl_entry.py"
_ENTRY_CODE = "import sys\nfrom etl.__main__ import main\n\nsys.exit(main())\n"


def package_job(client_s3: Any, bucket: str, prefix: str) -> dict[str, str]:
    """Uploads the `etl` package as a zip (--py-files) and a tiny entry script; returns their S3 URIs.

    Third-party wheels (ua-parser, geoip2fast…) go in a virtualenv archive built for the EMR release
    (`spark.archives`), whose URI the pipeline configuration supplies."""
    buffer = io.BytesIO()
    root = Path(__file__).resolve().parent
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(root.rglob("*.py")):
            archive.write(path, f"etl/{path.relative_to(root)}")
    code, entry = f"{prefix.rstrip('/')}/etl.zip", f"{prefix.rstrip('/')}/{ENTRY_POINT}"
    client_s3.put_object(Bucket=bucket, Key=code, Body=buffer.getvalue())
    client_s3.put_object(Bucket=bucket, Key=entry, Body=_ENTRY_CODE.encode())
    return {"py_files": f"s3://{bucket}/{code}", "entry_point": f"s3://{bucket}/{entry}"}


def job_arguments(
    *, lake: str, project_id: str, app_ids: list[str], plugins: list[str], job_name: str
) -> list[str]:
    return [
        "run", "--lake", lake, "--project-id", project_id, "--app-ids", ",".join(app_ids),
        "--plugins", ",".join(plugins), "--master", "cluster", "--job-name", job_name,
    ]  # fmt: skip


def start_job_run(
    client: Any,
    *,
    application_id: str,
    role_arn: str,
    code: dict[str, str],
    arguments: list[str],
    name: str,
    log_uri: str,
    venv_archive: str | None = None,
) -> str:
    """StartJobRun with the job's Spark settings; returns the job run id."""
    params = [f"--conf spark.submit.pyFiles={code['py_files']}"]
    if venv_archive:
        params += [
            f"--conf spark.archives={venv_archive}#environment",
            "--conf spark.emr-serverless.driverEnv.PYSPARK_PYTHON=./environment/bin/python",
            "--conf spark.executorEnv.PYSPARK_PYTHON=./environment/bin/python",
        ]
    response = client.start_job_run(
        applicationId=application_id,
        executionRoleArn=role_arn,
        name=name,
        jobDriver={
            "sparkSubmit": {
                "entryPoint": code["entry_point"],
                "entryPointArguments": arguments,
                "sparkSubmitParameters": " ".join(params),
            }
        },
        configurationOverrides={
            "monitoringConfiguration": {"s3MonitoringConfiguration": {"logUri": log_uri}}
        },
    )
    return response["jobRunId"]


def wait_for(
    client: Any,
    application_id: str,
    run_id: str,
    *,
    poll_seconds: float = 30,
    timeout_seconds: float = 6 * 3600,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Polls GetJobRun until the run is SUCCESS, FAILED or CANCELLED (or the timeout passes)."""
    deadline = time.monotonic() + timeout_seconds
    while True:
        run = client.get_job_run(applicationId=application_id, jobRunId=run_id)["jobRun"]
        if run["state"] in TERMINAL or time.monotonic() > deadline:
            return run
        sleep(poll_seconds)


def log_location(log_uri: str, application_id: str, run_id: str) -> str:
    """Where EMR Serverless writes the driver's stdout (the run's JSON result) and stderr."""
    return f"{log_uri.rstrip('/')}/applications/{application_id}/jobs/{run_id}/SPARK_DRIVER/"


def run_result(run: dict[str, Any], counts: dict[str, Any] | None = None) -> dict[str, Any]:
    """The runner's result dict: state, duration, link to logs, and the job's counts when known."""
    created, updated = run.get("createdAt"), run.get("updatedAt")
    duration = (updated - created).total_seconds() if created and updated else None
    return {
        "state": run["state"],
        "job_run_id": run["jobRunId"],
        "duration_s": duration,
        "state_details": run.get("stateDetails", ""),
        **(counts or {}),
    }


def put_metrics(cloudwatch: Any, application_id: str, result: dict[str, Any]) -> None:
    """The original's ETL metrics (namespace Clickstream/DataPipeline, dims ApplicationId and service)."""
    dims = [
        {"Name": "ApplicationId", "Value": application_id},
        {"Name": "service", "Value": "EMR-Serverless"},
    ]
    success = result["state"] == "SUCCESS"
    values = {
        "Data Processing job success": 1 if success else 0,
        "Data Processing job failed": 0 if success else 1,
        "Data Processing job run time seconds": result.get("duration_s") or 0,
        "Data Processing source count": result.get("requests", 0),
        "Data Processing flatted source count": result.get("rows_in", 0),
        "Data Processing sink count": result.get("rows_out", 0),
        "Data Processing corrupted count": result.get("corrupted", 0),
        "Data Processing input file count": result.get("files", 0),
        "Data count filtered by bot": result.get("filtered_bot", 0),
    }
    cloudwatch.put_metric_data(
        Namespace=NAMESPACE,
        MetricData=[{"MetricName": k, "Dimensions": dims, "Value": float(v)} for k, v in values.items()],
    )


def run_on_emr(
    session: Any,
    *,
    application_id: str,
    role_arn: str,
    bucket: str,
    lake: str,
    project_id: str,
    app_ids: list[str],
    plugins: list[str],
    job_name: str,
    venv_archive: str | None = None,
    poll_seconds: float = 30,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Packages, starts, waits for and reports one ETL run on EMR Serverless."""
    prefix = f"clickstream/{project_id}/job-data/emr/{job_name}"
    code = package_job(session.client("s3"), bucket, prefix)
    client = session.client("emr-serverless")
    log_uri = f"s3://{bucket}/clickstream/{project_id}/job-data/emr-logs/"
    arguments = job_arguments(
        lake=lake, project_id=project_id, app_ids=app_ids, plugins=plugins, job_name=job_name
    )
    run_id = start_job_run(client, application_id=application_id, role_arn=role_arn, code=code,
                           arguments=arguments, name=job_name, log_uri=log_uri, venv_archive=venv_archive)  # fmt: skip
    run = wait_for(client, application_id, run_id, poll_seconds=poll_seconds, sleep=sleep)
    result = run_result(run, _commit_counts(session.client("s3"), bucket, project_id, job_name))
    result["logs"] = log_location(log_uri, application_id, run_id)
    put_metrics(session.client("cloudwatch"), application_id, result)
    return result


def _commit_counts(s3: Any, bucket: str, project_id: str, job_name: str) -> dict[str, Any] | None:
    """The run's counts from its commit record (absent when the run failed before committing)."""
    key = f"clickstream/{project_id}/job-data/commits/{job_name}.json"
    try:
        record = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    except s3.exceptions.NoSuchKey:
        return None
    return record.get("summary")

"""EMR Serverless runner: package the job, StartJobRun, poll, and report (spec/etl.md §1.2, §5.2).

Plain functions over a boto3 session, so the portal's session factory (assume-role per organization) and moto
in the tests can both supply it. CloudWatch metrics use the original's namespace and dimensions.
"""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterable, Sequence
from importlib.metadata import version
from pathlib import Path
from typing import Any

NAMESPACE = "Clickstream/DataPipeline"
TERMINAL = {"SUCCESS", "FAILED", "CANCELLED"}
ENTRY_POINT = "etl_entry.py"
DEPENDENCIES_ALIAS = "deps"
# The driver imports the job's third-party modules from the unpacked dependencies archive (executors get it on
# their PYTHONPATH from the Spark settings).
_ENTRY_CODE = f"""import os
import sys

sys.path.insert(0, os.path.abspath({DEPENDENCIES_ALIAS!r}))
from etl.__main__ import main

sys.exit(main())
"""
# What the job imports besides PySpark (which the EMR release provides), at the versions tested here.
# duckdb: Spark's tasks run the shared per-request SQL (etl/sql.py) in DuckDB.
RUNTIME_DISTRIBUTIONS = (
    "ua-parser", "ua-parser-builtins", "geoip2fast", "maxminddb", "pyarrow", "pandas", "duckdb",
)  # fmt: skip
EMR_PYTHON = "3.11"
EMR_PLATFORM = "manylinux_2_28_x86_64"  # Amazon Linux 2023: glibc 2.34


def runtime_requirements() -> list[str]:
    """The job's third-party requirements pinned to the versions installed (and tested) here."""
    return [f"{name}=={version(name)}" for name in RUNTIME_DISTRIBUTIONS]


def build_dependencies(
    cache_dir: Path,
    *,
    requirements: Iterable[str] | None = None,
    python_version: str = EMR_PYTHON,
    platform: str = EMR_PLATFORM,
) -> Path:
    """A `.tar.gz` of the job's dependencies installed for the EMR release's Python and platform.

    pip installs binary wheels for that target (`--platform`, `--python-version`, `--only-binary`), so it can
    be built on any machine, without Amazon Linux. The archive is named by a hash of what it holds and built
    only once per requirement set; it goes to `spark.archives`, unpacked as ``./deps`` next to the driver and
    every executor. A requirement with no wheel for the target fails here, with pip's message."""
    pinned = sorted(requirements if requirements is not None else runtime_requirements())
    digest = hashlib.sha256(json.dumps([pinned, python_version, platform]).encode()).hexdigest()[:16]
    archive = cache_dir / f"etl-deps-{digest}.tar.gz"
    if archive.exists():
        return archive
    cache_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache_dir) as tmp:
        wheels, site = Path(tmp) / "wheels", Path(tmp) / "site"
        # Some requirements publish only an sdist (geoip2fast): build those into wheels here first; the
        # install for the target platform then finds them next to the index's binary wheels.
        _pip("wheel", "--no-deps", "--wheel-dir", str(wheels), *pinned)
        _pip("install", "--target", str(site), "--find-links", str(wheels), "--only-binary=:all:",
             "--implementation", "cp", "--python-version", python_version, "--platform", platform, *pinned)  # fmt: skip
        partial = Path(tmp) / archive.name
        with tarfile.open(partial, "w:gz") as tar:
            for path in sorted(site.iterdir()):
                if path.name != "bin":
                    tar.add(path, arcname=path.name)
        partial.replace(archive)  # atomic: a half-built archive is never picked up
    return archive


def _pip(*args: str) -> None:
    command = [sys.executable, "-m", "pip", *args[:1], "--quiet", "--disable-pip-version-check", *args[1:]]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"cannot build the EMR dependencies: {done.stderr.strip()[-2000:]}")


def upload_dependencies(client_s3: Any, bucket: str, prefix: str, archive: Path) -> str:
    """Uploads the archive once (its name is its content hash); returns its S3 URI."""
    key = f"{prefix.rstrip('/')}/{archive.name}"
    try:
        client_s3.head_object(Bucket=bucket, Key=key)
    except client_s3.exceptions.ClientError:
        client_s3.upload_file(str(archive), bucket, key)
    return f"s3://{bucket}/{key}"


def package_job(client_s3: Any, bucket: str, prefix: str) -> dict[str, str]:
    """Uploads the `etl` package as a zip (--py-files) and a tiny entry script; returns their S3 URIs.
    Third-party packages travel in the dependencies archive (`build_dependencies`)."""
    buffer = io.BytesIO()
    root = Path(__file__).resolve().parent
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(root.rglob("*.py")):
            archive.write(path, f"etl/{path.relative_to(root)}")
    code, entry = f"{prefix.rstrip('/')}/etl.zip", f"{prefix.rstrip('/')}/{ENTRY_POINT}"
    client_s3.put_object(Bucket=bucket, Key=code, Body=buffer.getvalue())
    client_s3.put_object(Bucket=bucket, Key=entry, Body=_ENTRY_CODE.encode())
    return {"py_files": f"s3://{bucket}/{code}", "entry_point": f"s3://{bucket}/{entry}"}


PYTHON_ARCHIVES = (".zip", ".whl", ".egg", ".py")


def job_arguments(
    *, lake: str, project_id: str, app_ids: list[str], plugins: list[str], job_name: str
) -> list[str]:
    return [
        "run", "--lake", lake, "--project-id", project_id, "--app-ids", ",".join(app_ids),
        "--plugins", ",".join(plugins), "--engine", "spark", "--master", "cluster", "--job-name", job_name,
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
    dependencies: str | None = None,
    plugin_jars: Sequence[str] = (),
    plugin_files: Sequence[str] = (),
) -> str:
    """StartJobRun with the job's Spark settings; returns the job run id. `dependencies` is the S3 URI of
    the archive from `build_dependencies`; `plugin_jars` and `plugin_files` are the S3 URIs of custom
    plugins' code (the stack's S3PathPluginJars / S3PathPluginFiles): Python archives join the job's
    `pyFiles`, so their plugins import on every executor; other files (data a plugin reads) are shipped
    beside it."""
    python = [f for f in plugin_files if f.endswith(PYTHON_ARCHIVES)]
    params = [f"--conf spark.submit.pyFiles={','.join([code['py_files'], *python])}"]
    if plugin_jars:
        params.append(f"--conf spark.jars={','.join(plugin_jars)}")
    others = [f for f in plugin_files if not f.endswith(PYTHON_ARCHIVES)]
    if others:
        params.append(f"--conf spark.files={','.join(others)}")
    if dependencies:
        params += [
            f"--conf spark.archives={dependencies}#{DEPENDENCIES_ALIAS}",
            f"--conf spark.executorEnv.PYTHONPATH=./{DEPENDENCIES_ALIAS}",
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
    dependencies: Path,
    poll_seconds: float = 30,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Packages, starts, waits for and reports one ETL run on EMR Serverless. `dependencies` is the local
    archive from `build_dependencies`."""
    prefix = f"clickstream/{project_id}/job-data/emr/{job_name}"
    code = package_job(session.client("s3"), bucket, prefix)
    deps = upload_dependencies(
        session.client("s3"), bucket, f"clickstream/{project_id}/job-data/emr", dependencies
    )
    client = session.client("emr-serverless")
    log_uri = f"s3://{bucket}/clickstream/{project_id}/job-data/emr-logs/"
    arguments = job_arguments(
        lake=lake, project_id=project_id, app_ids=app_ids, plugins=plugins, job_name=job_name
    )
    run_id = start_job_run(client, application_id=application_id, role_arn=role_arn, code=code,
                           arguments=arguments, name=job_name, log_uri=log_uri, dependencies=deps)  # fmt: skip
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

"""The EMR Serverless runner against moto: package, start, poll, fail, succeed, metrics."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from etl import emr

BUCKET, REGION = "pipeline-bucket", "us-east-1"


class ScriptedRuns:
    """Moto's emr-serverless client, but GetJobRun walks through a scripted list of states: moto itself
    reports every run as SUCCESS at once, which cannot show polling or failure."""

    def __init__(self, client: Any, states: list[str]) -> None:
        self.client, self.states, self.polls = client, states, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def get_job_run(self, **kwargs: Any) -> dict[str, Any]:
        run = self.client.get_job_run(**kwargs)
        run["jobRun"]["state"] = self.states[min(self.polls, len(self.states) - 1)]
        self.polls += 1
        return run


class Session:
    def __init__(self, states: list[str]) -> None:
        self.emr = ScriptedRuns(boto3.client("emr-serverless", region_name=REGION), states)

    def client(self, name: str) -> Any:
        return self.emr if name == "emr-serverless" else boto3.client(name, region_name=REGION)


@pytest.fixture
def aws() -> Iterator[str]:
    with mock_aws():
        boto3.client("s3", region_name=REGION).create_bucket(Bucket=BUCKET)
        app = boto3.client("emr-serverless", region_name=REGION).create_application(
            name="Clickstream-shop", releaseLabel="emr-7.5.0", type="SPARK"
        )
        yield app["applicationId"]


@pytest.fixture
def deps(tmp_path: Path) -> Path:
    """A small dependencies archive (what `build_dependencies` makes, without its minute of pip work)."""
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    archive = tmp_path / "etl-deps-0123456789abcdef.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tmp_path / "pkg", arcname="pkg")
    return archive


def _run(application_id: str, session: Session, deps: Path, job_name: str = "run-1") -> dict[str, Any]:
    return emr.run_on_emr(
        session,
        application_id=application_id,
        role_arn="arn:aws:iam::123456789012:role/emr-job",
        bucket=BUCKET,
        lake=f"s3://{BUCKET}",
        project_id="shop",
        app_ids=["web", "android"],
        plugins=["clickstream", "traffic", "ua", "geo"],
        job_name=job_name,
        dependencies=deps,
        poll_seconds=0,
        sleep=lambda seconds: None,
    )


def _metric_names() -> set[str]:
    listed = boto3.client("cloudwatch", region_name=REGION).list_metrics(Namespace=emr.NAMESPACE)["Metrics"]
    return {m["MetricName"] for m in listed}


def test_a_successful_run_is_polled_and_reported(aws: str, deps: Path) -> None:
    session = Session(["SUBMITTED", "RUNNING", "RUNNING", "SUCCESS"])
    s3 = boto3.client("s3", region_name=REGION)
    summary = {"files": 3, "rows_in": 10, "rows_out": 9, "corrupted": 1, "requests": 2}
    s3.put_object(
        Bucket=BUCKET,
        Key="clickstream/shop/job-data/commits/run-1.json",
        Body=json.dumps({"summary": summary}),
    )

    result = _run(aws, session, deps)

    assert result["state"] == "SUCCESS" and session.emr.polls == 4
    assert result["rows_out"] == 9 and result["corrupted"] == 1
    assert result["logs"].endswith(f"/applications/{aws}/jobs/{result['job_run_id']}/SPARK_DRIVER/")
    assert {"Data Processing job success", "Data Processing sink count"} <= _metric_names()
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]}
    assert "clickstream/shop/job-data/emr/run-1/etl.zip" in keys


def test_the_job_run_gets_the_packaged_code_and_arguments(aws: str, deps: Path) -> None:
    session = Session(["SUCCESS"])
    result = _run(aws, session, deps)
    run = session.emr.client.get_job_run(applicationId=aws, jobRunId=result["job_run_id"])["jobRun"]
    driver = run["jobDriver"]["sparkSubmit"]
    assert driver["entryPoint"] == f"s3://{BUCKET}/clickstream/shop/job-data/emr/run-1/{emr.ENTRY_POINT}"
    assert driver["entryPointArguments"][:3] == ["run", "--lake", f"s3://{BUCKET}"]
    engine = driver["entryPointArguments"].index("--engine")
    assert driver["entryPointArguments"][engine + 1] == "spark"  # EMR runs Spark; DuckDB is the local default
    assert "spark.submit.pyFiles=s3://" in driver["sparkSubmitParameters"]
    archive = f"s3://{BUCKET}/clickstream/shop/job-data/emr/{deps.name}#deps"
    assert f"spark.archives={archive}" in driver["sparkSubmitParameters"]
    assert "spark.executorEnv.PYTHONPATH=./deps" in driver["sparkSubmitParameters"]


def test_the_dependencies_archive_is_uploaded_once(aws: str, deps: Path) -> None:
    s3 = boto3.client("s3", region_name=REGION)
    key = f"clickstream/shop/job-data/emr/{deps.name}"
    _run(aws, Session(["SUCCESS"]), deps, "run-1")
    first = s3.head_object(Bucket=BUCKET, Key=key)["LastModified"]
    deps.write_bytes(b"changed locally, same name: the uploaded copy is kept")
    _run(aws, Session(["SUCCESS"]), deps, "run-2")
    assert s3.head_object(Bucket=BUCKET, Key=key)["LastModified"] == first
    assert s3.get_object(Bucket=BUCKET, Key=key)["ContentLength"] != len(deps.read_bytes())


def test_a_failed_run_is_reported_as_failed_without_counts(aws: str, deps: Path) -> None:
    result = _run(aws, Session(["PENDING", "RUNNING", "FAILED"]), deps)
    assert result["state"] == "FAILED"
    assert "rows_out" not in result
    assert "Data Processing job failed" in _metric_names()


def test_the_dependencies_archive_imports_without_the_local_environment(tmp_path: Path) -> None:
    """Real pip, real wheels for the EMR target (geoip2fast is sdist-only, so it is built into a wheel first);
    the unpacked archive alone is enough for the job's enrichers to import and work, data files included."""
    pinned = [f"{name}=={version(name)}" for name in ("ua-parser", "ua-parser-builtins", "geoip2fast")]
    archive = emr.build_dependencies(tmp_path / "cache", requirements=pinned)
    assert emr.build_dependencies(tmp_path / "cache", requirements=pinned) == archive  # built once
    unpacked = tmp_path / "deps"
    with tarfile.open(archive) as tar:
        tar.extractall(unpacked, filter="data")
    probe = (
        "import ua_parser, geoip2fast; from geoip2fast import GeoIP2Fast;"
        "print(ua_parser.__file__); print(geoip2fast.__file__);"
        "print(ua_parser.parse('Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0 Safari/537.36')"
        ".user_agent.family); print(GeoIP2Fast().lookup('8.8.8.8').country_code)"
    )
    # -S: no site-packages (the test's virtualenv has these packages too); only the archive is on the path
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(unpacked)}
    out = subprocess.run(
        [sys.executable, "-S", "-c", probe], env=env, capture_output=True, text=True, check=True
    )
    ua_file, geo_file, family, country = out.stdout.split()
    assert ua_file.startswith(str(unpacked)) and geo_file.startswith(str(unpacked))
    assert (family, country) == ("Chrome", "US")


def test_a_requirement_that_cannot_be_installed_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="cannot build the EMR dependencies"):
        emr.build_dependencies(tmp_path, requirements=["clickstream-no-such-package==1.0"])
    assert not list(tmp_path.glob("*.tar.gz")), "nothing half-built is left to be picked up"

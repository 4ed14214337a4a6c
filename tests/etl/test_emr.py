"""The EMR Serverless runner against moto: package, start, poll, fail, succeed, metrics."""

from __future__ import annotations

import json
from collections.abc import Iterator
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


def _run(application_id: str, session: Session) -> dict[str, Any]:
    return emr.run_on_emr(
        session,
        application_id=application_id,
        role_arn="arn:aws:iam::123456789012:role/emr-job",
        bucket=BUCKET,
        lake=f"s3://{BUCKET}",
        project_id="shop",
        app_ids=["web", "android"],
        plugins=["clickstream", "traffic", "ua", "geo"],
        job_name="run-1",
        poll_seconds=0,
        sleep=lambda seconds: None,
    )


def _metric_names() -> set[str]:
    listed = boto3.client("cloudwatch", region_name=REGION).list_metrics(Namespace=emr.NAMESPACE)["Metrics"]
    return {m["MetricName"] for m in listed}


def test_a_successful_run_is_polled_and_reported(aws: str) -> None:
    session = Session(["SUBMITTED", "RUNNING", "RUNNING", "SUCCESS"])
    s3 = boto3.client("s3", region_name=REGION)
    summary = {"files": 3, "rows_in": 10, "rows_out": 9, "corrupted": 1, "requests": 2}
    s3.put_object(
        Bucket=BUCKET,
        Key="clickstream/shop/job-data/commits/run-1.json",
        Body=json.dumps({"summary": summary}),
    )

    result = _run(aws, session)

    assert result["state"] == "SUCCESS" and session.emr.polls == 4
    assert result["rows_out"] == 9 and result["corrupted"] == 1
    assert result["logs"].endswith(f"/applications/{aws}/jobs/{result['job_run_id']}/SPARK_DRIVER/")
    assert {"Data Processing job success", "Data Processing sink count"} <= _metric_names()
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]}
    assert "clickstream/shop/job-data/emr/run-1/etl.zip" in keys


def test_the_job_run_gets_the_packaged_code_and_arguments(aws: str) -> None:
    session = Session(["SUCCESS"])
    result = _run(aws, session)
    run = session.emr.client.get_job_run(applicationId=aws, jobRunId=result["job_run_id"])["jobRun"]
    driver = run["jobDriver"]["sparkSubmit"]
    assert driver["entryPoint"] == f"s3://{BUCKET}/clickstream/shop/job-data/emr/run-1/{emr.ENTRY_POINT}"
    assert driver["entryPointArguments"][:3] == ["run", "--lake", f"s3://{BUCKET}"]
    assert "spark.submit.pyFiles=s3://" in driver["sparkSubmitParameters"]


def test_a_failed_run_is_reported_as_failed_without_counts(aws: str) -> None:
    result = _run(aws, Session(["PENDING", "RUNNING", "FAILED"]))
    assert result["state"] == "FAILED"
    assert "rows_out" not in result
    assert "Data Processing job failed" in _metric_names()

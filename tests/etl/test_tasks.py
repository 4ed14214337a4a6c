"""The local runner: a project's ETL run as a django-q2 job, recorded as a Job row."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from portal.choices import JobStatus
from projects.models import App


@pytest.mark.spark
@pytest.mark.django_db
def test_a_local_run_is_recorded_as_a_job(
    cast,
    settings,
    tmp_path: Path,
    anchor_fixtures: Path,
    spark: SparkSession,
    django_capture_on_commit_callbacks,
) -> None:  # type: ignore[no-untyped-def]
    from etl.tasks import etl_run_enqueue

    App.objects.unscoped().create(organization=cast.org_a, project=cast.project_a, app_id="uba_app", name="x")
    settings.CLICKSTREAM_LAKE_DIR = tmp_path
    hour = tmp_path / "clickstream/shop/data/buffer/year=2023/month=04/day=24/hour=06"
    hour.mkdir(parents=True)
    shutil.copy(anchor_fixtures / "original_data_nozip.json", hour / "1682319109-a.json")

    with django_capture_on_commit_callbacks(execute=True):
        job = etl_run_enqueue(project=cast.project_a)
    job.refresh_from_db()

    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.kind == "etl.local" and job.object == cast.project_a
    # The fixture's event belongs to app "uba-app", which this project does not have: counted, filtered.
    assert (job.result["files"], job.result["rows_in"], job.result["filtered"]) == (1, 1, 1)
    assert job.result["duration_s"] > 0
    steps = [line.message for line in job.log_lines.all()]
    assert steps[0] == "transforming 1 raw files" and steps[-2] == "committing the run"
    assert {f"writing {table}" for table in ("event_v2", "item_v2", "user_v2", "session")} <= set(steps)
    assert job.progress == 100


@pytest.mark.django_db
def test_a_project_without_apps_fails_with_a_reason(cast, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    from etl.tasks import etl_run_enqueue

    cast.app_a.delete()
    with django_capture_on_commit_callbacks(execute=True):
        job = etl_run_enqueue(project=cast.project_a)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert "has no apps" in job.error

"""The local runner: a django-q2 job that runs one project's ETL in-process with DuckDB (or Spark `local[*]`
when `CLICKSTREAM_ETL_ENGINE=spark`), recorded as a Job row.

This is the only part of `etl/` that uses Django (the job itself runs on EMR Serverless too). Per-pipeline
schedules come with the pipelines work: a schedule calls `etl_run_enqueue` for its project.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction

from portal.jobs import PermanentJobError, job_enqueue, job_kind
from portal.models import Job
from projects.models import Project

JOB_KIND = "etl.local"


def etl_run_enqueue(*, project: Project, plugins: list[str] | None = None) -> Job:
    """Records a pending ETL run for the project and queues it once the transaction commits."""
    return job_enqueue(
        organization=project.organization,
        kind=JOB_KIND,
        name=f"Data processing — {project.project_id}",
        kwargs={"project_pk": project.pk, "plugins": plugins},
        obj=project,
    )


@job_kind(JOB_KIND, retries=2)
def etl_run_local(*, job: Job, project_pk: int, plugins: list[str] | None = None) -> dict[str, Any]:
    """Runs the job over the project's pending raw files in the local lake; returns the run's figures
    (rows in / out / corrupted / filtered / de-duplicated, duration), which the Job row stores."""
    from etl.config import JobConfig
    from etl.job import run_job
    from etl.lake import lake_layout

    project = Project.objects.unscoped().get(pk=project_pk)
    app_ids = list(project.apps.values_list("app_id", flat=True))
    if not app_ids:
        raise PermanentJobError(f"project {project.project_id} has no apps: register an app first")
    options: dict[str, Any] = {
        "project_id": project.project_id,
        "app_ids": app_ids,
        "job_name": f"local-{job.uuid}",
    }
    if plugins:
        options["plugins"] = plugins
    cfg = JobConfig(**options)
    spark = None
    if settings.CLICKSTREAM_ETL_ENGINE == "spark":
        from etl.session import build_session

        job.set_progress(5, "starting Spark")
        spark = build_session("local[*]")
    job.set_progress(10, "listing pending raw files")

    def progress(percent: int, step: str) -> None:
        job.set_progress(percent, step)
        job.add_log(step)

    layout = lake_layout(str(settings.CLICKSTREAM_LAKE_DIR), project.project_id)
    result = run_job(spark, layout, cfg, progress)
    job.add_log(
        f"{result['files']} files, {result['rows_in']} events in, {result['rows_out']} out, "
        f"{result['corrupted']} corrupted, {result['filtered']} filtered, {result['deduplicated']} duplicates"
    )
    from etl.signals import processing_finished

    # The warehouse load and metadata scan follow once this run's job is recorded (analytics receives it).
    transaction.on_commit(
        lambda: processing_finished.send(sender=etl_run_local, project=project, result=result)
    )
    return result

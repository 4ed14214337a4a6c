"""Background work of the provisioning app: the reconciler job, its follow-up, the processing schedule's
task, and the scan that notices an app's first events."""

from __future__ import annotations

from typing import Any

from pipelines.models import Pipeline
from portal.jobs import job_kind
from portal.models import Job
from provisioning.choices import RunState
from provisioning.models import Deployment
from provisioning.reconciler import reconcile

WAIT_SECONDS = 15  # how soon a run with resources in progress (a stack on AWS) looks again


def _record_failure(job: Job, reason: str) -> None:
    """The reconciler job itself failed for good (not a resource): the run is failed, with why."""
    pipeline_pk = job.kwargs.get("pipeline_pk")
    Deployment.objects.unscoped().filter(pipeline_id=pipeline_pk, run_state=RunState.RUNNING).update(
        run_state=RunState.FAILED, reason=f"The reconciler failed: {reason}"
    )


@job_kind("provisioning.reconcile", retries=5, backoff_base=5, backoff_cap=120, on_failure=_record_failure)
def reconcile_job(*, job: Job, pipeline_pk: int) -> dict[str, Any]:
    result = reconcile(pipeline_pk=pipeline_pk, log=job.add_log)
    if result.waiting:
        from provisioning.services import reconcile_enqueue

        reconcile_enqueue(pipeline=Pipeline.objects.unscoped().get(pk=pipeline_pk), delay=WAIT_SECONDS)
    return {"steps": result.steps, "waiting": result.waiting, "removed": result.removed}


def reconcile_follow_up(pipeline_pk: int) -> None:
    """A django-q2 one-off schedule's target: start the reconciler again (it may have missed a change)."""
    from provisioning.services import reconcile_enqueue

    pipeline = Pipeline.objects.unscoped().filter(pk=pipeline_pk).first()
    if pipeline is not None:
        reconcile_enqueue(pipeline=pipeline)


def processing_enqueue(project_pk: int) -> None:
    """The processing schedule's target: one ETL run of the project (once per project: a run still going
    is not doubled)."""
    from etl.tasks import etl_run_enqueue
    from projects.models import Project

    project = Project.objects.unscoped().filter(pk=project_pk).first()
    if project is not None:
        etl_run_enqueue(project=project)


SCAN_SCHEDULE = "provisioning: notice apps' first events"


def first_events_scan() -> dict[str, int]:
    """For apps of local pipelines without `data_since`: set it when their first events are in the lake.
    Once set, the app's reporting time zone is fixed (`App.clean`)."""
    from projects.models import App
    from provisioning.providers.local import project_folder
    from provisioning.traffic import app_traffic

    filled = 0
    waiting = App.objects.unscoped().filter(data_since__isnull=True, project__pipeline__provider="local")
    for project_pk in set(waiting.values_list("project_id", flat=True)):
        pipeline = (
            Pipeline.objects.unscoped()
            .select_related("project", "current_version")
            .get(project_id=project_pk)
        )
        traffic = app_traffic(buffer=project_folder(pipeline) / "data" / "buffer")
        for app in waiting.filter(project_id=project_pk):
            seen = traffic.get(app.app_id)
            if seen is not None and seen.first_seen is not None:
                # An update of the one field: the App's save signal must not re-plan the pipeline for it.
                filled += (
                    App.objects.unscoped()
                    .filter(pk=app.pk, data_since__isnull=True)
                    .update(data_since=seen.first_seen)
                )
    return {"filled": filled}


def first_events_schedule_ensure(**kwargs: Any) -> None:
    from django_q.models import Schedule

    Schedule.objects.update_or_create(
        name=SCAN_SCHEDULE,
        defaults={"func": "provisioning.tasks.first_events_scan", "schedule_type": Schedule.MINUTES,
                  "minutes": 1, "repeats": -1},
    )  # fmt: skip


DEMO_KIND = "provisioning.demo"


@job_kind(DEMO_KIND, retries=0)
def demo_job(*, job: Job, organization_pk: int) -> dict[str, Any]:
    """The demo button's work (`provisioning.demo`): it waits on the reconciler and the collector, so it
    never runs in the request."""
    from portal.jobs import PermanentJobError
    from portal.models import Organization
    from provisioning.demo import DemoError, demo_run

    def progress(percent: int, step: str) -> None:
        job.set_progress(percent, step)
        job.add_log(step)

    try:
        result = demo_run(organization=Organization.objects.get(pk=organization_pk), progress=progress)
    except DemoError as exc:
        raise PermanentJobError(str(exc)) from exc
    return {
        "project": result.project.project_id,
        "processing_job": str(result.processing.uuid),
        **result.sent.report(),
    }

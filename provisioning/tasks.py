"""Background work of the provisioning app: the reconciler job, its follow-up, the processing schedule's
task, and the scan that notices an app's first events."""

from __future__ import annotations

from typing import Any

from pipelines.models import Pipeline
from portal.jobs import job_kind
from portal.models import Job
from provisioning.choices import RunState
from provisioning.models import Deployment, PipelineResource
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


# --- the AWS refresh and the notification sync (provisioning/aws/refresh.py, notifications.py) -----------

REFRESH_SCHEDULE = "provisioning: refresh settled AWS pipelines"
REFRESH_KIND = "provisioning.aws_refresh"
NOTIFICATIONS_KIND = "provisioning.notifications_sync"
REFRESH_MINUTES = 5


@job_kind(REFRESH_KIND, retries=3, lease=300)
def aws_refresh_job(*, job: Job, account_pk: int) -> dict[str, Any]:
    """One account's settled pipelines: stacks and drift, alarms, subscriptions, a batch per region."""
    from portal.models.aws import AwsAccount
    from provisioning.aws.refresh import account_refresh

    account = AwsAccount.objects.unscoped().select_related("organization").filter(pk=account_pk).first()
    if account is None:
        return {"skipped": "the account is no longer connected"}
    return account_refresh(account=account, log=job.add_log)


def aws_refresh_all() -> dict[str, int]:
    """The schedule's target: a refresh job per connected account with settled AWS pipelines (a job still
    running for an account is not doubled)."""
    from portal.jobs import job_enqueue
    from portal.models.aws import AwsAccount

    accounts = {
        str((p.spec.get("aws") or {}).get("account"))
        for p in Pipeline.objects.unscoped()
        .filter(provider="aws", delete_requested__isnull=True, current_version__isnull=False)
        .select_related("current_version")
    }
    started = 0
    for account in AwsAccount.objects.unscoped().select_related("organization").filter(uuid__in=accounts):
        job_enqueue(organization=account.organization, kind=REFRESH_KIND, obj=account,
                    name=f"AWS refresh — {account.name}", kwargs={"account_pk": account.pk})  # fmt: skip
        started += 1
    return {"accounts": started}


def aws_refresh_schedule_ensure(**kwargs: Any) -> None:
    from django_q.models import Schedule

    Schedule.objects.update_or_create(
        name=REFRESH_SCHEDULE,
        defaults={"func": "provisioning.tasks.aws_refresh_all", "schedule_type": Schedule.MINUTES,
                  "minutes": REFRESH_MINUTES, "repeats": -1},
    )  # fmt: skip


@job_kind(NOTIFICATIONS_KIND, retries=3)
def notifications_sync_job(*, job: Job, pipeline_pk: int) -> dict[str, Any]:
    """The project's e-mails changed: subscribe the new ones to the alarm topic, unsubscribe removed ones."""
    from portal import aws
    from portal.jobs import PermanentJobError
    from provisioning.aws import notifications
    from provisioning.aws.target import NoAccount, pipeline_account, pipeline_region

    pipeline = (
        Pipeline.objects.unscoped().select_related("project", "organization").filter(pk=pipeline_pk).first()
    )
    metrics = (
        PipelineResource.objects.unscoped()
        .filter(pipeline_id=pipeline_pk, kind="Metrics", state__endswith="_COMPLETE")
        .exclude(state__in=["DELETE_COMPLETE", "ROLLBACK_COMPLETE"])
        .exists()
    )
    if pipeline is None or not metrics:
        return {
            "skipped": "no alarm topic yet: the addresses are subscribed once the Metrics stack is created"
        }
    try:
        account = pipeline_account(pipeline)
    except NoAccount as exc:
        raise PermanentJobError(str(exc)) from None
    session = aws.aws_session(account=account, region=pipeline_region(pipeline))
    count = notifications.notifications_sync(
        pipeline=pipeline, sns=aws.aws_client(session, "sns"), log=job.add_log
    )
    return {"subscriptions": count}


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

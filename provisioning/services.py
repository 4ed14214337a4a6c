"""Changes asked of a pipeline's resources: a new version, an app added or removed, a deletion, a retry.

Each records the action (what the status function calls the last action) and starts the reconciler, which
does the work in the background. None of them touches a resource itself.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from pipelines.models import Pipeline
from portal.choices import JobStatus
from portal.jobs import job_enqueue
from portal.models import Job
from projects.models import App
from provisioning.choices import Action, DriftState, PipelineStatus, ResourceState, RunState, is_failed
from provisioning.models import Deployment, PipelineResource
from provisioning.reconciler import deployment_of
from provisioning.selectors import pipeline_state, upgrade_offer

RECONCILE_KIND = "provisioning.reconcile"
FOLLOW_UP_SECONDS = 3


class PipelineBusy(Exception):
    """The pipeline is being changed; say what runs so the person knows what to wait for."""


class NothingToRetry(Exception):
    pass


def deployment_request(*, pipeline: Pipeline, action: str, delete_data: bool = False) -> Deployment:
    """Record `action` as the last action and start the reconciler for it."""
    with transaction.atomic():
        locked = Pipeline.objects.unscoped().select_for_update().get(pk=pipeline.pk)
        deployment = deployment_of(locked)
        if not (action == Action.UPDATE and deployment.run_state == RunState.RUNNING and deployment.pk):
            deployment.action = action  # an app added while the pipeline is created is part of the create
        deployment.run_state, deployment.reason = RunState.RUNNING, ""
        deployment.requested, deployment.finished = timezone.now(), None
        deployment.delete_data = delete_data if action == Action.DELETE else False
        deployment.save()
        reconcile_enqueue(pipeline=locked)
    return deployment


def reconcile_enqueue(*, pipeline: Pipeline, delay: float = 0) -> Job | None:
    """Start the reconciler (once per pipeline). If it is running already it may have passed the change just
    recorded, so a follow-up is scheduled that starts it again after this run."""
    if delay:
        _follow_up(pipeline=pipeline, seconds=delay)
        return None
    job = job_enqueue(
        organization=pipeline.organization, kind=RECONCILE_KIND,
        name=f"Provisioning — pipeline of {pipeline.project.project_id}",
        kwargs={"pipeline_pk": pipeline.pk}, obj=pipeline,
    )  # fmt: skip
    if job.status == JobStatus.RUNNING:
        _follow_up(pipeline=pipeline, seconds=FOLLOW_UP_SECONDS)
    return job


def _follow_up(*, pipeline: Pipeline, seconds: float) -> None:
    from django_q.models import Schedule

    Schedule.objects.update_or_create(
        name=f"provisioning: reconcile {pipeline.pipeline_id}",
        defaults={"func": "provisioning.tasks.reconcile_follow_up", "args": repr((pipeline.pk,)),
                  "schedule_type": Schedule.ONCE, "repeats": -1,
                  "next_run": timezone.now() + timedelta(seconds=seconds)},
    )  # fmt: skip


def pipeline_busy_check(*, pipeline: Pipeline) -> None:
    """Refuse a change while another runs, naming it: "Creating: 2 of 4 steps done; lake, allowlist…"."""
    if not Deployment.objects.unscoped().filter(pipeline=pipeline).exists():
        return  # the provider was never asked to act: nothing runs
    state = pipeline_state(pipeline=pipeline)
    if state.busy:
        running = ", ".join(r.name for r in state.running) or "the next step"
        raise PipelineBusy(
            f"The pipeline is {state.status.lower()} ({state.done} of {state.total} steps done; running: "
            f"{running}). Wait until it is Active, Warning or Failed, then try again."
        )


def pipeline_retry(*, pipeline: Pipeline) -> Deployment:
    """Try again what failed, and what depends on it; nothing else is touched. The last action stays. A
    stack the refresh found deleted outside Clickstream counts as failed: it is created again."""
    with transaction.atomic():
        locked = Pipeline.objects.unscoped().select_for_update().get(pk=pipeline.pk)
        records = list(PipelineResource.objects.unscoped().filter(pipeline=locked))
        gone = {r.name for r in records if r.drift == DriftState.DELETED}
        failed = {r.name for r in records if is_failed(r.state)} | gone
        if not failed:
            raise NothingToRetry("Nothing failed: there is nothing to retry.")
        pipeline_busy_check(pipeline=locked)
        again = _with_dependents(failed, records)
        for record in records:
            if record.name in again:
                if record.name in failed:
                    record.state = ResourceState.PENDING
                if record.name in gone:
                    record.applied_hash = ""  # made again: a create, not an update
                record.inputs_hash = ""
                record.add_event("retry requested")
                record.save()
        deployment = deployment_of(locked)
        deployment.run_state, deployment.reason, deployment.finished = RunState.RUNNING, "", None
        deployment.save()
        reconcile_enqueue(pipeline=locked)
    return deployment


def _with_dependents(names: set[str], records: list[PipelineResource]) -> set[str]:
    result = set(names)
    grown = True
    while grown:
        more = {r.name for r in records if set(r.depends_on) & result} - result
        grown, result = bool(more), result | more
    return result


def pipeline_upgrade(*, pipeline: Pipeline) -> Deployment:
    """Bring every stack to the templates of this release (a new `TEMPLATE_VERSION`), the person's explicit
    choice (§3.8): the reconciler updates each whose template or version tag changed, in the plan's order,
    and nothing else. An Update never does this on its own: it keeps each stack's deployed template."""
    with transaction.atomic():
        locked = Pipeline.objects.unscoped().select_for_update().get(pk=pipeline.pk)
        if upgrade_offer(pipeline=locked) is None:
            raise NothingToUpgrade("The pipeline is already the latest version: there is nothing to upgrade.")
        pipeline_busy_check(pipeline=locked)
        status = pipeline_state(pipeline=locked).status
        if status not in (PipelineStatus.ACTIVE, PipelineStatus.WARNING):
            raise NothingToUpgrade(
                f"The pipeline is {status.label}: it can be upgraded only when Active or Warning. Press Retry "
                "to finish what failed, then upgrade."
            )
        return deployment_request(pipeline=locked, action=Action.UPGRADE)


class NothingToUpgrade(Exception):
    pass


class RollbackNotStuck(Exception):
    pass


def stack_rollback_continue(*, pipeline: Pipeline, name: str) -> list[str]:
    """Continue the rollback of a stack left `UPDATE_ROLLBACK_FAILED`, skipping the resources that block it
    (CloudFormation's `continue-update-rollback`): the person's explicit choice, never automatic, because
    the skipped resources keep their new state. Returns the skipped logical ids; the reconciler follows."""
    from provisioning.providers import provider_for

    with transaction.atomic():
        locked = Pipeline.objects.unscoped().select_for_update().get(pk=pipeline.pk)
        record = PipelineResource.objects.unscoped().filter(pipeline=locked, name=name).first()
        if record is None or record.state != ResourceState.UPDATE_ROLLBACK_FAILED:
            raise RollbackNotStuck(
                f"{name} is not in UPDATE_ROLLBACK_FAILED: there is no rollback to continue."
            )
        provider = provider_for(locked)
        skipped = provider.rollback_continue(locked, record)  # type: ignore[attr-defined]
        record.state = ResourceState.UPDATE_ROLLBACK_IN_PROGRESS
        record.reason = ""
        record.add_event("continuing the rollback, skipping " + (", ".join(skipped) or "nothing"))
        record.save()
        deployment = deployment_of(locked)
        deployment.run_state, deployment.reason, deployment.finished = RunState.RUNNING, "", None
        deployment.save()
        reconcile_enqueue(pipeline=locked)
    return skipped


@dataclass(frozen=True)
class TestEventOutcome:
    """What the collector answered to the portal's test event."""

    endpoint: str
    status: int
    detail: str  # the request id when accepted, else the collector's reason

    @property
    def accepted(self) -> bool:
        return self.status == 200


def test_event_send(*, app: App) -> TestEventOutcome:
    """Post one request shaped like the app's SDK's (the first of its platforms) to its ingestion endpoint,
    from the portal: the same path a device's request takes through the collector's allow-list."""
    from ingestion.loadgen import Traffic, post
    from projects.services import app_ingestion_endpoint

    endpoint = app_ingestion_endpoint(app=app) or settings.CLICKSTREAM_INGESTION_ENDPOINT
    platform = next((p for p in app.platforms or [] if p in ("Web", "Android", "iOS")), "Web")
    request = Traffic({platform: app.app_id}).test_event(now_ms=int(time.time() * 1000))
    status, detail = post(endpoint, request, timeout=5)
    return TestEventOutcome(endpoint, status, detail)

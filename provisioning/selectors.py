"""Reads of a pipeline's provisioning state: the derived status, the resources, the progress."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count

from pipelines.choices import AlarmState, SubscriptionState
from pipelines.models import Alarm, AlarmSubscription, Pipeline
from portal.models import Organization
from provisioning.choices import Action, DriftState, PipelineStatus, RunState, is_in_progress
from provisioning.models import Deployment, PipelineResource
from provisioning.status import ResourceView, pipeline_status


@dataclass(frozen=True)
class PipelineState:
    status: PipelineStatus
    action: str
    run_state: str
    reason: str
    resources: list[PipelineResource]
    upgrade: UpgradeOffer | None = None

    @property
    def busy(self) -> bool:
        return self.status in PipelineStatus.busy()

    @property
    def total(self) -> int:
        return len(self.resources)

    @property
    def done(self) -> int:
        return sum(r.state.endswith("_COMPLETE") and not r.state.endswith("ROLLBACK_COMPLETE")
                   for r in self.resources)  # fmt: skip

    @property
    def to_go(self) -> int:
        return self.total - self.done

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else (0 if self.busy else 100)

    @property
    def running(self) -> list[PipelineResource]:
        return [r for r in self.resources if is_in_progress(r.state)]

    @property
    def drifted(self) -> list[PipelineResource]:
        """Resources the refresh found changed or deleted outside Clickstream (why the status is Warning)."""
        return [r for r in self.resources if r.drift in DriftState.drifted()]

    @property
    def running_action(self) -> str:
        """What runs, in words: "Create", "Update", "Delete" (or '' when nothing does)."""
        return self.action if self.busy else ""


def pipeline_state(*, pipeline: Pipeline) -> PipelineState:
    deployment = Deployment.objects.unscoped().filter(pipeline=pipeline).first()
    resources = list(
        PipelineResource.objects.unscoped().filter(pipeline=pipeline).order_by("position", "name")
    )
    action: str
    run_state: str
    if deployment is None:  # saved, the reconciler not started yet
        action, run_state, reason = (
            Action.DELETE if pipeline.delete_requested else Action.CREATE,
            RunState.RUNNING,
            "",
        )
    else:
        action, run_state, reason = deployment.action, deployment.run_state, deployment.reason
    status = pipeline_status(
        last_action=action,
        run_state=run_state,
        resources=[ResourceView(r.state, r.template_version, r.drift) for r in resources],
    )
    return PipelineState(status, action, run_state, reason, resources, upgrade_offer(pipeline=pipeline))


@dataclass(frozen=True)
class UpgradeOffer:
    """What the Upgrade button says: the templates deployed now and this release's."""

    from_version: str
    to_version: str
    stacks: list[str]  # the stacks whose template the upgrade changes


def upgrade_offer(*, pipeline: Pipeline) -> UpgradeOffer | None:
    """An AWS pipeline some of whose stacks were applied with an older template version than this release's
    (`TEMPLATE_VERSION`); None when every stack is on it (or nothing is applied yet)."""
    if pipeline.provider != "aws" or pipeline.delete_requested:
        return None
    from provisioning.aws import TEMPLATE_VERSION

    applied = PipelineResource.objects.unscoped().filter(pipeline=pipeline).exclude(applied_hash="")
    old = [(r.name, r.template_version) for r in applied if r.template_version != TEMPLATE_VERSION]
    if not old:
        return None
    versions = sorted({v for _, v in old})
    return UpgradeOffer(" / ".join(versions) or "unknown", TEMPLATE_VERSION, [n for n, _ in old])


def pipeline_status_label(pipeline: Pipeline) -> str:
    return str(pipeline_state(pipeline=pipeline).status.label)


def alarm_summary(*, organization: Organization) -> dict[str, Any]:
    """The Alarms page's header: alarms per state, and the addresses still to confirm, across projects."""
    counts = dict(
        Alarm.objects.for_organization(organization).values_list("state").annotate(n=Count("pk")).order_by()
    )
    pending = (
        AlarmSubscription.objects.for_organization(organization)
        .exclude(state=SubscriptionState.CONFIRMED)
        .select_related("pipeline__project")
        .order_by("pipeline__project__project_id", "email")
    )
    return {
        "counts": [(AlarmState(s), counts.get(s, 0)) for s in AlarmState.values],
        "pending_subscriptions": list(pending),
    }


def pipeline_monitoring(*, pipeline: Pipeline) -> dict[str, Any]:
    """The pipeline page's alarms and subscriptions (the refresh fills them for AWS pipelines)."""
    return {
        "alarms": list(Alarm.objects.for_organization(pipeline.organization).filter(pipeline=pipeline)),
        "subscriptions": list(
            AlarmSubscription.objects.for_organization(pipeline.organization).filter(pipeline=pipeline)
        ),
    }

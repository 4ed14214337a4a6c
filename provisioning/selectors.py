"""Reads of a pipeline's provisioning state: the derived status, the resources, the progress."""

from __future__ import annotations

from dataclasses import dataclass

from pipelines.models import Pipeline
from provisioning.choices import Action, PipelineStatus, RunState, is_in_progress
from provisioning.models import Deployment, PipelineResource
from provisioning.status import ResourceView, pipeline_status


@dataclass(frozen=True)
class PipelineState:
    status: PipelineStatus
    action: str
    run_state: str
    reason: str
    resources: list[PipelineResource]

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
        resources=[ResourceView(r.state, r.template_version) for r in resources],
    )
    return PipelineState(status, action, run_state, reason, resources)


def pipeline_status_label(pipeline: Pipeline) -> str:
    return str(pipeline_state(pipeline=pipeline).status.label)

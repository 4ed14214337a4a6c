"""Provisioning in Django admin: each pipeline's derived status, last action and resources, read-only (the
reconciler writes them), with a retry action for what failed."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from pipelines.admin import ReadOnly
from provisioning import services
from provisioning.models import Deployment, PipelineResource
from provisioning.selectors import pipeline_state


@admin.register(Deployment)
class DeploymentAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ["pipeline", "organization", "status", "action", "run_state", "requested", "finished"]
    list_filter = ["action", "run_state"]
    search_fields = ["pipeline__project__project_id", "organization__slug"]
    readonly_fields = ["pipeline", "organization", "status", "action", "run_state", "reason", "delete_data",
                       "requested", "finished", "resources"]  # fmt: skip
    actions = ["retry", "upgrade"]

    @admin.display(description="Status")
    def status(self, obj: Deployment) -> str:
        state = pipeline_state(pipeline=obj.pipeline)
        return f"{state.status.label} ({state.done}/{state.total})"

    @admin.display(description="Resources")
    def resources(self, obj: Deployment) -> str:
        return "; ".join(f"{r.name}: {r.state_label}" + (f" — {r.reason}" if r.reason else "")
                         for r in pipeline_state(pipeline=obj.pipeline).resources)  # fmt: skip

    @admin.action(description="Retry what failed (and what depends on it)")
    def retry(self, request: HttpRequest, queryset: QuerySet[Deployment]) -> None:
        for deployment in queryset.select_related("pipeline"):
            try:
                services.pipeline_retry(pipeline=deployment.pipeline)
            except (services.PipelineBusy, services.NothingToRetry) as exc:
                self.message_user(request, f"{deployment.pipeline}: {exc}", messages.WARNING)
            else:
                self.message_user(request, f"{deployment.pipeline}: retrying.")

    @admin.action(description="Upgrade the stacks to this release's templates")
    def upgrade(self, request: HttpRequest, queryset: QuerySet[Deployment]) -> None:
        for deployment in queryset.select_related("pipeline"):
            try:
                services.pipeline_upgrade(pipeline=deployment.pipeline)
            except (services.PipelineBusy, services.NothingToUpgrade) as exc:
                self.message_user(request, f"{deployment.pipeline}: {exc}", messages.WARNING)
            else:
                self.message_user(request, f"{deployment.pipeline}: upgrading.")


@admin.register(PipelineResource)
class PipelineResourceAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ["name", "pipeline", "organization", "state", "applied_version", "updated"]
    list_filter = ["state", "kind"]
    search_fields = ["name", "pipeline__project__project_id"]
    readonly_fields = ["pipeline", "organization", "name", "kind", "position", "depends_on", "state", "reason",
                       "inputs", "inputs_hash", "applied_hash", "applied_version", "template_version", "outputs",
                       "events", "operation", "updated"]  # fmt: skip
    actions = ["rollback_continue"]

    @admin.action(description="Continue the rollback (stacks in UPDATE_ROLLBACK_FAILED)")
    def rollback_continue(self, request: HttpRequest, queryset: QuerySet[PipelineResource]) -> None:
        for resource in queryset.select_related("pipeline"):
            try:
                skipped = services.stack_rollback_continue(pipeline=resource.pipeline, name=resource.name)
            except services.RollbackNotStuck as exc:
                self.message_user(request, str(exc), messages.WARNING)
            else:
                self.message_user(
                    request, f"{resource.name}: continuing, skipping {', '.join(skipped) or 'nothing'}."
                )

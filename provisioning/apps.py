from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ProvisioningConfig(AppConfig):
    name = "provisioning"

    def ready(self) -> None:
        from pipelines.models import Pipeline
        from portal import registry
        from portal.roles import Perm
        from provisioning import receivers, tasks  # noqa: F401  (signal receivers, job kinds)
        from provisioning.health import processing_check
        from provisioning.selectors import pipeline_status_label

        post_migrate.connect(tasks.first_events_schedule_ensure, sender=self)
        post_migrate.connect(tasks.aws_refresh_schedule_ensure, sender=self)
        registry.register_menu_item(
            label="Alarms", url_name="provisioning:alarms", permission=Perm.VIEW_PROJECTS, order=30
        )
        registry.register_health_check(name="processing", check=processing_check, order=40)
        registry.register_home_card(
            template="provisioning/_demo_card.html",
            permission=Perm.MANAGE_PROJECTS,
            context=_demo_card,
            order=5,
        )
        registry.register_panel(
            model="projects.project",
            template="provisioning/_project_deleting.html",
            permission=Perm.VIEW_PROJECTS,
            context=_project_deleting,
            order=1,
        )
        # `Project.pipeline_status` (project lists and pages) reads this attribute when a provider offers it.
        setattr(Pipeline, "status_label", property(pipeline_status_label))  # noqa: B010


def _project_deleting(*, membership: Any, object: Any, **_: Any) -> dict[str, Any]:
    """A deleting project's page shows its pipeline's delete: each resource's progress, and Retry if one
    failed (nothing when the project is not being deleted)."""
    from pipelines.models import Pipeline
    from portal.roles import Perm
    from provisioning.selectors import pipeline_monitoring, pipeline_state

    pipeline = Pipeline.objects.unscoped().filter(project=object).first() if object.deleting else None
    if pipeline is None:
        return {"pipeline": None}
    return {
        "project": object,
        "pipeline": pipeline,
        "state": pipeline_state(pipeline=pipeline),
        "monitoring": pipeline_monitoring(pipeline=pipeline),
        "can_manage": membership.has_perm(Perm.MANAGE_PROJECTS),
    }


def _demo_card(*, membership: Any, **_: Any) -> dict[str, Any]:
    """The demo is offered while the organization has no project (the card renders nothing otherwise)."""
    from projects.models import Project

    return {"offer_demo": not Project.objects.for_organization(membership.organization).exists()}

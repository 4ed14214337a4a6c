from __future__ import annotations

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ProvisioningConfig(AppConfig):
    name = "provisioning"

    def ready(self) -> None:
        from pipelines.models import Pipeline
        from portal import registry
        from portal.roles import Perm
        from provisioning import receivers, tasks  # noqa: F401  (signal receivers, job kinds)
        from provisioning.selectors import pipeline_status_label

        post_migrate.connect(tasks.first_events_schedule_ensure, sender=self)
        post_migrate.connect(tasks.aws_refresh_schedule_ensure, sender=self)
        registry.register_menu_item(
            label="Alarms", url_name="provisioning:alarms", permission=Perm.VIEW_PROJECTS, order=30
        )
        # `Project.pipeline_status` (project lists and pages) reads this attribute when a provider offers it.
        setattr(Pipeline, "status_label", property(pipeline_status_label))  # noqa: B010

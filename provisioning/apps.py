from __future__ import annotations

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ProvisioningConfig(AppConfig):
    name = "provisioning"

    def ready(self) -> None:
        from provisioning import receivers, tasks  # noqa: F401  (signal receivers, job kinds)

        post_migrate.connect(tasks.first_events_schedule_ensure, sender=self)

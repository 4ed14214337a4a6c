from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.module_loading import autodiscover_modules


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Portal"

    def ready(self) -> None:
        from portal import audit, health, services  # noqa: F401  (health registers its checks)
        from portal.api import schema  # noqa: F401  registers the OpenAPI description of bearer tokens

        audit.connect_signals()
        services.connect_signals()
        # Job kinds register themselves in their app's tasks.py; every process (portal and worker) needs them.
        autodiscover_modules("tasks")
        post_migrate.connect(_ensure_job_sweeper, sender=self)


def _ensure_job_sweeper(**kwargs: Any) -> None:
    """Every deployment runs migrate, whatever starts it, so the sweeper's schedule exists wherever jobs do."""
    from portal.jobs import job_sweeper_schedule_ensure

    job_sweeper_schedule_ensure()

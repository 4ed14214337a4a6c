from __future__ import annotations

from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Portal"

    def ready(self) -> None:
        from portal import audit, services
        from portal.api import schema  # noqa: F401  registers the OpenAPI description of bearer tokens

        audit.connect_signals()
        services.connect_signals()

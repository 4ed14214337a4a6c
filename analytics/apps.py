from __future__ import annotations

from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "analytics"

    def ready(self) -> None:
        from analytics import signals
        from analytics.health import warehouse_check
        from portal import registry
        from portal.roles import Perm

        registry.register_health_check(name="warehouse", check=warehouse_check, order=50)
        signals.processing_finished.connect(signals.on_processing_finished, dispatch_uid="analytics-refresh")
        registry.register_menu_item(
            label="Analytics", url_name="analytics:projects", permission=Perm.VIEW_ANALYTICS, order=20
        )

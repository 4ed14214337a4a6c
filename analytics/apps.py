from __future__ import annotations

from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "analytics"

    def ready(self) -> None:
        from analytics import signals

        signals.processing_finished.connect(signals.on_processing_finished, dispatch_uid="analytics-refresh")

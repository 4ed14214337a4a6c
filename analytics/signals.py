"""Signals other apps send to analytics without importing it.

The local ETL run's job sends `etl.signals.processing_finished(sender=..., project=<Project>)` after a
successful run; the receiver (connected in `AnalyticsConfig.ready`) enqueues the warehouse load and the metadata scan.
"""

from __future__ import annotations

from typing import Any

from etl.signals import processing_finished

__all__ = ["on_processing_finished", "processing_finished"]


def on_processing_finished(sender: Any, *, project: Any, **kwargs: Any) -> None:
    from analytics.tasks import warehouse_refresh_enqueue

    warehouse_refresh_enqueue(project=project)

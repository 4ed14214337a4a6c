"""What the local runner tells the rest of the portal, without importing it (analytics listens)."""

from __future__ import annotations

from django.dispatch import Signal

# Sent after a successful processing run with `project=<Project>` and `result=<the run's figures>`.
processing_finished = Signal()

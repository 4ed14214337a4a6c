"""Signals the provisioning app receives: a lower app starts work in a higher one without importing it.

Both are sent after the transaction commits, so a receiver that enqueues work never sees a rolled-back save.
- `pipeline_saved(sender=Pipeline, pipeline, version, created)`: a new version is the desired state.
- `pipeline_delete_requested(sender=Pipeline, pipeline)`: remove the resources, then the pipeline
  (`pipelines.services.pipeline_remove`).
"""

from __future__ import annotations

from django.dispatch import Signal

pipeline_saved = Signal()
pipeline_delete_requested = Signal()

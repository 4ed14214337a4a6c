"""Signals the provisioning app receives: a lower app starts work in a higher one without importing it.

Both are sent after the transaction commits, so a receiver that enqueues work never sees a rolled-back save.
- `pipeline_saved(sender=Pipeline, pipeline, version, created)`: a new version is the desired state.
- `pipeline_delete_requested(sender=Pipeline, pipeline)`: remove the resources, then the pipeline
  (`pipelines.services.pipeline_remove`).
- `pipeline_change_requested(sender=Pipeline, pipeline)`: sent before a save or a deletion request; a
  receiver raises `pipelines.services.ChangeRefused` to refuse it (the provider, while it is busy).

pipeline_delete_requested also carries `delete_data` (bool): whether the data goes too.
"""

from __future__ import annotations

from django.dispatch import Signal

pipeline_change_requested = Signal()
pipeline_saved = Signal()
pipeline_delete_requested = Signal()

"""Signals of the projects app, so a higher app can act on a project without projects importing it.

- `project_delete_requested(sender=Project, project)`: the project has a pipeline, so its deletion starts
  with the pipeline's (every resource, then the pipeline, then the project). Sent inside the transaction
  that marks the project deleting: a receiver that raises `projects.services.DeleteRefused` refuses the
  deletion and nothing is kept. Whoever removes the pipeline removes a deleting project after it.
"""

from __future__ import annotations

from django.dispatch import Signal

project_delete_requested = Signal()

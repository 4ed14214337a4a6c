"""Data pipelines. This holds only what the portal foundation needs (a project's pipeline exists or not);
the versioned spec, stacks and status arrive with the pipelines work."""

from __future__ import annotations

import uuid

from django.db import models
from django.urls import reverse

from portal.models import OrganizationOwned


class Pipeline(OrganizationOwned):
    """The data pipeline of one project. A project with a pipeline cannot be deleted before it."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # RESTRICT, not PROTECT: the project alone cannot go while its pipeline exists, but deleting the whole
    # organization (which cascades to both) is not blocked.
    project = models.OneToOneField("projects.Project", on_delete=models.RESTRICT, related_name="pipeline")
    ingestion_endpoint = models.URLField(blank=True, help_text="Where the SDKs send events.")
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta(OrganizationOwned.Meta):
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"pipeline of {self.project}"

    def get_absolute_url(self) -> str:
        return reverse(
            "projects:project", kwargs={"org": self.organization.slug, "project": self.project.project_id}
        )

"""The audit log: who changed what, when, through which door, with the fields before and after."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from portal.choices import AuditAction, AuditSource
from portal.models.scoping import OrganizationOwned


class AuditLogEntry(OrganizationOwned):
    """One create, update or delete of an organization's object. Written by signals; never edited."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    timestamp = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(
        max_length=254, blank=True, help_text="The actor's email, kept if they leave."
    )
    source = models.CharField(max_length=10, choices=AuditSource.choices)
    action = models.CharField(max_length=10, choices=AuditAction.choices)
    object_type = models.CharField(max_length=100)
    object_id = models.CharField(max_length=200)
    object_repr = models.CharField(max_length=200)
    changes = models.JSONField(default=dict, help_text="{field: [before, after]}")

    class Meta(OrganizationOwned.Meta):
        ordering = ["-timestamp", "-id"]
        verbose_name = "audit log entry"
        verbose_name_plural = "audit log entries"

    def __str__(self) -> str:
        return f"{self.actor_label or 'system'} {self.action} {self.object_type} {self.object_repr}"

    @property
    def changes_text(self) -> str:
        from portal.audit import display_changes

        return "; ".join(
            f"{field}: {before} → {after}" for field, before, after in display_changes(self.changes)
        )

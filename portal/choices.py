"""Statuses shown as badges: one place for values, groups and colours."""

from __future__ import annotations

from django.db import models


class JobStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"

    @classmethod
    def busy(cls) -> frozenset[str]:
        return frozenset({cls.PENDING, cls.RUNNING})

    @classmethod
    def settled(cls) -> frozenset[str]:
        return frozenset({cls.SUCCEEDED, cls.FAILED, cls.CANCELLED})


BADGE_COLOURS: dict[str, str] = {
    JobStatus.PENDING: "secondary",
    JobStatus.RUNNING: "primary",
    JobStatus.SUCCEEDED: "success",
    JobStatus.FAILED: "danger",
    JobStatus.CANCELLED: "warning",
}


class LogLevel(models.TextChoices):
    DEBUG = "debug", "Debug"
    INFO = "info", "Info"
    WARNING = "warning", "Warning"
    ERROR = "error", "Error"


LOG_LEVEL_COLOURS: dict[str, str] = {
    LogLevel.DEBUG: "secondary",
    LogLevel.INFO: "body",
    LogLevel.WARNING: "warning",
    LogLevel.ERROR: "danger",
}


class AuditAction(models.TextChoices):
    CREATE = "create", "Created"
    UPDATE = "update", "Updated"
    DELETE = "delete", "Deleted"


class AuditSource(models.TextChoices):
    UI = "ui", "Web UI"
    API = "api", "API"
    ADMIN = "admin", "Django admin"
    SYSTEM = "system", "System"

"""The states a provisioned resource and a pipeline can be in, in one place (badges included)."""

from __future__ import annotations

from django.db import models


class Action(models.TextChoices):
    """What the last change asked of the resources (`lastAction` of the original)."""

    CREATE = "Create"
    UPDATE = "Update"
    UPGRADE = "Upgrade"  # to this release's templates; an Update keeps each stack's deployed template
    DELETE = "Delete"


class RunState(models.TextChoices):
    """The reconciler's run over the resources (the original's Step Functions execution status)."""

    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


class ResourceState(models.TextChoices):
    """A resource's state, named as CloudFormation names a stack's, so both providers share one vocabulary
    and the AWS provider records DescribeStacks' answer as it is. '' = not applied yet."""

    PENDING = "", "Pending"
    CREATE_IN_PROGRESS = "CREATE_IN_PROGRESS"
    CREATE_COMPLETE = "CREATE_COMPLETE"
    CREATE_FAILED = "CREATE_FAILED"
    UPDATE_IN_PROGRESS = "UPDATE_IN_PROGRESS"
    UPDATE_COMPLETE = "UPDATE_COMPLETE"
    UPDATE_FAILED = "UPDATE_FAILED"
    UPDATE_ROLLBACK_COMPLETE = "UPDATE_ROLLBACK_COMPLETE"
    UPDATE_ROLLBACK_IN_PROGRESS = "UPDATE_ROLLBACK_IN_PROGRESS"
    UPDATE_ROLLBACK_FAILED = "UPDATE_ROLLBACK_FAILED"
    ROLLBACK_IN_PROGRESS = "ROLLBACK_IN_PROGRESS"
    ROLLBACK_COMPLETE = "ROLLBACK_COMPLETE"
    ROLLBACK_FAILED = "ROLLBACK_FAILED"
    DELETE_IN_PROGRESS = "DELETE_IN_PROGRESS"
    DELETE_COMPLETE = "DELETE_COMPLETE"
    DELETE_FAILED = "DELETE_FAILED"


class DriftState(models.TextChoices):
    """CloudFormation's drift status of a stack (`StackDriftStatus`), and DELETED: the stack is gone."""

    NOT_CHECKED = "NOT_CHECKED", "Not checked"
    IN_SYNC = "IN_SYNC", "In sync"
    DRIFTED = "DRIFTED", "Drifted"
    UNKNOWN = "UNKNOWN", "Unknown"
    DELETED = "DELETED", "Deleted outside Clickstream"

    @classmethod
    def drifted(cls) -> tuple[str, ...]:
        """What makes a settled pipeline Warning: it no longer is what was applied."""
        return (cls.DRIFTED, cls.DELETED)


def is_in_progress(state: str) -> bool:
    return state.endswith("_IN_PROGRESS")


def is_failed(state: str) -> bool:
    """Failed, or rolled back (the change did not take): both need a retry or a new version."""
    return state.endswith("_FAILED") or state.endswith("ROLLBACK_COMPLETE")


def is_done(state: str) -> bool:
    return state in (ResourceState.CREATE_COMPLETE, ResourceState.UPDATE_COMPLETE)


def resource_badge(state: str) -> str:
    """The colour of a resource's badge (§3.12's per-stack badge)."""
    if is_in_progress(state):
        return "info"
    if is_failed(state):
        return "danger"
    if state.endswith("_COMPLETE"):
        return "success"
    return "secondary"


class PipelineStatus(models.TextChoices):
    CREATING = "Creating"
    ACTIVE = "Active"
    UPDATING = "Updating"
    WARNING = "Warning"
    FAILED = "Failed"
    DELETING = "Deleting"
    DELETED = "Deleted"

    @classmethod
    def busy(cls) -> tuple[str, ...]:
        """Something runs: changes wait (the original's Creating/Updating/Deleting)."""
        return (cls.CREATING, cls.UPDATING, cls.DELETING)

    @classmethod
    def settled(cls) -> tuple[str, ...]:
        """Final: delete and retry are allowed."""
        return (cls.ACTIVE, cls.WARNING, cls.FAILED)

    @property
    def badge(self) -> str:
        return {
            "Active": "success", "Warning": "warning", "Failed": "danger", "Deleted": "secondary",
        }.get(self.value, "info")  # fmt: skip

"""The pipeline's aggregate status: a pure function of the last action, the run and the resources' states.

It follows the original (`spec/control-plane.md` §3.12), with these fixes:
- a planned resource that was never applied counts as not done: the original's "no stacks → COMPLETE" showed
  a pipeline Active before anything existed; here it is Creating (or Updating) until every resource is;
- a failed run or resource, with other resources still in progress, stays busy until they settle: the
  original said Failed at once, which let people retry or delete under a change still running;
- deleted resources are Deleted only when every one of them is, never by a successful run alone;
- a stack that drifted from what was applied (or was deleted outside us), found by the scheduled refresh,
  makes an otherwise Active pipeline Warning: the original never looked, and said Active.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from provisioning.choices import (
    Action,
    DriftState,
    PipelineStatus,
    ResourceState,
    RunState,
    is_failed,
    is_in_progress,
)


@dataclass(frozen=True)
class ResourceView:
    """What the status function needs of a resource: its state, the template version it was made with and
    its drift (as the refresh last found it)."""

    state: str
    template_version: str = ""
    drift: str = ""


def resources_aggregate(resources: Iterable[ResourceView], *, template_version: str = "") -> str:
    """§3.12 step 2: FAILED, ROLLBACK_COMPLETE, IN_PROGRESS, PENDING (the fix), DELETE_COMPLETE,
    INCONSISTENT_VERSION or COMPLETE."""
    items = list(resources)
    states = [r.state for r in items]
    if any(s.endswith("_FAILED") for s in states):
        return "FAILED"
    if any(s.endswith("ROLLBACK_COMPLETE") for s in states):
        return "ROLLBACK_COMPLETE"
    if any(is_in_progress(s) for s in states):
        return "IN_PROGRESS"
    if any(s == ResourceState.PENDING for s in states):
        return "PENDING"
    if states and all(s == ResourceState.DELETE_COMPLETE for s in states):
        return "DELETE_COMPLETE"
    if template_version and any(r.template_version and r.template_version != template_version for r in items):
        return "INCONSISTENT_VERSION"
    return "COMPLETE"


def pipeline_status(
    *, last_action: str, run_state: str, resources: Iterable[ResourceView], template_version: str = ""
) -> PipelineStatus:
    items = list(resources)
    aggregate = resources_aggregate(items, template_version=template_version)
    moving = any(is_in_progress(r.state) for r in items)
    busy = run_state == RunState.RUNNING or moving or aggregate == "PENDING"
    if busy:
        return {Action.CREATE: PipelineStatus.CREATING, Action.DELETE: PipelineStatus.DELETING}.get(
            Action(last_action) if last_action in Action.values else Action.UPDATE, PipelineStatus.UPDATING
        )
    if run_state == RunState.FAILED or aggregate in ("FAILED", "ROLLBACK_COMPLETE"):
        status = PipelineStatus.FAILED
    elif aggregate == "DELETE_COMPLETE":
        status = PipelineStatus.DELETED
    elif aggregate == "INCONSISTENT_VERSION" or any(r.drift in DriftState.drifted() for r in items):
        status = PipelineStatus.WARNING
    else:
        status = PipelineStatus.ACTIVE
    if status == PipelineStatus.FAILED and last_action in (Action.UPDATE, Action.UPGRADE):
        return PipelineStatus.WARNING  # §3.12.4: the resources from before still serve traffic
    return status


__all__ = ["ResourceView", "is_failed", "pipeline_status", "resources_aggregate"]

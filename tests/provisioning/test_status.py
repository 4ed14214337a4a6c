"""The status function over every combination of resource states, last actions and run states."""

from __future__ import annotations

import itertools

import pytest

from provisioning.choices import Action, PipelineStatus, ResourceState, RunState
from provisioning.status import ResourceView, pipeline_status

STATES = list(ResourceState.values)
BUSY_LABEL = {"Create": "Creating", "Update": "Updating", "Upgrade": "Updating", "Delete": "Deleting"}


def expected(action: str, run: str, states: tuple[str, ...]) -> str:
    """The rules written out as a precedence list, independently of the implementation."""
    failed = any(s.endswith("_FAILED") or s.endswith("ROLLBACK_COMPLETE") for s in states)
    moving = any(s.endswith("_IN_PROGRESS") for s in states)
    pending = any(s == "" for s in states)
    if run == "RUNNING" or moving or (not failed and pending):
        return BUSY_LABEL[action]
    if failed or run == "FAILED":
        return "Warning" if action in ("Update", "Upgrade") else "Failed"
    if states and all(s == "DELETE_COMPLETE" for s in states):
        return "Deleted"
    return "Active"


@pytest.mark.parametrize("action", Action.values)
@pytest.mark.parametrize("run", RunState.values)
def test_every_combination_of_two_resources(action: str, run: str) -> None:
    for combo in itertools.chain([()], ((s,) for s in STATES), itertools.product(STATES, repeat=2)):
        got = pipeline_status(last_action=action, run_state=run, resources=[ResourceView(s) for s in combo])
        assert got == expected(action, run, combo), (action, run, combo)


def test_fixes_of_the_original() -> None:
    # A planned resource never applied is not Active (the original: no stacks → COMPLETE → Active).
    assert (
        pipeline_status(last_action="Create", run_state="SUCCEEDED", resources=[ResourceView("")])
        == "Creating"
    )
    # A failed run with a resource still moving stays busy until it settles (the original: Failed at once).
    moving = [ResourceView("CREATE_IN_PROGRESS"), ResourceView("")]
    assert pipeline_status(last_action="Create", run_state="FAILED", resources=moving) == "Creating"
    moving = [ResourceView("CREATE_IN_PROGRESS"), ResourceView("CREATE_FAILED")]
    assert pipeline_status(last_action="Create", run_state="SUCCEEDED", resources=moving) == "Creating"
    # A failed update still serves traffic: Warning (the original's downgrade, kept); a failed delete does not.
    failed = [ResourceView("UPDATE_FAILED"), ResourceView("CREATE_COMPLETE")]
    assert pipeline_status(last_action="Update", run_state="FAILED", resources=failed) == "Warning"
    assert (
        pipeline_status(last_action="Delete", run_state="FAILED", resources=[ResourceView("DELETE_FAILED")])
        == "Failed"
    )
    # A rolled-back update ends the run "successfully" and is still not Active.
    rolled = [ResourceView("UPDATE_ROLLBACK_COMPLETE")]
    assert pipeline_status(last_action="Create", run_state="SUCCEEDED", resources=rolled) == "Failed"


def test_a_resource_made_with_another_template_version_is_a_warning() -> None:
    resources = [ResourceView("UPDATE_COMPLETE", "v1.1.0"), ResourceView("CREATE_COMPLETE", "v1.2.0")]
    got = pipeline_status(
        last_action="Update", run_state="SUCCEEDED", resources=resources, template_version="v1.2.0"
    )
    assert got == PipelineStatus.WARNING

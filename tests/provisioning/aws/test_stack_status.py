"""The status function over the CloudFormation stack states the AWS provider records as they are
(§3.12): a stack left by a failed create or update, a stuck rollback, one still moving."""

from __future__ import annotations

import pytest

from provisioning.status import ResourceView, pipeline_status

DONE = ResourceView("CREATE_COMPLETE", "v1.2.0")


@pytest.mark.parametrize(
    ("action", "run", "stack", "expected"),
    [
        ("Create", "FAILED", "ROLLBACK_COMPLETE", "Failed"),  # §3.5: the original said Active here
        ("Create", "FAILED", "CREATE_FAILED", "Failed"),
        ("Create", "RUNNING", "ROLLBACK_IN_PROGRESS", "Creating"),
        ("Create", "RUNNING", "REVIEW_IN_PROGRESS", "Creating"),
        ("Update", "FAILED", "UPDATE_ROLLBACK_COMPLETE", "Warning"),  # the stacks from before still serve
        ("Update", "FAILED", "UPDATE_ROLLBACK_FAILED", "Warning"),
        ("Update", "RUNNING", "UPDATE_ROLLBACK_IN_PROGRESS", "Updating"),
        ("Update", "RUNNING", "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", "Updating"),
        ("Update", "SUCCEEDED", "UPDATE_COMPLETE", "Active"),
        ("Delete", "RUNNING", "DELETE_IN_PROGRESS", "Deleting"),
        ("Delete", "FAILED", "DELETE_FAILED", "Failed"),
    ],
)
def test_stack_states(action: str, run: str, stack: str, expected: str) -> None:
    resources = [DONE, ResourceView(stack, "v1.2.0")]
    assert (
        pipeline_status(last_action=action, run_state=run, resources=resources, template_version="v1.2.0")
        == expected
    )


def test_a_stack_still_on_the_old_template_after_an_upgrade_is_a_warning() -> None:
    resources = [ResourceView("UPDATE_COMPLETE", "v1.3.0"), ResourceView("CREATE_COMPLETE", "v1.2.0")]
    status = pipeline_status(last_action="Update", run_state="SUCCEEDED", resources=resources,
                             template_version="v1.3.0")  # fmt: skip
    assert status == "Warning"

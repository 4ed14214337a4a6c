"""CloudFormation, as the AWS provider uses it: change sets with client tokens, stack status, events.

Small functions over a client from the session factory (`portal.aws.aws_client`); they translate AWS's
answers (a missing stack is a `ValidationError`, an empty change set a `FAILED` one) into plain values, and
leave every decision to the provider.
"""

from __future__ import annotations

import re
from typing import Any

from botocore.exceptions import ClientError

CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]
MAX_TEMPLATE_BODY = 51_200  # bytes CloudFormation takes inline; a larger template goes by URL

# Reasons AWS gives for a change set or an update that would change nothing.
_NO_CHANGES = re.compile(r"didn't contain changes|No updates are to be performed|can ?not be updated", re.I)
# The role a resource needs exists but IAM has not propagated it yet: it passes by itself.
IAM_PROPAGATION = re.compile(r"is invalid or cannot be assumed|cannot be assumed by", re.I)
THROTTLING = frozenset(
    {"Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException"}
)
PERMISSION = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation",
                        "InsufficientCapabilitiesException", "InvalidClientTokenId"})  # fmt: skip
# A resource event that is only the consequence of another's failure.
_CONSEQUENCE = re.compile(r"Resource creation cancelled|Resource update cancelled|cancelled", re.I)


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def error_message(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Message", "")) or str(error)


def no_changes(text: str) -> bool:
    return bool(_NO_CHANGES.search(text or ""))


def stack_describe(cfn: Any, name: str) -> dict[str, Any] | None:
    """The stack (by name or id), or None when there is none (a deleted one, by id, is DELETE_COMPLETE)."""
    try:
        stacks = cfn.describe_stacks(StackName=name)["Stacks"]
    except ClientError as error:
        if error_code(error) == "ValidationError" and "does not exist" in error_message(error):
            return None
        raise
    return stacks[0] if stacks else None


def stack_outputs(stack: dict[str, Any]) -> dict[str, str]:
    return {o["OutputKey"]: o.get("OutputValue", "") for o in stack.get("Outputs") or []}


def output_matching(outputs: dict[str, Any], suffix: str) -> str:
    """§3.3: the first output whose key ends with `suffix` (templates prefix keys with branch names)."""
    return next((str(v) for k, v in outputs.items() if k.endswith(suffix)), "")


def change_set_create(cfn: Any, *, stack: str, change_set: str, token: str, change_type: str,
                      template: dict[str, Any], parameters: dict[str, str],
                      tags: list[tuple[str, str]]) -> None:  # fmt: skip
    """Ask for a change set; one of this name there already (the same step run again) is the same ask."""
    try:
        cfn.create_change_set(
            StackName=stack, ChangeSetName=change_set, ClientToken=token, ChangeSetType=change_type,
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in sorted(parameters.items())],
            Tags=[{"Key": k, "Value": v} for k, v in tags], Capabilities=CAPABILITIES,
            Description=f"clickstream {change_type.lower()} ({token})", **template,
        )  # fmt: skip
    except ClientError as error:
        if error_code(error) != "AlreadyExistsException":
            raise


def change_set_describe(cfn: Any, *, stack: str, change_set: str) -> dict[str, Any] | None:
    try:
        return dict(cfn.describe_change_set(StackName=stack, ChangeSetName=change_set))
    except ClientError as error:
        if error_code(error) in ("ChangeSetNotFound", "ChangeSetNotFoundException", "ValidationError"):
            return None
        raise


def change_set_empty(described: dict[str, Any]) -> bool:
    """AWS fails a change set that would change nothing, saying so; that is a finished no-op."""
    return described.get("Status") == "FAILED" and no_changes(str(described.get("StatusReason", "")))


def change_set_execute(cfn: Any, *, stack: str, change_set: str, token: str) -> None:
    cfn.execute_change_set(StackName=stack, ChangeSetName=change_set, ClientRequestToken=token)


def change_set_delete(cfn: Any, *, stack: str, change_set: str) -> None:
    try:
        cfn.delete_change_set(StackName=stack, ChangeSetName=change_set)
    except ClientError as error:
        if error_code(error) not in ("ChangeSetNotFound", "ValidationError", "InvalidChangeSetStatus"):
            raise


def termination_protection(cfn: Any, *, stack: str, enabled: bool) -> None:
    try:
        cfn.update_termination_protection(StackName=stack, EnableTerminationProtection=enabled)
    except ClientError as error:
        # A stack being deleted (or gone) cannot change it; nothing to protect then.
        if "Termination protection cannot be updated" not in error_message(error) and not (
            error_code(error) == "ValidationError" and "does not exist" in error_message(error)
        ):
            raise


def stack_delete(cfn: Any, *, stack: str, token: str) -> None:
    cfn.delete_stack(StackName=stack, ClientRequestToken=token)


def rollback_continue(cfn: Any, *, stack: str, skip: list[str], token: str) -> None:
    cfn.continue_update_rollback(StackName=stack, ResourcesToSkip=skip, ClientRequestToken=token)


def blocking_resources(cfn: Any, *, stack: str) -> list[dict[str, Any]]:
    """The resources an `UPDATE_ROLLBACK_FAILED` stack could not roll back (the ones to skip)."""
    resources = cfn.describe_stack_resources(StackName=stack)["StackResources"]
    return [r for r in resources if r.get("ResourceStatus") == "UPDATE_FAILED"]


def events_of(cfn: Any, *, stack: str, token: str, pages: int = 3) -> list[dict[str, Any]]:
    """The stack's events caused by the operation with this client request token, oldest first."""
    found: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"StackName": stack}
    for _ in range(pages):
        try:
            page = cfn.describe_stack_events(**kwargs)
        except ClientError as error:
            if error_code(error) == "ValidationError":
                break  # the stack is gone
            raise
        found += [e for e in page.get("StackEvents", []) if e.get("ClientRequestToken") == token]
        if not page.get("NextToken"):
            break
        kwargs["NextToken"] = page["NextToken"]
    return sorted(found, key=lambda e: str(e.get("Timestamp", "")))


def first_failure(events: list[dict[str, Any]]) -> str:
    """The reason of the first resource that failed (not those cancelled because of it)."""
    for event in events:
        reason = str(event.get("ResourceStatusReason") or "")
        if (
            str(event.get("ResourceStatus", "")).endswith("FAILED")
            and reason
            and not _CONSEQUENCE.search(reason)
        ):
            return f"{event.get('LogicalResourceId')} ({event.get('ResourceType')}): {reason}"
    return ""

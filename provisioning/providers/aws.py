"""The AWS provider: a pipeline as CloudFormation stacks in the organization's account (spec/control-plane.md
§3.4–§3.10), driven by the reconciler like the local provider's steps.

Each stack is one resource. Its inputs are the rendered template's hash, its tags and its parameters, with
the `#.<stack>.<Output>` placeholders replaced by the outputs the earlier stack recorded (§3.3, matched by
suffix), so a dependent is applied only once its dependency is done, and an app added (a new `AppIds`) or a
new template version changes exactly the stacks that take it.

A change is a small state machine kept on the resource (`PipelineResource.operation`), advanced by `apply`
and by each `read` of it while it is in progress — CDK's and Terraform's practice, and the fixes the
original's users asked for (spec/peers.md §A):

- every change goes through a change set named by its client token (the inputs' hash and the attempt), so
  a step run again after a crash asks for the same change set and never makes a second stack; an empty
  change set ("didn't contain changes", "No updates are to be performed") is a finished no-op;
- a stack `*_IN_PROGRESS` is waited for, never acted on; one left `ROLLBACK_COMPLETE` by a failed create
  is deleted and created again; `UPDATE_ROLLBACK_FAILED` waits for the person's "continue the rollback";
- a role IAM has not propagated yet ("is invalid or cannot be assumed") is tried again after a while;
  throttling raises `TransientJobError` (the job retries with backoff); a refusal (permission, validation)
  fails the stack with what to fix, and Retry starts from there;
- before DataProcessing is updated, its EMR Serverless job runs are waited for and the application is
  stopped, then started again after (the original's failed upgrades); before it is deleted, its job runs
  are cancelled and the application stopped (CloudFormation cannot delete a started application);
- termination protection is turned on at create and off only by delete;
- a stack applied with an older release's template keeps it through an Update (`UsePreviousTemplate`, the
  new values of the parameters it declares); only the Upgrade action (`Action.UPGRADE`) renders this
  release's templates for it (spec/control-plane.md §3.8).
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from botocore.exceptions import ClientError
from django.db import transaction
from django.utils import timezone

import provisioning.aws as templates
from pipelines.models import Pipeline
from pipelines.selectors import project_facts
from pipelines.spec import get
from portal.jobs import TransientJobError
from provisioning.aws import cloudformation as cfn_api
from provisioning.aws import emr_serverless
from provisioning.aws.render import RenderedStack, render_stacks
from provisioning.choices import Action, DriftState
from provisioning.models import Deployment, PipelineResource
from provisioning.providers.base import MISSING, Desired, Outcome

TEMPLATE_KEY = "(template)"
TAGS_KEY = "(tags)"
POLL_SECONDS = 2.0  # a change set is ready in seconds: wait for it within the step, this long at a time
POLLS = 3
SETTLE_SECONDS = 15  # how long before looking again at a stack someone else is changing
IAM_WAIT_SECONDS = 30  # doubled on each try
IAM_TRIES = 4
EMR_WAIT_SECONDS = 60
PHASE_STEPS = 10  # phases one call may pass through (all of them, against an emulator that answers at once)

ROLLBACK_FAILED_HELP = (
    "The update failed and CloudFormation could not roll it back either (UPDATE_ROLLBACK_FAILED): the "
    "stack accepts no change until the rollback finishes. Use “Continue the rollback” on the pipeline page: "
    "it skips the resources that block the rollback ({blocking}), which keep their new state, and returns "
    "the stack to UPDATE_ROLLBACK_COMPLETE; then Retry applies the update again."
)
RECREATE_STATES = ("ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "CREATE_FAILED")


@dataclass
class Clients:
    session: Any
    cfn: Any
    emr: Any
    role_arn: str


class AccountMissing(Exception):
    pass


def template_hash(template: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()


def console_url(*, region: str, stack_id: str) -> str:
    from urllib.parse import quote

    return (
        f"https://{region}.console.aws.amazon.com/cloudformation/home?region={region}"
        f"#/stacks/stackinfo?stackId={quote(stack_id, safe='')}"
    )


class AwsProvider:
    def __init__(self) -> None:
        self._rendered: dict[str, RenderedStack] | None = None
        self._clients: Clients | None = None

    # --- plan ------------------------------------------------------------------------------------------
    def plan(self, pipeline: Pipeline) -> list[Desired]:
        rendered = self._render(pipeline)
        records = {r.name: r for r in PipelineResource.objects.unscoped().filter(pipeline=pipeline)}
        upgrading = Deployment.objects.unscoped().filter(pipeline=pipeline, action=Action.UPGRADE).exists()
        desired = []
        for name, stack in rendered.items():
            parameters, sources = resolve_placeholders(stack.parameters, records)
            inputs = {**parameters, TEMPLATE_KEY: template_hash(stack.template),
                      TAGS_KEY: json.dumps(list(stack.tags))}  # fmt: skip
            version = dict(stack.tags).get("aws-solution/version", "")
            record = records.get(name)
            if not upgrading and record is not None and keeps_template(record, version):
                inputs, version = previous_template(record, inputs), record.template_version
            depends_on = tuple(dict.fromkeys([*stack.depends_on, *sources]))
            desired.append(Desired(name, stack.kind, depends_on, inputs, version))
        return desired

    def _render(self, pipeline: Pipeline) -> dict[str, RenderedStack]:
        if self._rendered is None:
            facts = project_facts(project=pipeline.project, pipeline=pipeline)
            version = templates.TEMPLATE_VERSION
            rendered = render_stacks(
                spec=pipeline.spec, project_id=facts.project_id, pipeline_id=facts.pipeline_id,
                apps=facts.app_timezones, emails=facts.emails, dev_mode=facts.dev_mode, template_version=version,
            )  # fmt: skip
            # The version in the template itself, as CDK does: an upgrade is a template change to CloudFormation.
            self._rendered = {
                name: replace(stack, template={**stack.template, "Metadata": {
                    **stack.template.get("Metadata", {}), "Clickstream": {"TemplateVersion": version}}})
                for name, stack in rendered.items()
            }  # fmt: skip
        return self._rendered

    # --- the interface ---------------------------------------------------------------------------------
    def apply(self, pipeline: Pipeline, desired: Desired, *, record: PipelineResource) -> Outcome:
        record.operation = {"attempt": int((record.operation or {}).get("attempt", 0)) + 1, "phase": "start"}
        # What drift detection found was about the stack before this change: the refresh looks at it afresh.
        record.drift, record.drift_reason, record.drift_checked = DriftState.NOT_CHECKED, "", None
        return self._run(pipeline, record)

    def read(self, pipeline: Pipeline, record: PipelineResource, *, deleting: bool) -> Outcome:
        if (record.operation or {}).get("phase"):
            return self._run(pipeline, record)
        aws = self._aws(pipeline)
        stack = cfn_api.stack_describe(aws.cfn, record.outputs.get("StackId") or record.name)
        if stack is None or stack["StackStatus"] == "DELETE_COMPLETE":
            return MISSING
        return self._stack_outcome(pipeline, aws, record, stack) or Outcome(
            "IN_PROGRESS", f"The stack is {stack['StackStatus']}.", state=stack["StackStatus"]
        )

    def delete(self, pipeline: Pipeline, record: PipelineResource, *, delete_data: bool) -> Outcome:
        record.operation = {"attempt": int((record.operation or {}).get("attempt", 0)) + 1, "phase": "delete"}
        return self._run(pipeline, record)

    def rollback_continue(self, pipeline: Pipeline, record: PipelineResource) -> list[str]:
        """Continue an `UPDATE_ROLLBACK_FAILED` stack's rollback, skipping the resources that block it;
        returns their logical ids. The next reads follow the rollback."""
        aws = self._aws(pipeline)
        stack = record.outputs.get("StackId") or record.name
        skip = [r["LogicalResourceId"] for r in cfn_api.blocking_resources(aws.cfn, stack=stack)]
        attempt = int((record.operation or {}).get("attempt", 0)) + 1
        token = client_token(record.name, record.inputs_hash, "rollback", attempt)
        cfn_api.rollback_continue(aws.cfn, stack=stack, skip=skip, token=token)
        record.operation = {
            **(record.operation or {}),
            "attempt": attempt,
            "phase": "rollback",
            "token": token,
        }
        return skip

    # --- the state machine -----------------------------------------------------------------------------
    def _run(self, pipeline: Pipeline, record: PipelineResource) -> Outcome:
        try:
            aws = self._aws(pipeline)
        except AccountMissing as exc:
            return Outcome.failed(str(exc))
        op = record.operation
        try:
            for _ in range(PHASE_STEPS):
                outcome = getattr(self, f"_phase_{op['phase']}")(pipeline, aws, record, op)
                if outcome is not None:
                    if outcome.status != "IN_PROGRESS":
                        op["phase"] = ""
                    return outcome
        except ClientError as error:
            return self._client_error(pipeline, aws, record, op, error)
        return Outcome("IN_PROGRESS", "Still working on it.")

    def _wait(self, op: dict[str, Any], *, then: str, seconds: float, why: str) -> Outcome:
        op.update(phase="wait", then=then, why=why,
                  not_before=(timezone.now() + timedelta(seconds=seconds)).isoformat())  # fmt: skip
        return Outcome("IN_PROGRESS", why)

    def _phase_wait(self, pipeline: Pipeline, aws: Clients, record: PipelineResource, op: dict[str, Any]
                    ) -> Outcome | None:  # fmt: skip
        if timezone.now().isoformat() < str(op.get("not_before", "")):
            return Outcome("IN_PROGRESS", str(op.get("why", "")))
        op["phase"] = op.pop("then", "start")
        return None

    def _phase_start(self, pipeline: Pipeline, aws: Clients, record: PipelineResource, op: dict[str, Any]
                     ) -> Outcome | None:  # fmt: skip
        stack = cfn_api.stack_describe(aws.cfn, record.name)
        status = stack["StackStatus"] if stack else ""
        if status.endswith("_IN_PROGRESS") and status != "REVIEW_IN_PROGRESS":
            return self._wait(op, then="start", seconds=SETTLE_SECONDS,
                              why=f"The stack is {status}: waiting for it to settle before changing it.")  # fmt: skip
        if stack and status in RECREATE_STATES:
            op["stack_id"] = stack["StackId"]
            cfn_api.termination_protection(aws.cfn, stack=stack["StackId"], enabled=False)
            cfn_api.stack_delete(aws.cfn, stack=stack["StackId"], token=self._token(record, op, "recreate"))
            record.add_event(f"deleting the stack left {status} by a failed create, to create it again")
            op["phase"] = "recreate"
            return None
        if status == "UPDATE_ROLLBACK_FAILED":
            return self._rollback_failed(aws, record)
        if status == "DELETE_FAILED":
            return Outcome.failed(
                "The stack is DELETE_FAILED: an earlier delete left it half removed. Delete the pipeline to "
                "finish removing it, or delete the stack in the AWS console, then press Retry.",
            )
        op["type"] = "UPDATE" if stack and status != "REVIEW_IN_PROGRESS" else "CREATE"
        if stack:
            op["stack_id"] = stack["StackId"]
        op["phase"] = "drain" if record.kind == "DataProcessing" and op["type"] == "UPDATE" else "prepare"
        return None

    def _phase_recreate(self, pipeline: Pipeline, aws: Clients, record: PipelineResource, op: dict[str, Any]
                        ) -> Outcome | None:  # fmt: skip
        stack = cfn_api.stack_describe(aws.cfn, op["stack_id"])
        status = stack["StackStatus"] if stack else "DELETE_COMPLETE"
        if status == "DELETE_COMPLETE":
            op.pop("stack_id", None)
            op["phase"] = "start"
            return None
        if status == "DELETE_FAILED":
            return Outcome.failed(self._failure(aws, stack, op, "recreate") or "The failed stack could not be "
                                  "deleted to create it again; delete it in the AWS console, then press Retry.")  # fmt: skip
        return Outcome("IN_PROGRESS", "Deleting the stack that failed to create, to create it again.")

    def _phase_drain(self, pipeline: Pipeline, aws: Clients, record: PipelineResource, op: dict[str, Any]
                     ) -> Outcome | None:  # fmt: skip
        """Before an update the job runs are waited for (they are the pipeline's data); before a delete they
        are cancelled (the pipeline is going). Either way the application is stopped: CloudFormation can
        neither update nor delete a started one. Only an update's application is started again after."""
        deleting = op.get("after_drain") == "delete"
        then, what = ("delete", "delete") if deleting else ("prepare", "update")
        app = cfn_api.output_matching(record.outputs, "EMRServerlessApplicationId")
        if not app:
            op.update(phase=then, drained=True)
            return None
        runs = emr_serverless.active_runs(aws.emr, application_id=app)
        if runs and deleting:
            cancelled = emr_serverless.job_runs_cancel(aws.emr, application_id=app)
            if cancelled:
                record.add_event(
                    f"cancelling EMR Serverless job run(s) {', '.join(cancelled[:3])} before the delete"
                )
            return self._wait(op, then="drain", seconds=POLL_SECONDS, why=(
                f"Cancelling {len(runs)} EMR Serverless job run(s) ({', '.join(runs[:3])}): the application "
                "can be deleted only when stopped."))  # fmt: skip
        if runs:
            return self._wait(op, then="drain", seconds=EMR_WAIT_SECONDS, why=(
                f"Waiting for {len(runs)} EMR Serverless job run(s) ({', '.join(runs[:3])}) to finish: the "
                "application can be updated only when stopped, and stopping it now would fail them."))  # fmt: skip
        state = emr_serverless.application_state(aws.emr, application_id=app)
        if state in ("STARTED", "STARTING", "STOPPING"):
            if state != "STOPPING":
                emr_serverless.application_stop(aws.emr, application_id=app)
                if not deleting:
                    op["restart"] = app
                record.add_event(f"stopping EMR Serverless application {app} before the {what}")
            return self._wait(op, then="drain", seconds=POLL_SECONDS,
                              why=f"Stopping EMR Serverless application {app} before the {what}.")  # fmt: skip
        op.update(phase=then, drained=True)
        return None

    def _phase_prepare(self, pipeline: Pipeline, aws: Clients, record: PipelineResource, op: dict[str, Any]
                       ) -> Outcome | None:  # fmt: skip
        rendered = self._render(pipeline).get(record.name)
        if rendered is None:
            return Outcome.failed("The stack is no longer in the pipeline's plan.")
        parameters = {k: v for k, v in record.inputs.items() if k not in (TEMPLATE_KEY, TAGS_KEY)}
        unresolved = [k for k, v in parameters.items() if str(v).startswith("#.")]
        if unresolved:
            return Outcome.failed(f"Parameters {', '.join(unresolved)} wait for another stack's outputs.")
        self._upload_assets(pipeline, aws, rendered)
        op["token"] = self._token(record, op, op["type"].lower())
        op["phase"] = "change_set"
        if cfn_api.change_set_describe(aws.cfn, stack=record.name, change_set=op["token"]) is not None:
            return None  # asked for already (this step ran before and crashed before its record)
        kept = op["type"] == "UPDATE" and record.inputs.get(TEMPLATE_KEY) != template_hash(rendered.template)
        template = (
            {"UsePreviousTemplate": True}
            if kept
            else self._template_argument(pipeline, aws, rendered.template)
        )
        cfn_api.change_set_create(
            aws.cfn, stack=record.name, change_set=op["token"], token=op["token"], change_type=op["type"],
            template=template, parameters=parameters,
            tags=[tuple(t) for t in json.loads(record.inputs.get(TAGS_KEY, "[]"))],
        )  # fmt: skip
        return None

    def _phase_change_set(self, pipeline: Pipeline, aws: Clients, record: PipelineResource, op: dict[str, Any]
                          ) -> Outcome | None:  # fmt: skip
        described = cfn_api.change_set_describe(aws.cfn, stack=record.name, change_set=op["token"])
        for _ in range(POLLS):
            if described is None or described.get("Status") not in ("CREATE_PENDING", "CREATE_IN_PROGRESS"):
                break
            time.sleep(POLL_SECONDS)
            described = cfn_api.change_set_describe(aws.cfn, stack=record.name, change_set=op["token"])
        if described is None:
            op["phase"] = "prepare"  # it went away (executed and cleaned up, or deleted): ask again
            return None
        op["stack_id"] = described.get("StackId", op.get("stack_id", ""))
        if str(described.get("ExecutionStatus", "")).startswith("EXECUTE_"):
            op["phase"] = "execute"  # executed already (this step ran before and crashed)
            return None
        if cfn_api.change_set_empty(described):
            cfn_api.change_set_delete(aws.cfn, stack=record.name, change_set=op["token"])
            record.add_event("no change to make: the stack is as wanted")
            return self._done(pipeline, aws, record, op)
        if described.get("Status") == "FAILED":
            reason = str(described.get("StatusReason", ""))
            if cfn_api.IAM_PROPAGATION.search(reason):
                return self._iam_retry(op, reason)
            return self._restarted(aws, op, Outcome.failed(
                f"CloudFormation could not prepare the {op['type'].lower()} of {record.name}: {reason} Correct "
                "the pipeline's settings or the account's permissions, then press Retry."))  # fmt: skip
        if described.get("Status") != "CREATE_COMPLETE":
            return Outcome("IN_PROGRESS", "Preparing the change set.")
        cfn_api.change_set_execute(aws.cfn, stack=record.name, change_set=op["token"], token=op["token"])
        record.add_event(f"change set {op['token']} executed")
        op["phase"] = "execute"
        return None

    def _phase_execute(self, pipeline: Pipeline, aws: Clients, record: PipelineResource, op: dict[str, Any]
                       ) -> Outcome | None:  # fmt: skip
        stack = cfn_api.stack_describe(aws.cfn, op.get("stack_id") or record.name)
        self._events(aws, record, op)
        status = stack["StackStatus"] if stack else "DELETE_COMPLETE"
        if status.endswith("_IN_PROGRESS"):
            return Outcome("IN_PROGRESS", f"{op['type'].title()} running: the stack is {status}.")
        if status in ("CREATE_COMPLETE", "UPDATE_COMPLETE", "IMPORT_COMPLETE"):
            return self._done(pipeline, aws, record, op)
        reason = self._failure(aws, stack, op, op["type"].lower()) if stack else "The stack disappeared."
        if cfn_api.IAM_PROPAGATION.search(reason):
            return self._iam_retry(op, reason)
        failed = Outcome("FAILED", f"{reason} Fix the cause (the pipeline's settings, the account's quotas or "
                         "permissions), then press Retry.", state=status)  # fmt: skip
        if status == "UPDATE_ROLLBACK_FAILED":
            failed = self._rollback_failed(aws, record)
        return self._restarted(aws, op, failed)

    def _phase_rollback(self, pipeline: Pipeline, aws: Clients, record: PipelineResource, op: dict[str, Any]
                        ) -> Outcome | None:  # fmt: skip
        stack = cfn_api.stack_describe(aws.cfn, record.outputs.get("StackId") or record.name)
        status = stack["StackStatus"] if stack else ""
        if status.endswith("_IN_PROGRESS"):
            return Outcome("IN_PROGRESS", f"Continuing the rollback: the stack is {status}.")
        if status == "UPDATE_ROLLBACK_FAILED":
            return self._rollback_failed(aws, record)
        return self._restarted(aws, op, Outcome("FAILED", (
            "The rollback finished: the stack is as it was before the update (UPDATE_ROLLBACK_COMPLETE). "
            "Press Retry to apply the update again."), state=status or "UPDATE_ROLLBACK_COMPLETE"))  # fmt: skip

    def _phase_delete(self, pipeline: Pipeline, aws: Clients, record: PipelineResource, op: dict[str, Any]
                      ) -> Outcome | None:  # fmt: skip
        stack = cfn_api.stack_describe(
            aws.cfn, op.get("stack_id") or record.outputs.get("StackId") or record.name
        )
        status = stack["StackStatus"] if stack else "DELETE_COMPLETE"
        if status == "DELETE_COMPLETE":
            return Outcome.complete()
        if status.endswith("_IN_PROGRESS") and status != "DELETE_IN_PROGRESS":
            return self._wait(op, then="delete", seconds=SETTLE_SECONDS,
                              why=f"The stack is {status}: waiting for it to settle before deleting it.")  # fmt: skip
        op["stack_id"] = stack["StackId"]  # type: ignore[index]
        if status != "DELETE_IN_PROGRESS" and record.kind == "DataProcessing" and not op.get("drained"):
            op.update(phase="drain", after_drain="delete")
            return None
        if status != "DELETE_IN_PROGRESS":
            cfn_api.termination_protection(aws.cfn, stack=op["stack_id"], enabled=False)
            op["token"] = self._token(record, op, "delete")
            cfn_api.stack_delete(aws.cfn, stack=op["stack_id"], token=op["token"])
        op["phase"] = "deleting"
        return None

    def _phase_deleting(self, pipeline: Pipeline, aws: Clients, record: PipelineResource, op: dict[str, Any]
                        ) -> Outcome | None:  # fmt: skip
        stack = cfn_api.stack_describe(aws.cfn, op["stack_id"])
        self._events(aws, record, op)
        status = stack["StackStatus"] if stack else "DELETE_COMPLETE"
        if status == "DELETE_COMPLETE":
            return Outcome.complete()
        if status == "DELETE_FAILED":
            reason = self._failure(aws, stack, op, "delete")
            return Outcome("FAILED", f"{reason} Remove what keeps it (a non-empty bucket, a resource in use), "
                           "then press Retry: the delete is tried again.", state=status)  # fmt: skip
        return Outcome("IN_PROGRESS", f"Deleting: the stack is {status}.")

    # --- pieces ----------------------------------------------------------------------------------------
    def _done(
        self, pipeline: Pipeline, aws: Clients, record: PipelineResource, op: dict[str, Any]
    ) -> Outcome:
        stack = cfn_api.stack_describe(aws.cfn, op.get("stack_id") or record.name)
        outcome = self._stack_outcome(pipeline, aws, record, stack) if stack else None
        if record.kind == "Metrics":
            # The topic is there (or was re-made): the sync subscribes the project's addresses, which the
            # template leaves to it. A job, once this step commits; safe to run twice.
            from provisioning.receivers import notifications_enqueue

            project_pk = pipeline.project_id
            transaction.on_commit(lambda: notifications_enqueue(project_pk=project_pk))
        return self._restarted(aws, op, outcome or Outcome.complete())

    def _stack_outcome(self, pipeline: Pipeline, aws: Clients, record: PipelineResource,
                       stack: dict[str, Any]) -> Outcome | None:  # fmt: skip
        """A settled stack's outcome (COMPLETE with its outputs, FAILED with why), None while it moves."""
        status = stack["StackStatus"]
        if status.endswith("_IN_PROGRESS"):
            return None
        if status in ("CREATE_COMPLETE", "UPDATE_COMPLETE", "IMPORT_COMPLETE"):
            if not stack.get("EnableTerminationProtection"):
                # On whenever a stack is done (not only after its create: a crash may have come between).
                cfn_api.termination_protection(aws.cfn, stack=stack["StackId"], enabled=True)
            outputs = {**cfn_api.stack_outputs(stack), "StackId": stack["StackId"]}
            outputs["console"] = console_url(region=aws.session.region_name, stack_id=stack["StackId"])
            endpoint = cfn_api.output_matching(outputs, "IngestionServerURL")
            if record.kind == "Ingestion" and endpoint:
                outputs["endpoint"] = endpoint
                # Known now: the app pages and snippets show it without waiting for the other stacks.
                Pipeline.objects.unscoped().filter(pk=pipeline.pk).update(ingestion_endpoint=endpoint)
            return Outcome("COMPLETE", outputs=outputs, state=status)
        if status == "UPDATE_ROLLBACK_FAILED":
            return self._rollback_failed(aws, record)
        reason = str(stack.get("StackStatusReason") or f"The stack is {status}.")
        return Outcome("FAILED", f"{reason} Press Retry once the cause is fixed.", state=status)

    def _rollback_failed(self, aws: Clients, record: PipelineResource) -> Outcome:
        stack = record.outputs.get("StackId") or record.name
        blocking = [f"{r['LogicalResourceId']}: {r.get('ResourceStatusReason', '')}"
                    for r in cfn_api.blocking_resources(aws.cfn, stack=stack)]  # fmt: skip
        return Outcome("FAILED", ROLLBACK_FAILED_HELP.format(blocking="; ".join(blocking) or "none reported"),
                       state="UPDATE_ROLLBACK_FAILED")  # fmt: skip

    def _restarted(self, aws: Clients, op: dict[str, Any], outcome: Outcome) -> Outcome:
        """Start again the EMR Serverless application stopped for the update, whatever the update did."""
        app = op.pop("restart", "")
        if app:
            emr_serverless.application_start(aws.emr, application_id=app)
        return outcome

    def _iam_retry(self, op: dict[str, Any], reason: str) -> Outcome:
        tries = int(op.get("iam_tries", 0))
        if tries >= IAM_TRIES:
            return Outcome.failed(f"{reason} (still after {tries} tries: check the role exists and trusts "
                                  "the service, then press Retry).")  # fmt: skip
        op["iam_tries"] = tries + 1
        op["attempt"] = int(op["attempt"]) + 1  # a new change set, with a new token
        return self._wait(op, then="start", seconds=IAM_WAIT_SECONDS * 2**tries, why=(
            f"A role is not usable yet (IAM propagates new roles in seconds to minutes): {reason} "
            f"Trying again (try {tries + 2} of {IAM_TRIES + 1})."))  # fmt: skip

    def _client_error(self, pipeline: Pipeline, aws: Clients, record: PipelineResource, op: dict[str, Any],
                      error: ClientError) -> Outcome:  # fmt: skip
        code, message = cfn_api.error_code(error), cfn_api.error_message(error)
        action = getattr(error, "operation_name", "the call")
        if cfn_api.no_changes(message):
            record.add_event("no change to make: the stack is as wanted")
            op["phase"] = ""
            return self._done(pipeline, aws, record, op)
        if code in cfn_api.THROTTLING:
            raise TransientJobError(f"AWS throttled {action} for {record.name}: {message}") from error
        if cfn_api.IAM_PROPAGATION.search(message):
            return self._iam_retry(op, message)
        op["phase"] = ""
        if code in cfn_api.PERMISSION:
            return Outcome.failed(
                f"AWS refused {action} for {record.name}: {message} The role {aws.role_arn} needs this "
                "permission: update the role's stack in your account (the AWS account page has its "
                "template), then press Retry."
            )
        return Outcome.failed(f"AWS refused {action} for {record.name} ({code}): {message} Correct the "
                              "pipeline's settings, then press Retry.")  # fmt: skip

    def _token(self, record: PipelineResource, op: dict[str, Any], what: str) -> str:
        return client_token(record.name, record.inputs_hash, what, int(op["attempt"]))

    def _events(self, aws: Clients, record: PipelineResource, op: dict[str, Any]) -> None:
        """The events of this operation (by its client request token) not yet recorded."""
        if not op.get("token"):
            return
        seen = list(op.get("seen", []))
        stack = op.get("stack_id") or record.name
        for event in cfn_api.events_of(aws.cfn, stack=stack, token=op["token"]):
            if event.get("EventId") in seen:
                continue
            seen.append(event.get("EventId"))
            text = f"{event.get('LogicalResourceId')} {event.get('ResourceStatus')}"
            if event.get("ResourceStatusReason"):
                text += f": {event['ResourceStatusReason']}"
            record.add_event(text, resource=str(event.get("LogicalResourceId", "")),
                             status=str(event.get("ResourceStatus", "")))  # fmt: skip
        op["seen"] = seen[-100:]

    def _failure(self, aws: Clients, stack: dict[str, Any] | None, op: dict[str, Any], what: str) -> str:
        events = cfn_api.events_of(aws.cfn, stack=(stack or {}).get("StackId", ""), token=op.get("token", ""))
        first = cfn_api.first_failure(events)
        status = (stack or {}).get("StackStatus", "")
        base = f"The {what} failed ({status})"
        if first:
            return f"{base}: {first}."
        return f"{base}: {(stack or {}).get('StackStatusReason') or 'CloudFormation gave no reason'}."

    def _upload_assets(self, pipeline: Pipeline, aws: Clients, rendered: RenderedStack) -> None:
        """The functions' zips (by content hash; present ones are skipped), and the ETL job's code for
        DataProcessing, before the stack that runs them."""
        from provisioning.aws import assets

        text = json.dumps(rendered.template)
        bucket, prefix = str(get(pipeline.spec, "bucket.name")), self._asset_prefix(pipeline)
        if '"S3Key"' in text:
            assets.upload_assets(aws.session, bucket=bucket, prefix=prefix)
        if rendered.kind == "DataProcessing":
            assets.upload_job_code(aws.session, bucket=bucket, runtime_prefix=prefix)

    def _asset_prefix(self, pipeline: Pipeline) -> str:
        return (
            f"{get(pipeline.spec, 'bucket.prefix') or ''}clickstream/{pipeline.project.project_id}/runtime/"
        )

    def _template_argument(
        self, pipeline: Pipeline, aws: Clients, template: dict[str, Any]
    ) -> dict[str, str]:
        """Inline when CloudFormation takes it so; else uploaded beside the assets (by its hash) and by URL."""
        body = json.dumps(template, sort_keys=True)
        if len(body.encode()) <= cfn_api.MAX_TEMPLATE_BODY:
            return {"TemplateBody": body}
        bucket = str(get(pipeline.spec, "bucket.name"))
        key = f"{self._asset_prefix(pipeline)}templates/{template_hash(template)}.json"
        aws.session.client("s3").put_object(Bucket=bucket, Key=key, Body=body.encode())
        region = aws.session.region_name
        return {"TemplateURL": f"https://{bucket}.s3.{region}.amazonaws.com/{key}"}

    def _aws(self, pipeline: Pipeline) -> Clients:
        if self._clients is None:
            from portal.aws import aws_client, aws_session
            from portal.models.aws import AwsAccount

            account = (
                AwsAccount.objects.unscoped()
                .filter(organization_id=pipeline.organization_id, uuid=get(pipeline.spec, "aws.account"))
                .select_related("organization")
                .first()
            )
            if account is None:
                raise AccountMissing(
                    "The pipeline's AWS account connection is gone: connect the account again (AWS accounts "
                    "page), then press Retry."
                )
            session = aws_session(account=account, region=str(get(pipeline.spec, "aws.region")))
            self._clients = Clients(session, aws_client(session, "cloudformation"),
                                    aws_client(session, "emr-serverless"), account.role_arn)  # fmt: skip
        return self._clients


def client_token(stack: str, inputs_hash: str, what: str, attempt: int) -> str:
    """The same for a step run again (so CloudFormation sees one request), new for each attempt, and unique
    to the stack (change set names and tokens of two stacks never meet)."""
    key = hashlib.sha256(f"{stack}:{inputs_hash}".encode()).hexdigest()[:16]
    return f"clickstream-{what}-{key}-{attempt}"


def keeps_template(record: PipelineResource, version: str) -> bool:
    """A stack applied with an older release's template keeps it through an Update (only an Upgrade
    changes it: §3.8): this code renders only its own release's templates."""
    return bool(record.applied_hash and record.template_version and record.template_version != version
                and TEMPLATE_KEY in record.inputs)  # fmt: skip


def previous_template(record: PipelineResource, inputs: dict[str, str]) -> dict[str, str]:
    """The inputs of an Update on the deployed template (`UsePreviousTemplate`): its template and tags as
    recorded, and the new parameter values of the parameters it declares (those it was last given)."""
    kept = {k: v for k, v in inputs.items() if k in record.inputs}
    return {**kept, TEMPLATE_KEY: record.inputs[TEMPLATE_KEY], TAGS_KEY: record.inputs.get(TAGS_KEY, "[]")}


def resolve_placeholders(
    parameters: dict[str, str], records: dict[str, PipelineResource]
) -> tuple[dict[str, str], list[str]]:
    """`#.<stack>.<Suffix>` → the first output of that stack whose key ends with the suffix (§3.3; '' when
    it has none). A placeholder of a stack not done yet stays, and the stack waits for it (its dependency)."""
    from provisioning.choices import is_done

    out, sources = {}, []
    for key, value in parameters.items():
        if not value.startswith("#."):
            out[key] = value
            continue
        stack, _, suffix = value[2:].rpartition(".")
        sources.append(stack)
        record = records.get(stack)
        # Outputs of a stack done once stay (an update in flight does not blank its dependents' inputs).
        done = record is not None and (is_done(record.state) or bool(record.applied_hash))
        out[key] = cfn_api.output_matching(record.outputs, suffix) if done else value  # type: ignore[union-attr]
    return out, sources

"""The states moto never reaches, driven with botocore's Stubber and response sequences shaped like AWS's:
a failed create (`CREATE_FAILED` resource, `ROLLBACK_COMPLETE` stack) and its Retry, `UPDATE_ROLLBACK_FAILED`
and the continue-rollback action, throttling, IAM propagation, a refused permission, and the EMR Serverless
application stopped before a DataProcessing update. They run on the DataProcessing stack, whose template
moto's CloudFormation refuses (`Fn::GetAtt` of `AWS::EMRServerless::Application`); S3 (the assets) is moto.

The stubs check the calls' order and the arguments that matter (tokens, skipped resources); every response
is the shape AWS documents for the call.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from pipelines import services as pipeline_services
from portal.jobs import TransientJobError
from provisioning.models import PipelineResource
from provisioning.providers.aws import AwsProvider, Clients, client_token
from provisioning.reconciler import reconcile_step
from provisioning.selectors import pipeline_state
from provisioning.services import deployment_request
from tests.provisioning.aws.conftest import REGION, ROLE_ARN, moto_spec

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)
PROCESSING = {"schedule": "rate(1 hour)", "data_freshness_hours": 72, "output_format": "parquet",
              "transformer": "clickstream", "enrichers": ["traffic", "ua", "geo"]}  # fmt: skip


class Aws:
    """Stubbed CloudFormation and EMR Serverless clients, and the responses they give, in order."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.stack_id = f"arn:aws:cloudformation:{REGION}:123456789012:stack/{name}/0a1b2c3d"
        self.cfn = boto3.client("cloudformation", region_name=REGION)
        self.emr = boto3.client("emr-serverless", region_name=REGION)
        self.cfn_stub, self.emr_stub = Stubber(self.cfn), Stubber(self.emr)
        self.cfn_stub.activate()
        self.emr_stub.activate()

    def clients(self) -> Clients:
        return Clients(boto3.Session(region_name=REGION), self.cfn, self.emr, ROLE_ARN)

    def stack(self, status: str, *, reason: str = "", outputs: dict[str, str] | None = None,
              protected: bool = True) -> None:  # fmt: skip
        body: dict[str, Any] = {"StackName": self.name, "StackId": self.stack_id, "StackStatus": status,
                                "CreationTime": NOW, "EnableTerminationProtection": protected}  # fmt: skip
        if reason:
            body["StackStatusReason"] = reason
        if outputs:
            body["Outputs"] = [{"OutputKey": k, "OutputValue": v} for k, v in outputs.items()]
        self.cfn_stub.add_response("describe_stacks", {"Stacks": [body]}, {"StackName": ANY})

    def no_stack(self) -> None:
        self.cfn_stub.add_client_error("describe_stacks", "ValidationError",
                                       f"Stack with id {self.name} does not exist", 400)  # fmt: skip

    def change_set(self, token: str, *, status: str = "CREATE_COMPLETE", reason: str = "") -> None:
        self.cfn_stub.add_client_error("describe_change_set", "ChangeSetNotFound",
                                       f"ChangeSet [{token}] does not exist", 404)  # fmt: skip
        self.cfn_stub.add_response("create_change_set", {"Id": f"cs-{token}", "StackId": self.stack_id},
                                   {"StackName": self.name, "ChangeSetName": token, "ClientToken": token,
                                    "ChangeSetType": ANY, "Parameters": ANY, "Tags": ANY, "Capabilities": ANY,
                                    "Description": ANY, "TemplateBody": ANY})  # fmt: skip
        described: dict[str, Any] = {"ChangeSetName": token, "StackId": self.stack_id, "StackName": self.name,
                     "Status": status, "ExecutionStatus": "AVAILABLE" if status == "CREATE_COMPLETE" else
                     "UNAVAILABLE", "Changes": []}  # fmt: skip
        if reason:
            described["StatusReason"] = reason
        self.cfn_stub.add_response(
            "describe_change_set", described, {"StackName": self.name, "ChangeSetName": token}
        )
        if status == "CREATE_COMPLETE":
            self.cfn_stub.add_response("execute_change_set", {}, {"StackName": self.name, "ChangeSetName": token,
                                                                   "ClientRequestToken": token})  # fmt: skip

    def events(self, token: str, *items: tuple[str, str, str, str]) -> None:
        """(logical id, type, status, reason) of this operation's events, newest first as AWS gives them,
        and one of another operation, which must not be recorded."""
        events = [{"StackId": self.stack_id, "EventId": f"e{i}", "StackName": self.name, "LogicalResourceId": lid,
                   "ResourceType": rtype, "Timestamp": NOW.replace(minute=50 - i), "ResourceStatus": status,
                   "ResourceStatusReason": reason, "ClientRequestToken": token}
                  for i, (lid, rtype, status, reason) in enumerate(items)]  # fmt: skip
        events.append({"StackId": self.stack_id, "EventId": "old", "StackName": self.name, "LogicalResourceId": "Old",
                       "ResourceType": "AWS::S3::Bucket", "Timestamp": NOW.replace(hour=0), "ResourceStatus":
                       "CREATE_FAILED", "ResourceStatusReason": "an older operation's", "ClientRequestToken": "other"})  # fmt: skip
        self.cfn_stub.add_response("describe_stack_events", {"StackEvents": events}, {"StackName": ANY})

    def protection(self, enabled: bool) -> None:
        self.cfn_stub.add_response("update_termination_protection", {"StackId": self.stack_id},
                                   {"StackName": ANY, "EnableTerminationProtection": enabled})  # fmt: skip

    def done(self) -> None:
        self.cfn_stub.assert_no_pending_responses()
        self.emr_stub.assert_no_pending_responses()


@pytest.fixture
def processing_pipeline(cast, account, network, monkeypatch):  # type: ignore[no-untyped-def]
    """An aws pipeline with DataProcessing, saved (its reconciler not run), every other stack recorded as
    created; returns (pipeline, DataProcessing stack name, stubbed AWS)."""
    monkeypatch.setattr("provisioning.providers.aws.IAM_WAIT_SECONDS", 0)
    monkeypatch.setattr("provisioning.providers.aws.EMR_WAIT_SECONDS", 0)
    spec = moto_spec(account, network)
    spec["processing"] = dict(PROCESSING)
    pipeline = pipeline_services.pipeline_save(
        project=cast.project_a, spec=spec, author=None, expected_version=0
    ).pipeline
    name = f"Clickstream-DataProcessing-{pipeline.pipeline_id}"
    aws = Aws(name)
    monkeypatch.setattr(AwsProvider, "_aws", lambda self, pipeline: aws.clients())
    settle(pipeline, but=name)
    return pipeline, name, aws


def settle(pipeline, *, but: str, outputs: dict[str, str] | None = None) -> None:  # type: ignore[no-untyped-def]
    """Record every stack except `but` as created with the inputs now wanted (dependencies first)."""
    from provisioning.reconciler import _record_plan

    for _ in range(2):  # a dependent's inputs hold its dependency's outputs
        desired = AwsProvider().plan(pipeline)
        records = {r.name: r for r in PipelineResource.objects.unscoped().filter(pipeline=pipeline)}
        _record_plan(pipeline, desired, records)
        for d in desired:
            if d.name != but:
                PipelineResource.objects.unscoped().filter(pipeline=pipeline, name=d.name).update(
                    state="CREATE_COMPLETE", inputs=d.inputs, inputs_hash=d.inputs_hash,
                    applied_hash=d.inputs_hash, outputs={"StackId": f"id-{d.name}", **(outputs or {})},
                )  # fmt: skip


def wanted_hash(pipeline, name: str) -> str:  # type: ignore[no-untyped-def]
    pipeline = type(pipeline).objects.unscoped().get(pk=pipeline.pk)  # its current version, as saved
    return next(d for d in AwsProvider().plan(pipeline) if d.name == name).inputs_hash


def token(pipeline, name: str, what: str, attempt: int) -> str:  # type: ignore[no-untyped-def]
    return client_token(name, wanted_hash(pipeline, name), what, attempt)


def record(pipeline, name: str) -> PipelineResource:  # type: ignore[no-untyped-def]
    return PipelineResource.objects.unscoped().get(pipeline=pipeline, name=name)


def step(pipeline) -> str | None:  # type: ignore[no-untyped-def]
    return reconcile_step(pipeline_pk=pipeline.pk)


def test_a_failed_create_reports_the_first_failed_resource_and_retry_creates_it_again(processing_pipeline):
    from provisioning.services import pipeline_retry

    pipeline, name, aws = processing_pipeline
    first = token(pipeline, name, "create", 1)
    aws.no_stack()
    aws.change_set(first)
    aws.stack("CREATE_IN_PROGRESS")
    aws.events(first, ("Application", "AWS::EMRServerless::Application", "CREATE_IN_PROGRESS", ""))
    assert step(pipeline) == f"apply {name}"
    assert record(pipeline, name).state == "CREATE_IN_PROGRESS"
    assert pipeline_state(pipeline=pipeline).status == "Creating"

    # AWS: the application fails, the function is cancelled because of it, the stack rolls back.
    aws.stack("ROLLBACK_COMPLETE", reason="The following resource(s) failed to create: [Application].")
    failure = ("Application", "AWS::EMRServerless::Application", "CREATE_FAILED",
               "SubnetIds and SecurityGroupIds are required")  # fmt: skip
    cancelled = ("JobSubmitter", "AWS::Lambda::Function", "CREATE_FAILED", "Resource creation cancelled")
    aws.events(first, ("Stack", "AWS::CloudFormation::Stack", "ROLLBACK_COMPLETE", ""), cancelled, failure)
    aws.events(first, ("Stack", "AWS::CloudFormation::Stack", "ROLLBACK_COMPLETE", ""), cancelled, failure)
    assert step(pipeline) == f"read {name}"
    failed = record(pipeline, name)
    assert failed.state == "ROLLBACK_COMPLETE"
    assert (
        "Application (AWS::EMRServerless::Application): SubnetIds and SecurityGroupIds are required"
        in failed.reason
    )
    assert "press Retry" in failed.reason
    messages = [e["message"] for e in failed.events]
    assert any("SubnetIds and SecurityGroupIds are required" in m for m in messages)
    assert not any("an older operation's" in m for m in messages)  # filtered by the request token
    assert step(pipeline) is None  # failed with these inputs: nothing until Retry
    assert pipeline_state(pipeline=pipeline).status == "Failed"
    aws.done()

    # Retry: the rolled-back stack is deleted, then created again (a new token).
    pipeline_retry(pipeline=pipeline)
    aws.stack("ROLLBACK_COMPLETE")
    aws.protection(False)
    aws.cfn_stub.add_response("delete_stack", {}, {"StackName": aws.stack_id,
                                                   "ClientRequestToken": token(pipeline, name, "recreate", 2)})  # fmt: skip
    aws.stack("DELETE_IN_PROGRESS")
    assert step(pipeline) == f"apply {name}"
    assert "Deleting the stack that failed to create" in record(pipeline, name).reason
    second = token(pipeline, name, "create", 2)
    aws.stack("DELETE_COMPLETE")
    aws.no_stack()
    aws.change_set(second)
    aws.stack("CREATE_COMPLETE", outputs={"EMRServerlessApplicationId": "00f1abc", "GlueDatabase": "shop"})
    aws.events(second, ("Stack", "AWS::CloudFormation::Stack", "CREATE_COMPLETE", ""))
    aws.stack("CREATE_COMPLETE", outputs={"EMRServerlessApplicationId": "00f1abc", "GlueDatabase": "shop"},
              protected=False)  # fmt: skip
    aws.protection(True)
    assert step(pipeline) == f"read {name}"
    done = record(pipeline, name)
    assert done.state == "CREATE_COMPLETE" and done.outputs["EMRServerlessApplicationId"] == "00f1abc"
    assert "console.aws.amazon.com/cloudformation" in done.outputs["console"]
    assert step(pipeline) is None
    assert pipeline_state(pipeline=pipeline).status == "Active"
    aws.done()


def test_update_rollback_failed_waits_for_the_continue_action(processing_pipeline):
    from provisioning.services import RollbackNotStuck, stack_rollback_continue

    pipeline, name, aws = processing_pipeline
    settle(pipeline, but="")  # DataProcessing exists too
    assert step(pipeline) is None  # the create's run is over
    spec = dict(pipeline.spec, processing={**PROCESSING, "schedule": "rate(2 hours)"})
    pipeline_services.pipeline_save(project=pipeline.project, spec=spec, author=None, expected_version=1)
    deployment_request(pipeline=pipeline, action="Update")  # what the save's signal does on commit
    update = token(pipeline, name, "update", 1)
    aws.stack("CREATE_COMPLETE")
    aws.change_set(update)
    aws.stack("UPDATE_ROLLBACK_FAILED")
    blocking = {"StackResources": [
        {"LogicalResourceId": "Application", "ResourceType": "AWS::EMRServerless::Application",
         "ResourceStatus": "UPDATE_FAILED", "ResourceStatusReason": "Application must be stopped", "Timestamp": NOW},
        {"LogicalResourceId": "Topic", "ResourceType": "AWS::SNS::Topic", "ResourceStatus": "UPDATE_COMPLETE",
         "Timestamp": NOW},
    ]}  # fmt: skip
    aws.events(
        update,
        ("Application", "AWS::EMRServerless::Application", "UPDATE_FAILED", "Application must be stopped"),
    )
    aws.events(
        update,
        ("Application", "AWS::EMRServerless::Application", "UPDATE_FAILED", "Application must be stopped"),
    )
    aws.cfn_stub.add_response("describe_stack_resources", blocking, {"StackName": ANY})
    assert step(pipeline) == f"apply {name}"
    stuck = record(pipeline, name)
    assert stuck.state == "UPDATE_ROLLBACK_FAILED"
    assert (
        "Continue the rollback" in stuck.reason and "Application: Application must be stopped" in stuck.reason
    )
    assert step(pipeline) is None  # never acted on by itself
    assert pipeline_state(pipeline=pipeline).status == "Warning"

    with pytest.raises(RollbackNotStuck):
        stack_rollback_continue(pipeline=pipeline, name=f"Clickstream-Metrics-{pipeline.pipeline_id}")
    aws.cfn_stub.add_response("describe_stack_resources", blocking, {"StackName": ANY})
    aws.cfn_stub.add_response("continue_update_rollback", {}, {"StackName": ANY, "ResourcesToSkip": ["Application"],
                                                               "ClientRequestToken": ANY})  # fmt: skip
    assert stack_rollback_continue(pipeline=pipeline, name=name) == ["Application"]
    assert record(pipeline, name).state == "UPDATE_ROLLBACK_IN_PROGRESS"
    assert pipeline_state(pipeline=pipeline).status == "Updating"
    aws.stack("UPDATE_ROLLBACK_COMPLETE")
    assert step(pipeline) == f"read {name}"
    rolled_back = record(pipeline, name)
    assert rolled_back.state == "UPDATE_ROLLBACK_COMPLETE" and "Press Retry" in rolled_back.reason
    aws.done()


def test_throttling_is_retried_by_the_job_and_leaves_no_record(processing_pipeline):
    pipeline, name, aws = processing_pipeline
    aws.cfn_stub.add_client_error("describe_stacks", "Throttling", "Rate exceeded", 400)
    before = record(pipeline, name)
    with pytest.raises(TransientJobError, match="throttled"):
        step(pipeline)
    after = record(pipeline, name)
    assert (after.state, after.operation, after.inputs_hash) == (
        before.state,
        before.operation,
        before.inputs_hash,
    )
    aws.done()


def test_an_iam_role_not_yet_propagated_is_tried_again(processing_pipeline):
    pipeline, name, aws = processing_pipeline
    aws.no_stack()
    aws.change_set(token(pipeline, name, "create", 1), status="FAILED",
                   reason="Role arn:aws:iam::123456789012:role/job is invalid or cannot be assumed")  # fmt: skip
    assert step(pipeline) == f"apply {name}"
    waiting = record(pipeline, name)
    assert waiting.state == "CREATE_IN_PROGRESS" and "A role is not usable yet" in waiting.reason
    second = token(pipeline, name, "create", 2)
    aws.no_stack()
    aws.change_set(second)
    aws.stack("CREATE_COMPLETE")
    aws.events(second)
    aws.stack("CREATE_COMPLETE", protected=False)
    aws.protection(True)
    assert step(pipeline) == f"read {name}"
    assert record(pipeline, name).state == "CREATE_COMPLETE"
    aws.done()


def test_a_refused_permission_fails_with_what_to_do(processing_pipeline):
    pipeline, name, aws = processing_pipeline
    aws.no_stack()
    aws.cfn_stub.add_client_error(
        "describe_change_set", "ValidationError", f"Stack [{name}] does not exist", 400
    )
    aws.cfn_stub.add_client_error("create_change_set", "AccessDenied",
                                  "User is not authorized to perform: cloudformation:CreateChangeSet", 403)  # fmt: skip
    assert step(pipeline) == f"apply {name}"
    failed = record(pipeline, name)
    assert failed.state == "CREATE_FAILED"
    assert f"The role {ROLE_ARN} needs this permission" in failed.reason and "press Retry" in failed.reason
    aws.done()


def test_an_empty_change_set_is_a_no_op(processing_pipeline):
    pipeline, name, aws = processing_pipeline
    settle(pipeline, but="")
    PipelineResource.objects.unscoped().filter(pipeline=pipeline, name=name).update(inputs_hash="changed")
    update = token(pipeline, name, "update", 1)
    aws.stack("CREATE_COMPLETE")
    aws.change_set(update, status="FAILED", reason="The submitted information didn't contain changes. "
                   "Submit different information to create a change set.")  # fmt: skip
    aws.cfn_stub.add_response("delete_change_set", {}, {"StackName": name, "ChangeSetName": update})
    aws.stack("CREATE_COMPLETE")
    assert step(pipeline) == f"apply {name}"
    done = record(pipeline, name)
    assert done.state == "CREATE_COMPLETE" and done.reason == ""
    assert any("no change to make" in e["message"] for e in done.events)
    aws.done()


def test_data_processing_update_waits_for_job_runs_and_stops_then_starts_the_application(processing_pipeline):
    pipeline, name, aws = processing_pipeline
    settle(pipeline, but="", outputs={"EMRServerlessApplicationId": "00f1abc"})
    spec = dict(pipeline.spec, processing={**PROCESSING, "schedule": "rate(2 hours)"})
    pipeline_services.pipeline_save(project=pipeline.project, spec=spec, author=None, expected_version=1)
    deployment_request(pipeline=pipeline, action="Update")  # what the save's signal does on commit
    app = {"applicationId": "00f1abc"}
    role = "arn:aws:iam::123456789012:role/clickstream-etl-job"
    run = {"applicationId": "00f1abc", "id": "r1", "name": "etl", "createdAt": NOW, "updatedAt": NOW,
           "arn": "arn:aws:emr-serverless:us-east-1:123456789012:/applications/00f1abc/jobruns/r1",
           "createdBy": "arn:aws:sts::123456789012:assumed-role/submitter", "executionRole": role,
           "state": "RUNNING", "stateDetails": "running", "releaseLabel": "emr-7.0.0"}  # fmt: skip
    aws.stack("CREATE_COMPLETE")
    aws.emr_stub.add_response("list_job_runs", {"jobRuns": [run]}, {**app, "states": ANY})
    assert step(pipeline) == f"apply {name}"
    assert "Waiting for 1 EMR Serverless job run(s) (r1)" in record(pipeline, name).reason

    application = {"applicationId": "00f1abc", "arn": "arn:aws:emr-serverless:us-east-1:123456789012:/applications/00f1abc", "releaseLabel": "emr-7.0.0", "type": "Spark",
                   "createdAt": NOW, "updatedAt": NOW}  # fmt: skip
    aws.emr_stub.add_response("list_job_runs", {"jobRuns": []}, {**app, "states": ANY})
    aws.emr_stub.add_response("get_application", {"application": {**application, "state": "STARTED"}}, app)
    aws.emr_stub.add_response("stop_application", {}, app)
    assert step(pipeline) == f"read {name}"
    assert "Stopping EMR Serverless application 00f1abc" in record(pipeline, name).reason

    update = token(pipeline, name, "update", 1)
    aws.emr_stub.add_response("list_job_runs", {"jobRuns": []}, {**app, "states": ANY})
    aws.emr_stub.add_response("get_application", {"application": {**application, "state": "STOPPED"}}, app)
    aws.change_set(update)
    aws.stack("UPDATE_COMPLETE")
    aws.events(update, ("Application", "AWS::EMRServerless::Application", "UPDATE_COMPLETE", ""))
    aws.stack("UPDATE_COMPLETE")
    aws.emr_stub.add_response("start_application", {}, app)
    assert step(pipeline) == f"read {name}"
    assert record(pipeline, name).state == "UPDATE_COMPLETE"
    aws.done()


def test_the_page_api_and_roles_for_a_stuck_stack(processing_pipeline, api, login, cast):
    """The pipeline page shows each stack's state, reason, outputs and console link, and the continue button
    (with its explanation) for a stack in UPDATE_ROLLBACK_FAILED; the API continues it; a reader may not."""
    from django.urls import reverse

    pipeline, name, aws = processing_pipeline
    settle(pipeline, but="", outputs={"GlueDatabase": "shop_db"})
    PipelineResource.objects.unscoped().filter(pipeline=pipeline, name=name).update(
        state="UPDATE_ROLLBACK_FAILED", reason="The update failed and CloudFormation could not roll it back",
        outputs={"GlueDatabase": "shop_db", "console": "https://us-east-1.console.aws.amazon.com/cloudformation/x"},
    )  # fmt: skip
    kwargs = {"org": cast.org_a.slug, "project": cast.project_a.project_id}
    page = login(cast.alice).get(reverse("provisioning:status", kwargs=kwargs)).content.decode()
    assert "Continue the rollback" in page and "skips the resources that block the rollback" in page
    assert "https://us-east-1.console.aws.amazon.com/cloudformation/x" in page and "shop_db" in page

    url = reverse("api:pipeline-rollback-continue", kwargs=kwargs)
    assert api(cast.bob, cast.org_a).post(url, {"stack": name}, format="json").status_code == 403
    assert api(cast.carol, cast.org_b).post(url, {"stack": name}, format="json").status_code == 404
    response = api(cast.alice, cast.org_a).post(url, {"stack": f"Clickstream-Metrics-{pipeline.pipeline_id}"},
                                               format="json")  # fmt: skip
    assert response.status_code == 409 and "no rollback to continue" in response.json()["detail"]
    assert api(cast.alice, cast.org_a).post(url, {}, format="json").status_code == 400
    aws.cfn_stub.add_response("describe_stack_resources", {"StackResources": []}, {"StackName": ANY})
    aws.cfn_stub.add_response("continue_update_rollback", {}, {"StackName": ANY, "ResourcesToSkip": [],
                                                               "ClientRequestToken": ANY})  # fmt: skip
    response = api(cast.alice, cast.org_a).post(url, {"stack": name}, format="json")
    assert response.status_code == 202 and response.json()["busy"] is True
    aws.done()


def test_the_ingestion_endpoint_reaches_the_pipeline_as_soon_as_the_stack_has_it(
    processing_pipeline, monkeypatch
):
    """moto's ExecuteChangeSet leaves a stack without outputs, so the Ingestion stack's URL output comes from
    a stubbed DescribeStacks; the pipeline (and so the app pages and snippets) has it before the run ends."""
    from projects.services import app_ingestion_endpoint

    pipeline, _, _ = processing_pipeline
    name = f"Clickstream-Ingestion-{pipeline.pipeline_id}"
    aws = Aws(name)
    monkeypatch.setattr(AwsProvider, "_aws", lambda self, pipeline: aws.clients())
    settle(pipeline, but=name)
    PipelineResource.objects.unscoped().filter(pipeline=pipeline, name=name).update(
        state="", inputs_hash="", applied_hash="", outputs={}
    )
    create = token(pipeline, name, "create", 1)
    url = {
        "IngestionServerURL": "https://collect.example.com/collect",
        "IngestionServerDNS": "alb-1.elb.amazonaws.com",
    }
    aws.no_stack()
    aws.change_set(create)
    aws.stack("CREATE_COMPLETE", outputs=url)
    aws.events(create)
    aws.stack("CREATE_COMPLETE", outputs=url)
    assert step(pipeline) == f"apply {name}"
    pipeline.refresh_from_db()
    assert pipeline.ingestion_endpoint == "https://collect.example.com/collect"
    assert app_ingestion_endpoint(app=pipeline.project.apps.get()) == "https://collect.example.com/collect"
    assert record(pipeline, name).outputs["IngestionServerDNS"] == "alb-1.elb.amazonaws.com"
    aws.done()


def test_data_processing_delete_cancels_job_runs_and_stops_the_application_first(
    processing_pipeline, monkeypatch
):
    """Stubber (moto models neither a running job run's progress nor its cancel): the delete of the
    DataProcessing stack cancels the application's running job runs, waits for them, stops the application,
    and only then deletes the stack; the application is not started again."""
    from pipelines.services import pipeline_delete_request

    monkeypatch.setattr("provisioning.providers.aws.POLL_SECONDS", 0)
    pipeline, name, aws = processing_pipeline
    settle(pipeline, but="", outputs={"EMRServerlessApplicationId": "00f1abc"})
    PipelineResource.objects.unscoped().filter(pipeline=pipeline).exclude(name=name).update(
        state="DELETE_COMPLETE"
    )  # the other stacks are gone already: this one is next
    pipeline_delete_request(pipeline=pipeline)
    app = {"applicationId": "00f1abc"}
    role = "arn:aws:iam::123456789012:role/clickstream-etl-job"
    run = {"applicationId": "00f1abc", "id": "r1", "name": "etl", "createdAt": NOW, "updatedAt": NOW,
           "arn": "arn:aws:emr-serverless:us-east-1:123456789012:/applications/00f1abc/jobruns/r1",
           "createdBy": "arn:aws:sts::123456789012:assumed-role/submitter", "executionRole": role,
           "state": "RUNNING", "stateDetails": "running", "releaseLabel": "emr-7.0.0"}  # fmt: skip
    aws.stack("CREATE_COMPLETE")
    aws.emr_stub.add_response("list_job_runs", {"jobRuns": [run]}, {**app, "states": ANY})
    aws.emr_stub.add_response("list_job_runs", {"jobRuns": [run]}, {**app, "states": ANY})
    aws.emr_stub.add_response("cancel_job_run", {"applicationId": "00f1abc", "jobRunId": "r1"},
                              {**app, "jobRunId": "r1"})  # fmt: skip
    assert step(pipeline) == f"delete {name}"
    assert "Cancelling 1 EMR Serverless job run(s) (r1)" in record(pipeline, name).reason
    assert record(pipeline, name).state == "DELETE_IN_PROGRESS"

    application = {"applicationId": "00f1abc", "arn": "arn:aws:emr-serverless:us-east-1:123456789012:/applications/00f1abc", "releaseLabel": "emr-7.0.0", "type": "Spark",
                   "createdAt": NOW, "updatedAt": NOW}  # fmt: skip
    aws.emr_stub.add_response(
        "list_job_runs", {"jobRuns": [{**run, "state": "CANCELLING"}]}, {**app, "states": ANY}
    )
    aws.emr_stub.add_response("list_job_runs", {"jobRuns": []}, {**app, "states": ANY})  # none left to cancel
    assert step(pipeline) == f"read {name}"
    assert "Cancelling 1 EMR Serverless job run(s) (r1)" in record(pipeline, name).reason

    aws.emr_stub.add_response("list_job_runs", {"jobRuns": []}, {**app, "states": ANY})
    aws.emr_stub.add_response("get_application", {"application": {**application, "state": "STARTED"}}, app)
    aws.emr_stub.add_response("stop_application", {}, app)
    assert step(pipeline) == f"read {name}"
    assert "Stopping EMR Serverless application 00f1abc before the delete" in record(pipeline, name).reason
    aws.done()  # nothing deleted while the application runs

    aws.emr_stub.add_response("list_job_runs", {"jobRuns": []}, {**app, "states": ANY})
    aws.emr_stub.add_response("get_application", {"application": {**application, "state": "STOPPED"}}, app)
    aws.stack("CREATE_COMPLETE")
    aws.protection(False)
    aws.cfn_stub.add_response("delete_stack", {}, {"StackName": aws.stack_id,
                                                   "ClientRequestToken": token(pipeline, name, "delete", 1)})  # fmt: skip
    aws.stack("DELETE_COMPLETE")
    aws.events(token(pipeline, name, "delete", 1))
    assert step(pipeline) == f"read {name}"
    assert record(pipeline, name).state == "DELETE_COMPLETE"
    events = [e["message"] for e in record(pipeline, name).events]
    assert any("cancelling EMR Serverless job run(s) r1" in m for m in events)
    assert step(pipeline) is None  # every stack gone: the pipeline is removed
    assert not type(pipeline).objects.unscoped().filter(pk=pipeline.pk).exists()
    aws.done()  # and no start_application


def test_a_project_delete_waits_for_a_failed_stack_delete_and_its_retry(
    processing_pipeline, api, login, cast, django_capture_on_commit_callbacks
):
    """Stubber (moto never fails a delete): the project's delete starts the pipeline's; a stack whose delete
    fails (`DELETE_FAILED`, a bucket not empty) leaves the project deleting, its page showing the failure
    and a Retry; the Retry deletes the stack, and then the pipeline and the project go."""
    from projects.models import App, Project

    pipeline, name, aws = processing_pipeline
    settle(pipeline, but="")
    PipelineResource.objects.unscoped().filter(pipeline=pipeline).exclude(name=name).update(
        state="DELETE_COMPLETE"
    )  # the other stacks are gone already: this one is the last
    assert api(cast.ann, cast.org_a).delete("/api/v1/organizations/org-a/projects/shop/").status_code == 403
    with django_capture_on_commit_callbacks() as callbacks:
        response = api(cast.alice, cast.org_a).delete("/api/v1/organizations/org-a/projects/shop/")
    assert response.status_code == 202 and response.json()["deleting"] is True
    with django_capture_on_commit_callbacks():  # the receiver records the Delete; its job is stepped here
        for callback in callbacks:
            callback()
    assert pipeline_state(pipeline=pipeline).action == "Delete"

    failed = "The following resource(s) failed to delete: [SinkBucket]."
    aws.stack("CREATE_COMPLETE")
    aws.stack("CREATE_COMPLETE")  # read again once drained (no EMR application recorded: nothing to stop)
    aws.protection(False)
    aws.cfn_stub.add_response("delete_stack", {}, {"StackName": aws.stack_id,
                                                   "ClientRequestToken": token(pipeline, name, "delete", 1)})  # fmt: skip
    aws.stack("DELETE_FAILED", reason=failed, protected=False)
    for _ in range(2):  # recorded, then read for the first failure
        aws.events(token(pipeline, name, "delete", 1),
                   ("SinkBucket", "AWS::S3::Bucket", "DELETE_FAILED", "The bucket you tried to delete is not empty"))  # fmt: skip
    assert step(pipeline) == f"delete {name}"
    assert record(pipeline, name).state == "DELETE_FAILED"
    assert step(pipeline) is None
    aws.done()
    project = Project.objects.unscoped().get(pk=cast.project_a.pk)
    assert project.deleting and App.objects.unscoped().filter(project=project).exists()
    state = pipeline_state(pipeline=pipeline)
    assert state.status == "Failed" and "SinkBucket" in state.reason + record(pipeline, name).reason
    page = login(cast.alice).get("/o/org-a/projects/shop/").content.decode()
    assert 'id="project-deleting"' in page and 'id="retry-pipeline"' in page and "DELETE_FAILED" in page
    assert 'id="retry-pipeline"' not in login(cast.bob).get("/o/org-a/projects/shop/").content.decode()
    assert login(cast.bob).post("/o/org-a/projects/shop/pipeline/retry/").status_code == 403
    assert login(cast.carol).post("/o/org-a/projects/shop/pipeline/retry/").status_code == 404

    with django_capture_on_commit_callbacks():
        login(cast.alice).post("/o/org-a/projects/shop/pipeline/retry/")
    assert record(pipeline, name).state == ""  # pending: the Retry takes it again
    aws.stack("DELETE_FAILED", reason=failed, protected=False)
    aws.stack("DELETE_FAILED", reason=failed, protected=False)
    aws.protection(False)
    again = client_token(name, record(pipeline, name).inputs_hash, "delete", 2)  # a new token
    aws.cfn_stub.add_response("delete_stack", {}, {"StackName": aws.stack_id, "ClientRequestToken": again})
    aws.stack("DELETE_COMPLETE", protected=False)
    aws.events(again)
    assert step(pipeline) == f"delete {name}"
    assert record(pipeline, name).state == "DELETE_COMPLETE"
    assert step(pipeline) is None  # every stack gone: the pipeline is removed, and the project with it
    aws.done()
    assert not type(pipeline).objects.unscoped().filter(pk=pipeline.pk).exists()
    assert not Project.objects.unscoped().filter(pk=cast.project_a.pk).exists()
    assert not App.objects.unscoped().filter(project_id=cast.project_a.pk).exists()
    assert Project.objects.unscoped().filter(pk=cast.project_b.pk).exists()

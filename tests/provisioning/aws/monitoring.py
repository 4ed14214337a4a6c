"""A world for the monitoring tests: AWS pipelines recorded as the provider leaves them once Active, and,
in moto, minimal stacks of the same names (a Metrics stack with the project's alarm topic, an Ingestion
stack), with alarms named as the templates name them."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.utils import timezone

from pipelines.models import Pipeline, PipelineVersion
from pipelines.plan import stack_name
from portal import aws
from portal.models import AwsAccount, Organization
from projects.models import Project
from provisioning.choices import Action, RunState
from provisioning.models import Deployment, PipelineResource
from tests.pipelines.specs import aws_spec

REGION = "us-east-1"
METRICS = json.dumps({
    "Parameters": {"TopicName": {"Type": "String"}},
    "Resources": {"AlarmTopic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": {"Ref": "TopicName"}}}},
    "Outputs": {"ObservabilityTopicArn": {"Value": {"Ref": "AlarmTopic"}}},
})  # fmt: skip
INGESTION = json.dumps({"Resources": {"Queue": {"Type": "AWS::SQS::Queue"}}})


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": REGION}.items():  # fmt: skip
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    aws.clear_credentials_cache()


def account_for(org: Organization, account_id: str = "123456789012") -> AwsAccount:
    return AwsAccount.objects.unscoped().create(
        organization=org,
        name=f"acct-{account_id}",
        role_arn=f"arn:aws:iam::{account_id}:role/ClickstreamPortal",
    )


def settled_pipeline(
    org: Organization, account: AwsAccount, project_id: str, *, emails: str = "ops@example.com",
    kinds: tuple[str, ...] = ("Metrics", "Ingestion"), region: str = REGION, drift_due: bool = False,
) -> Pipeline:  # fmt: skip
    """A pipeline whose stacks the provider created (Active): its rows, not its stacks (see `stacks_for`).

    Its drift was checked a minute ago unless `drift_due`: moto has no drift detection to run."""
    project = Project.objects.unscoped().create(organization=org, project_id=project_id, name=project_id,
                                                emails=emails)  # fmt: skip
    pipeline = Pipeline.objects.unscoped().create(organization=org, project=project, provider="aws")
    spec = aws_spec(aws__account=str(account.uuid), aws__region=region)
    pipeline.current_version = PipelineVersion.objects.unscoped().create(
        organization=org, pipeline=pipeline, number=1, spec=spec
    )
    pipeline.save()
    Deployment.objects.unscoped().create(
        organization=org, pipeline=pipeline, action=Action.CREATE, run_state=RunState.SUCCEEDED
    )
    for position, kind in enumerate(kinds):
        PipelineResource.objects.unscoped().create(organization=org, pipeline=pipeline, kind=kind,
                                                   name=stack_name(kind, pipeline.pipeline_id),
                                                   position=position, state="CREATE_COMPLETE",
                                                   drift="" if drift_due else "IN_SYNC",
                                                   drift_checked=None if drift_due else timezone.now())  # fmt: skip
    return pipeline


def session_of(pipeline: Pipeline) -> Any:
    from provisioning.aws.target import pipeline_account

    return aws.aws_session(account=pipeline_account(pipeline), region=REGION)


def stacks_for(
    pipeline: Pipeline, *, alarms: tuple[str, ...] = ("ECS Pending Task Count",)
) -> dict[str, str]:
    """Create the pipeline's stacks in moto (same names as the templates give them), the alarms of its
    Ingestion stack, and subscribe the project's addresses; returns each kind's stack id."""
    session = session_of(pipeline)
    cfn, project_id = aws.aws_client(session, "cloudformation"), pipeline.project.project_id
    ids = {}
    for record in PipelineResource.objects.unscoped().filter(pipeline=pipeline):
        if record.kind == "Metrics":
            params = [{"ParameterKey": "TopicName", "ParameterValue": topic_name(pipeline)}]
            ids["Metrics"] = cfn.create_stack(StackName=record.name, TemplateBody=METRICS, Parameters=params)[
                "StackId"
            ]
        else:
            ids[record.kind] = cfn.create_stack(StackName=record.name, TemplateBody=INGESTION)["StackId"]
    if "Ingestion" in ids:
        cloudwatch = aws.aws_client(session, "cloudwatch")
        short = ids["Ingestion"].split("/")[2].split("-")[0]
        for alarm in alarms:
            cloudwatch.put_metric_alarm(
                AlarmName=f"Clickstream|{project_id} {alarm}_{short}", AlarmDescription=f"{alarm} of {project_id}",
                MetricName="PendingTaskCount", Namespace="ECS/ContainerInsights", Statistic="Average",
                Period=300, EvaluationPeriods=2, Threshold=1, ComparisonOperator="GreaterThanOrEqualToThreshold",
            )  # fmt: skip
    if "Metrics" in ids:
        sns = aws.aws_client(session, "sns")
        topic = f"arn:aws:sns:{REGION}:{pipeline_account_id(pipeline)}:{topic_name(pipeline)}"
        for email in pipeline.project.email_list:
            sns.subscribe(TopicArn=topic, Protocol="email", Endpoint=email)
    return ids


def topic_name(pipeline: Pipeline) -> str:
    from provisioning.aws.common import alarm_topic_name

    return alarm_topic_name(project_id=pipeline.project.project_id, pipeline_id=pipeline.pipeline_id)


def pipeline_account_id(pipeline: Pipeline) -> str:
    from provisioning.aws.target import pipeline_account

    return pipeline_account(pipeline).account_id


@contextmanager
def counting_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counter[str]]:
    """Every AWS call made through the session factory, as `service.Operation` (a botocore `before-call`
    hook on each session, so every client made from it reports)."""
    calls: Counter[str] = Counter()
    original = aws.aws_session

    def watched(**kwargs: Any) -> Any:
        session = original(**kwargs)
        session.events.register(
            "before-call",
            lambda model, **_: calls.update([f"{model.service_model.service_name}.{model.name}"]),
        )
        return session

    monkeypatch.setattr(aws, "aws_session", watched)
    yield calls
    monkeypatch.setattr(aws, "aws_session", original)

"""The AWS provider's journeys against moto's CloudFormation, in-process, over the real templates.

moto creates a stack at once and never fails, rolls back or throttles; it accepts the AppRegistry, Metrics
and Ingestion templates (ignoring the resource types it does not model) and refuses DataProcessing's
(`Fn::GetAtt` of `AWS::EMRServerless::Application`), so these journeys run a pipeline without processing;
the DataProcessing stack's lifecycle and every failure state are in test_failures.py, with botocore's Stubber.
"""

from __future__ import annotations

import boto3
import pytest

from provisioning.models import PipelineResource
from provisioning.selectors import pipeline_state
from tests.provisioning.aws.conftest import REGION, moto_spec

pytestmark = pytest.mark.django_db

STACKS = ["Clickstream-ServiceCatalogAppRegistry-{}", "Clickstream-Metrics-{}", "Clickstream-Ingestion-{}"]


def cfn():  # type: ignore[no-untyped-def]
    return boto3.client("cloudformation", region_name=REGION)


def live_stacks() -> dict[str, str]:
    return {s["StackName"]: s["StackStatus"] for s in cfn().describe_stacks()["Stacks"]}


def records(pipeline) -> dict[str, PipelineResource]:  # type: ignore[no-untyped-def]
    return {r.name: r for r in PipelineResource.objects.unscoped().filter(pipeline=pipeline)}


def test_create_makes_every_stack(cast, account, network, save):
    pipeline = save(cast.project_a, moto_spec(account, network)).pipeline
    names = [s.format(pipeline.pipeline_id) for s in STACKS]
    assert live_stacks() == {n: "CREATE_COMPLETE" for n in names}
    rows = records(pipeline)
    assert {n: r.state for n, r in rows.items()} == {n: "CREATE_COMPLETE" for n in names}
    assert pipeline_state(pipeline=pipeline).status == "Active"
    for name in names:
        assert cfn().describe_stacks(StackName=name)["Stacks"][0]["EnableTerminationProtection"] is True
        assert rows[name].outputs["StackId"].startswith("arn:aws:cloudformation:")

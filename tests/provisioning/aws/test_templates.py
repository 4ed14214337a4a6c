"""The rendered templates: cfn-lint clean in the pipeline's region for every sink, infra type, Redshift mode and
optional feature; parameters and outputs of the contract (spec/control-plane.md §3.2–§3.3); every role scoped;
a snapshot per stack so any change to a template shows in review (UPDATE_SNAPSHOTS=1 rewrites them)."""

from __future__ import annotations

import hashlib
import json
import os
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import lint
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.spec import Context, validate
from provisioning.aws.common import UNSCOPED_ACTIONS
from provisioning.aws.render import RenderedStack, RenderError, render_stacks
from tests.provisioning.aws.specs import APPS, PROJECT, make_spec

SNAPSHOTS = Path(__file__).parent / "snapshots"
# Outputs of §3.3 each stack must have (matched by suffix), and those only some variants have.
OUTPUTS = {
    "ServiceCatalogAppRegistry": {"ServiceCatalogAppRegistryApplicationArn", "ServiceCatalogAppRegistryApplicationTagKey",
                                  "ServiceCatalogAppRegistryApplicationTagValue"},
    "Metrics": {"ObservabilityDashboardName", "ObservabilityTopicArn"},
    "Ingestion": {"IngestionServerURL", "IngestionServerDNS"},
    "DataProcessing": {"EMRServerlessApplicationId", "GlueDatabase", "GlueEventTable", "GlueSessionTable",
                       "GlueUserTable", "GlueItemTable"},
    "DataModelingRedshift": {"BIUserCredentialParameterName", "BIUserName", "RedshiftDataApiRoleArn"},
    "Reporting": {"Dashboards", "DataSourceArn", "RedshiftDatabaseName", "RedshiftEndpointAddress", "RedshiftDataApiRoleArn"},
    "KafkaConnector": set(), "DataModelingAthena": set(),
}  # fmt: skip
NEW_SERVERLESS_OUTPUTS = {"StackCreatedRedshiftServerlessWorkgroupName", "StackCreatedRedshiftServerlessNamespaceName",
                          "StackCreatedRedshiftServerlessWorkgroupEndpointAddress",
                          "StackCreatedRedshiftServerlessWorkgroupEndpointPort"}  # fmt: skip

# Each value of each dimension at least once; regions with and without Global Accelerator / Redshift Serverless.
MATRIX = [
    dict(sink="kinesis", infra="EC2", redshift="new_serverless", global_accelerator=True, access_logs=True, authentication=True),
    dict(sink="kinesis", infra="Fargate", redshift="provisioned", stream_mode="PROVISIONED", athena=False, region="eu-west-1"),
    dict(sink="s3", infra="Fargate", redshift="existing_serverless", https=False, network="Private"),
    dict(sink="s3", infra="EC2", redshift=None, athena=True, reporting=False, bucket_prefix="team/"),
    dict(sink="kafka", infra="EC2", redshift="provisioned", region="af-south-1", authentication=True),
    dict(sink="kafka", infra="Fargate", redshift="new_serverless", region="eu-west-1", global_accelerator=True),
]  # fmt: skip


def render(spec: dict[str, Any]) -> dict[str, RenderedStack]:
    return render_stacks(spec=spec, project_id=PROJECT, pipeline_id="p1a2b3", apps=APPS,
                         emails=("ops@example.com",), permissions_boundary_arn="arn:aws:iam::123456789012:policy/boundary")  # fmt: skip


@cache
def _lint(text: str, region: str) -> tuple[str, ...]:
    return tuple(
        f"{m.rule.id} {m.message} at {'/'.join(map(str, m.path))}" for m in lint(text, regions=[region])
    )


def lint_all(spec: dict[str, Any]) -> dict[str, tuple[str, ...]]:
    """Findings (errors, warnings and informational) per stack; identical templates are linted once."""
    region = spec["aws"]["region"]
    return {name: _lint(json.dumps(r.template, sort_keys=True), region) for name, r in render(spec).items()}


@pytest.mark.parametrize("options", MATRIX, ids=lambda o: "-".join(str(v) for v in o.values()))
def test_every_variant_lints_clean_in_its_region(options: dict[str, Any]) -> None:
    findings = lint_all(make_spec(**options))
    assert findings and all(not f for f in findings.values()), {k: v for k, v in findings.items() if v}


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    sink=st.sampled_from(["s3", "kinesis", "kafka"]), infra=st.sampled_from(["EC2", "Fargate"]),
    redshift=st.sampled_from([None, "new_serverless", "existing_serverless", "provisioned"]),
    athena=st.booleans(), reporting=st.booleans(), access_logs=st.booleans(), authentication=st.booleans(),
    region=st.sampled_from(["us-east-1", "eu-west-1", "ap-northeast-1"]),
)  # fmt: skip
def test_generated_specs_lint_clean(**options: Any) -> None:
    findings = lint_all(make_spec(**options))
    assert all(not f for f in findings.values()), {k: v for k, v in findings.items() if v}


def test_lint_can_fail() -> None:
    """The lint check is real: a broken reference is reported."""
    stacks = render(make_spec())
    template = json.loads(json.dumps(stacks["Clickstream-Metrics-p1a2b3"].template))
    template["Outputs"]["ObservabilityTopicArn"]["Value"] = {"Ref": "NoSuchTopic"}
    assert any(f.startswith("E") for f in _lint(json.dumps(template), "us-east-1"))


def test_regions_without_global_accelerator_or_redshift_serverless() -> None:
    with pytest.raises(RenderError, match="Global Accelerator is not offered"):
        spec = make_spec(redshift="provisioned", region="af-south-1")
        spec["ingestion"]["global_accelerator"] = True
        render(spec)
    spec = make_spec(redshift="provisioned", region="af-south-1")
    spec["modeling"]["redshift"] = {"mode": "new_serverless", "data_range_minutes": 1440,
                                    "new_serverless": {"base_rpu": 16, "vpc_id": "vpc-0abc1234", "security_group_ids": ["sg-01"],
                                                       "subnet_ids": ["subnet-01", "subnet-02", "subnet-03"]}}  # fmt: skip
    problems = validate(spec, ctx=Context(project_id=PROJECT, app_ids=tuple(APPS)))
    assert any("not offered in af-south-1" in p.message for p in problems)


@pytest.mark.parametrize("options", MATRIX, ids=lambda o: "-".join(str(v) for v in o.values()))
def test_parameters_and_outputs_follow_the_contract(options: dict[str, Any]) -> None:
    stacks = render(make_spec(**options))
    for name, stack in stacks.items():
        declared = stack.template["Parameters"]
        sent = set(stack.parameters)
        assert sent <= set(declared), (name, sent - set(declared))
        required = {k for k, v in declared.items() if "Default" not in v}
        assert not required - sent, (name, required - sent)  # the plan sends all a stack cannot do without
        for key, value in stack.parameters.items():
            allowed = declared[key].get("AllowedValues")
            if allowed and not value.startswith("#."):
                assert value in allowed, (name, key, value)
            pattern = declared[key].get("AllowedPattern")
            if pattern and not value.startswith("#."):
                assert re.fullmatch(pattern.strip("^$"), value) or re.search(pattern, value), (
                    name,
                    key,
                    value,
                )
        outputs = set(stack.template.get("Outputs", {}))
        assert OUTPUTS[stack.kind] <= outputs, (name, OUTPUTS[stack.kind] - outputs)
        if stack.kind == "DataModelingRedshift" and options["redshift"] == "new_serverless":
            assert outputs >= NEW_SERVERLESS_OUTPUTS
        elif (
            stack.kind == "DataModelingRedshift"
        ):  # an existing warehouse: its endpoint, as the stack looked it up
            assert outputs >= {"RedshiftEndpointAddress", "RedshiftEndpointPort"}
        if stack.kind == "Ingestion":
            assert ("KinesisArn" in outputs) == (options["sink"] == "kinesis")
        assert "IamRoleBoundaryArn" not in declared or stack.parameters["IamRoleBoundaryArn"].startswith(
            "arn:aws:iam::"
        )


@pytest.mark.parametrize("options", MATRIX, ids=lambda o: "-".join(str(v) for v in o.values()))
def test_one_stacks_outputs_feed_the_next(options: dict[str, Any]) -> None:
    """Every `#.<stack>.<Output>` placeholder names a stack rendered before it with that output (the endpoint
    of an existing workgroup or cluster too: the Redshift stack looks it up and outputs it)."""
    stacks = render(make_spec(**options))
    for name, stack in stacks.items():
        for key, value in stack.parameters.items():
            if not value.startswith("#."):
                continue
            source, output = value[2:].rsplit(".", 1)
            assert source in stacks and source in _upstream(stacks, name), (name, key, value)
            assert output in stacks[source].template["Outputs"], (name, key, value)


def _upstream(stacks: dict[str, RenderedStack], name: str) -> set[str]:
    seen, todo = set(), list(stacks[name].depends_on)
    while todo:
        current = todo.pop()
        if current not in seen:
            seen.add(current)
            todo.extend(stacks[current].depends_on if current in stacks else ())
    return seen


def _statements(template: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for name, resource in template["Resources"].items():
        if resource["Type"] == "AWS::IAM::Role":
            assert resource["Properties"]["PermissionsBoundary"]["Fn::If"][0] == "HasPermissionsBoundary", (
                name
            )
            for policy in resource["Properties"].get("Policies", []):
                out += [(name, s) for s in policy["PolicyDocument"]["Statement"]]
            assert not resource["Properties"].get("ManagedPolicyArns"), name
    return out


@pytest.mark.parametrize("options", MATRIX, ids=lambda o: "-".join(str(v) for v in o.values()))
def test_every_role_is_scoped(options: dict[str, Any]) -> None:
    for stack in render(make_spec(**options)).values():
        for role, statement in _statements(stack.template):
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            assert all("*" not in a for a in actions), (role, actions)
            resources = (
                statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            )
            if "*" in resources:
                assert set(actions) <= set(UNSCOPED_ACTIONS), (role, set(actions) - set(UNSCOPED_ACTIONS))
            for resource in resources:
                text = json.dumps(resource)
                assert ":::*" not in text and not text.endswith(':*"'), (role, text)


def test_role_walk_can_fail() -> None:
    template = {"Resources": {"R": {"Type": "AWS::IAM::Role", "Properties": {
        "PermissionsBoundary": {"Fn::If": ["HasPermissionsBoundary", "", ""]},
        "Policies": [{"PolicyDocument": {"Statement": [{"Action": ["s3:*"], "Resource": "*"}]}}]}}}}  # fmt: skip
    ((_, statement),) = _statements(template)
    assert any("*" in a for a in statement["Action"])


SNAPSHOT_SPECS: dict[str, dict[str, Any]] = {"kinesis": dict(global_accelerator=True, access_logs=True, authentication=True),
                  "kafka": dict(sink="kafka", infra="Fargate", redshift="provisioned")}  # fmt: skip


@pytest.mark.parametrize("variant", SNAPSHOT_SPECS)
def test_snapshot(variant: str) -> None:
    stacks = render(make_spec(**SNAPSHOT_SPECS[variant]))
    for stack in stacks.values():
        path = SNAPSHOTS / f"{variant}-{stack.kind}.json"
        text = (
            json.dumps({"parameters": stack.parameters, "template": stack.template}, indent=1, sort_keys=True)
            + "\n"
        )
        if os.environ.get("UPDATE_SNAPSHOTS"):
            path.parent.mkdir(exist_ok=True)
            path.write_text(text)
        assert path.exists(), f"no snapshot {path.name}: run with UPDATE_SNAPSHOTS=1 and review the diff"
        assert text == path.read_text(), (
            f"{path.name} changed (sha {hashlib.sha256(text.encode()).hexdigest()[:12]}): "
            "review, then UPDATE_SNAPSHOTS=1"
        )

"""The reconciler's crash test repeated for stacks, against moto: a crash after every single step — at each
of the reconciler's points (before an action, after it but before its record, after the commit) and right
after each AWS call that changes something (CreateChangeSet, ExecuteChangeSet, UpdateTerminationProtection,
DeleteStack) — of a create, an update, an upgrade and a delete; the next run converges with no duplicate
stack and no lost step.

To keep the run short on a shared machine the pipeline is its AppRegistry and Metrics stacks (the Ingestion
stack is left out of the plan here; its create, update and delete run the same code in the journey test).
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from pipelines.models import Pipeline
from provisioning import reconciler
from provisioning.aws import cloudformation as cfn_api
from provisioning.models import Deployment, PipelineResource
from provisioning.providers.aws import AwsProvider
from provisioning.reconciler import reconcile
from tests.provisioning.aws.conftest import REGION, moto_spec

pytestmark = pytest.mark.django_db
MUTATIONS = ("change_set_create", "change_set_execute", "termination_protection", "stack_delete")


class Crash(Exception):
    pass


@pytest.fixture
def two_stacks(monkeypatch):  # type: ignore[no-untyped-def]
    """The plan's AppRegistry and Metrics stacks; `two_stacks.version` is the dashboard's `Version`
    parameter, so a test can change one stack's parameters (an update) as a person's edit would."""
    from dataclasses import replace

    original = AwsProvider._render

    class Plan:
        version = "1"

    def render(self, pipeline):  # type: ignore[no-untyped-def]
        out = {}
        for n, s in original(self, pipeline).items():
            if s.kind == "Metrics":
                s = replace(s, parameters={**s.parameters, "Version": Plan.version})
            if s.kind in ("ServiceCatalogAppRegistry", "Metrics"):
                out[n] = s
        return out

    monkeypatch.setattr(AwsProvider, "_render", render)
    return Plan


@pytest.fixture
def crashes(monkeypatch, no_crash):  # type: ignore[no-untyped-def]
    """`crashes.at(n)`: the n-th crash point passed (reconciler points and AWS calls counted together)."""

    class Crashes:
        n = 0
        seen = 0

        def at(self, n: int) -> None:
            self.n, self.seen = n, 0

        def point(self, where: str) -> None:
            self.seen += 1
            if self.seen == self.n:
                raise Crash(where)

    crashes = Crashes()
    for name in MUTATIONS:
        original = getattr(cfn_api, name)

        def wrapped(*args: Any, _original: Any = original, _name: str = name, **kwargs: Any) -> Any:
            result = _original(*args, **kwargs)
            crashes.point(f"after {_name}")
            return result

        monkeypatch.setattr(cfn_api, name, wrapped)
    reconciler.CRASH_HOOK = lambda name, point: crashes.point(f"{name} {point}")
    return crashes


def run_with_crash(crashes, pipeline_pk: int, n: int) -> bool:  # type: ignore[no-untyped-def]
    crashes.at(n)
    try:
        reconcile(pipeline_pk=pipeline_pk)
    except Crash:
        crashes.at(0)
        reconcile(pipeline_pk=pipeline_pk)
        return True
    crashes.at(0)
    return False


def stacks() -> list[dict[str, Any]]:
    cfn = boto3.client("cloudformation", region_name=REGION)
    return [s for s in cfn.list_stacks()["StackSummaries"] if s["StackStatus"] != "DELETE_COMPLETE"]


def check(pipeline: Pipeline, *, state: set[str], version: str = "v1.2.0", n: int = 0) -> None:
    cfn = boto3.client("cloudformation", region_name=REGION)
    rows = list(PipelineResource.objects.unscoped().filter(pipeline=pipeline))
    assert {r.state for r in rows} <= state and len(rows) == 2
    names = [s["StackName"] for s in stacks() if pipeline.pipeline_id in s["StackName"]]
    assert sorted(names) == sorted(r.name for r in rows), f"crash point {n}"  # each stack once
    for row in rows:
        stack = cfn.describe_stacks(StackName=row.name)["Stacks"][0]
        assert stack["EnableTerminationProtection"] is True  # the step after the create was not lost
        body = cfn.get_template(StackName=row.name)["TemplateBody"]
        assert body["Metadata"]["Clickstream"]["TemplateVersion"] == version
        assert row.applied_hash == row.inputs_hash


def test_a_crash_after_any_step_of_create_update_upgrade_and_delete_converges(
    cast, account, network, two_stacks, crashes, monkeypatch
):
    from pipelines.services import pipeline_save

    def fresh() -> Pipeline:
        Pipeline.objects.unscoped().filter(project=cast.project_a).delete()
        spec = moto_spec(account, network)
        return pipeline_save(project=cast.project_a, spec=spec, author=None, expected_version=0).pipeline

    n, crashed = 1, True
    while crashed:  # create
        pipeline = fresh()
        crashed = run_with_crash(crashes, pipeline.pk, n)
        check(pipeline, state={"CREATE_COMPLETE"}, n=n)
        n += 1
    assert n > 2 * 6  # two stacks, six points each (three of the reconciler, three AWS calls)

    for n in range(1, 6):  # update: a new dashboard version reaches the Metrics stack
        two_stacks.version = str(n + 1)
        assert run_with_crash(crashes, pipeline.pk, n), f"update, crash point {n}"
        check(pipeline, state={"CREATE_COMPLETE", "UPDATE_COMPLETE"})
        metrics = PipelineResource.objects.unscoped().get(pipeline=pipeline, name__contains="Metrics")
        assert metrics.inputs["Version"] == str(n + 1) and metrics.state == "UPDATE_COMPLETE"

    for n in range(1, 11):  # upgrade: both stacks to a new template version
        monkeypatch.setattr("provisioning.aws.TEMPLATE_VERSION", f"v1.3.{n}")
        Deployment.objects.unscoped().filter(pipeline=pipeline).update(action="Upgrade")  # the Upgrade button
        assert run_with_crash(crashes, pipeline.pk, n), f"upgrade, crash point {n}"
        check(pipeline, state={"UPDATE_COMPLETE"}, version=f"v1.3.{n}")

    for n in range(1, 12):  # delete: two stacks, five points each (UpdateTerminationProtection, DeleteStack)
        pipeline = Pipeline.objects.unscoped().filter(project=cast.project_a).first() or fresh()
        reconcile(pipeline_pk=pipeline.pk)
        pipeline.delete_requested = pipeline.updated
        pipeline.save(update_fields=["delete_requested"])
        assert run_with_crash(crashes, pipeline.pk, n) == (n <= 10), f"delete, crash point {n}"
        assert not Pipeline.objects.unscoped().filter(pk=pipeline.pk).exists(), f"delete, crash point {n}"
        assert not [s for s in stacks() if pipeline.pipeline_id in s["StackName"]]

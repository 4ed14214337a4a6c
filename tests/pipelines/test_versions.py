"""Saving versions: history, the optimistic token, refusals of immutable fields, the signal to provisioning."""

from __future__ import annotations

import pytest

from pipelines import services
from pipelines.models import Pipeline, PipelineVersion
from pipelines.signals import pipeline_delete_requested, pipeline_saved
from pipelines.spec import SpecError
from tests.pipelines.specs import aws_spec, local_spec


@pytest.fixture
def saved(cast, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return services.pipeline_save(
            project=cast.project_a, spec=aws_spec(), author=cast.alice, expected_version=0
        )


def test_first_save_creates_the_pipeline_at_version_1_and_tells_provisioning(
    cast, django_capture_on_commit_callbacks
):
    received = []
    pipeline_saved.connect(lambda **kw: received.append(kw), weak=False, dispatch_uid="t1")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            version = services.pipeline_save(
                project=cast.project_a, spec=local_spec(), author=cast.alice, expected_version=0
            )
    finally:
        pipeline_saved.disconnect(dispatch_uid="t1")
    pipeline = Pipeline.objects.for_organization(cast.org_a).get()
    assert (version.number, version.author, version.summary) == (1, cast.alice, "Created.")
    assert pipeline.current_version == version and pipeline.provider == "local"
    assert received[0]["created"] is True and received[0]["version"] == version


def test_every_save_keeps_the_previous_version(cast, saved):
    second = services.pipeline_save(
        project=cast.project_a, spec=aws_spec(ingestion__server_max=8), author=cast.olivia, expected_version=1
    )
    assert second.number == 2 and second.summary == "Changed ingestion.server_max."
    assert list(PipelineVersion.objects.for_organization(cast.org_a).values_list("number", flat=True)) == [
        2,
        1,
    ]
    assert (
        PipelineVersion.objects.for_organization(cast.org_a).get(number=1).spec["ingestion"]["server_max"]
        == 4
    )


def test_saving_the_same_spec_again_adds_no_version(cast, saved):
    assert (
        services.pipeline_save(project=cast.project_a, spec=aws_spec(), author=cast.alice, expected_version=1)
        == saved
    )


def test_a_stale_version_token_is_a_conflict_not_a_lost_update(cast, saved):
    services.pipeline_save(
        project=cast.project_a, spec=aws_spec(ingestion__server_max=8), author=cast.olivia, expected_version=1
    )
    with pytest.raises(services.VersionConflict, match="Someone else saved"):
        services.pipeline_save(
            project=cast.project_a,
            spec=aws_spec(ingestion__server_max=6),
            author=cast.alice,
            expected_version=1,
        )
    assert Pipeline.objects.for_organization(cast.org_a).get().spec["ingestion"]["server_max"] == 8


def test_a_second_pipeline_for_the_project_is_a_conflict(cast, saved):
    with pytest.raises(services.VersionConflict):
        services.pipeline_save(
            project=cast.project_a, spec=local_spec(), author=cast.alice, expected_version=0
        )


@pytest.mark.parametrize(
    ("changes", "path", "words"),
    [
        ({"aws__region": "eu-west-1"}, "aws.region", "region they were created in"),
        ({"provider": "local"}, "provider", "provider is chosen"),
        ({"network__private_subnet_ids": ["subnet-1a", "subnet-1c"]}, "network.private_subnet_ids", "PrivateSubnetIds"),
        ({"ingestion__sink": {"type": "s3", "s3": {"buffer_size_mb": 10, "buffer_interval_seconds": 60}}},
         "ingestion.sink.type", "SinkType"),
        ({"ingestion__sink__kinesis__stream_mode": "PROVISIONED"}, "ingestion.sink.kinesis.stream_mode", "KinesisStreamMode"),
        ({"ingestion__infra_type": "Fargate"}, "ingestion.infra_type", "EcsInfraType"),
        ({"processing": None, "modeling": None}, "processing", "cannot be turned off"),
    ],
)  # fmt: skip
def test_fields_the_original_fixes_after_creation_are_refused_by_name(cast, saved, changes, path, words):
    with pytest.raises(SpecError) as error:
        services.pipeline_save(
            project=cast.project_a, spec=aws_spec(**changes), author=cast.alice, expected_version=1
        )
    found = {p.path: p.message for p in error.value.problems}
    assert path in found and words in found[path], found


def test_editable_fields_change(cast, saved):
    spec = aws_spec(
        ingestion__server_max=10, processing__schedule="rate(2 hours)", tags=[{"key": "team", "value": "web"}]
    )
    assert (
        services.pipeline_save(
            project=cast.project_a, spec=spec, author=cast.alice, expected_version=1
        ).number
        == 2
    )


def test_delete_is_requested_then_the_pipeline_refuses_changes(
    cast, saved, django_capture_on_commit_callbacks
):
    from provisioning.receivers import on_delete_requested

    received = []
    # Only the pipelines side of the contract: with the provider's receiver connected, the AWS provider
    # would carry the delete out at once (nothing was created), and there would be nothing left to refuse.
    pipeline_delete_requested.disconnect(on_delete_requested)
    pipeline_delete_requested.connect(lambda **kw: received.append(kw), weak=False, dispatch_uid="t2")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            services.pipeline_delete_request(pipeline=saved.pipeline)
    finally:
        pipeline_delete_requested.disconnect(dispatch_uid="t2")
        pipeline_delete_requested.connect(on_delete_requested)
    assert received and received[0]["pipeline"].delete_requested is not None
    with pytest.raises(SpecError, match="being deleted"):
        services.pipeline_save(
            project=cast.project_a,
            spec=aws_spec(ingestion__server_max=8),
            author=cast.alice,
            expected_version=1,
        )
    services.pipeline_remove(pipeline=received[0]["pipeline"])
    assert not Pipeline.objects.for_organization(cast.org_a).exists()
    assert not PipelineVersion.objects.for_organization(cast.org_a).exists()


def test_an_account_of_another_organization_is_refused(cast):
    from portal.models.aws import AwsAccount

    other = AwsAccount.objects.unscoped().create(
        organization=cast.org_b, name="Globex", role_arn="arn:aws:iam::210987654321:role/Portal"
    )
    with pytest.raises(SpecError) as error:
        services.pipeline_save(project=cast.project_a, spec=aws_spec(aws__account=str(other.uuid)), author=cast.alice,
                               expected_version=0)  # fmt: skip
    assert {p.path: p.message for p in error.value.problems}["aws.account"] == (
        "Choose one of the organization's connected AWS accounts."
    )

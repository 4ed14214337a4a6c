"""Admin is read-only: it shows each version with its diff, and today's rules applied to the current spec."""

from __future__ import annotations

import pytest

from pipelines import services
from pipelines.models import Pipeline, PipelineVersion
from tests.pipelines.specs import aws_spec


@pytest.fixture
def pipeline(cast):
    services.pipeline_save(project=cast.project_a, spec=aws_spec(), author=cast.alice, expected_version=0)
    services.pipeline_save(
        project=cast.project_a, spec=aws_spec(ingestion__server_max=8), author=cast.olivia, expected_version=1
    )
    return Pipeline.objects.for_organization(cast.org_a).get()


def test_pipeline_page_lists_versions_and_passes_the_rules(staff_client, pipeline):
    page = staff_client.get(f"/admin/pipelines/pipeline/{pipeline.pk}/change/").content.decode()
    assert "None: the current spec passes every rule." in page
    assert "olivia@example.com" in page and "Changed ingestion.server_max." in page


def test_stored_spec_that_breaks_todays_rules_shows_each_problem(staff_client, pipeline):
    PipelineVersion.objects.unscoped().filter(pk=pipeline.current_version_id).update(
        spec=aws_spec(processing__schedule="rate(2 minutes)", bucket__name="X")
    )
    page = staff_client.get(f"/admin/pipelines/pipeline/{pipeline.pk}/change/").content.decode()
    assert "processing.schedule" in page and "6 minutes" in page and "bucket.name" in page


def test_version_page_shows_the_diff(staff_client, pipeline):
    page = staff_client.get(
        f"/admin/pipelines/pipelineversion/{pipeline.current_version_id}/change/"
    ).content.decode()
    assert "<code>ingestion.server_max</code></td><td>4</td><td>8</td>" in page


def test_admin_cannot_change_or_delete(staff_client, pipeline):
    assert staff_client.get("/admin/pipelines/pipeline/add/").status_code == 403
    response = staff_client.post(f"/admin/pipelines/pipeline/{pipeline.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403
    assert Pipeline.objects.for_organization(pipeline.organization).exists()

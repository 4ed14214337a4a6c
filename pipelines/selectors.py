"""Reads the pipeline pages, API and validation share."""

from __future__ import annotations

from typing import Any

from pipelines.models import Pipeline, PipelineVersion
from pipelines.plan import ProjectFacts
from pipelines.plugins import plugin_names
from pipelines.spec import Context
from portal.models.aws import AwsAccount
from projects.models import Project


def pipeline_of(*, project: Project) -> Pipeline | None:
    return (
        Pipeline.objects.for_organization(project.organization)
        .select_related("current_version", "project", "organization")
        .filter(project=project)
        .first()
    )


def validation_context(*, project: Project, subnet_azs: dict[str, str] | None = None,
                       region_az_count: int | None = None) -> Context:  # fmt: skip
    return Context(
        project_id=project.project_id,
        app_ids=tuple(project.apps.values_list("app_id", flat=True)),
        transformers=plugin_names("transformer"),
        enrichers=plugin_names("enricher"),
        subnet_azs=subnet_azs or {},
        region_az_count=region_az_count,
        aws_accounts=tuple(str(a.uuid) for a in aws_accounts(organization=project.organization)),
    )


def aws_accounts(*, organization: Any) -> list[AwsAccount]:
    return list(AwsAccount.objects.for_organization(organization).order_by("name"))


def project_facts(*, project: Project, pipeline: Pipeline | None) -> ProjectFacts:
    return ProjectFacts(
        project_id=project.project_id,
        pipeline_id=pipeline.pipeline_id if pipeline else "<new>",
        app_timezones=dict(project.apps.values_list("app_id", "timezone")),
        emails=tuple(project.email_list),
        dev_mode=project.environment == "Dev",
    )


def version_list(*, pipeline: Pipeline) -> list[PipelineVersion]:
    return list(pipeline.versions.select_related("author").order_by("-number"))


def version_diff(*, version: PipelineVersion) -> list[dict[str, Any]]:
    """The field-by-field changes this version made to the one before it (all fields for the first)."""
    from pipelines.spec import diff

    previous = version.pipeline.versions.filter(number__lt=version.number).order_by("-number").first()
    return [
        {"path": path, "old": old, "new": new}
        for path, old, new in diff(previous.spec if previous else {}, version.spec)
    ]

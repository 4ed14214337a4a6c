"""The renderer: for a pipeline spec, one CloudFormation template per module stack the spec enables, with the
parameters the control plane sends it (spec/control-plane.md §3.1–§3.3).

The stacks and their parameters come from `pipelines.plan.plan_for` — one answer for the review, the update
refusals and the templates. Each template declares exactly the parameters of the contract (those the plan
sends, and those it may omit with their defaults) and the outputs §3.3 matches by suffix, so one stack's
outputs, passed as `#.<stack>.<Output>` placeholders, feed the next. A template depends on the spec only for
what a parameter cannot change (sink, infra type, Redshift mode, optional parts); everything an update may
change is a parameter.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pipelines.plan import ProjectFacts, plan_for
from provisioning.aws import TEMPLATE_VERSION
from provisioning.aws.common import BOUNDARY, Stack
from provisioning.aws.context import RenderContext
from provisioning.aws.stacks import (
    appregistry,
    athena,
    ingestion,
    kafka_connector,
    metrics,
    processing,
    redshift,
    reporting,
)
from provisioning.aws.stacks.ingestion import GLOBAL_ACCELERATOR_REGIONS

BUILDERS: dict[str, Callable[[RenderContext], Stack]] = {
    "ServiceCatalogAppRegistry": appregistry.build,
    "Metrics": metrics.build,
    "Ingestion": ingestion.build,
    "KafkaConnector": kafka_connector.build,
    "DataProcessing": processing.build,
    "DataModelingAthena": athena.build,
    "DataModelingRedshift": redshift.build,
    "Reporting": reporting.build,
}


class RenderError(ValueError):
    """The spec asks for something the region or this renderer cannot provide."""


@dataclass(frozen=True)
class RenderedStack:
    kind: str
    template: dict[str, Any]
    parameters: dict[str, str]
    depends_on: tuple[str, ...] = ()
    tags: tuple[tuple[str, str], ...] = ()


def render_stacks(
    *,
    spec: dict[str, Any],
    project_id: str,
    pipeline_id: str,
    apps: dict[str, str],
    emails: tuple[str, ...] = (),
    dev_mode: bool = False,
    permissions_boundary_arn: str = "",
    template_version: str = TEMPLATE_VERSION,
) -> dict[str, RenderedStack]:
    """Stack name → template and parameter values. `apps` maps each app id to its time zone."""
    facts = ProjectFacts(project_id=project_id, pipeline_id=pipeline_id, app_timezones=apps, emails=emails,
                         dev_mode=dev_mode, template_version=template_version)  # fmt: skip
    plan = plan_for(spec=spec, facts=facts)
    if plan.provider != "aws":
        raise RenderError("Only an aws pipeline has CloudFormation templates.")
    ctx = RenderContext(spec=spec, project_id=project_id, app_ids=tuple(sorted(apps)),
                        region=str(spec.get("aws", {}).get("region")), timezones=tuple(sorted(apps.items())))  # fmt: skip
    if ctx.get("ingestion.global_accelerator") and ctx.region not in GLOBAL_ACCELERATOR_REGIONS:
        raise RenderError(f"Global Accelerator is not offered for endpoints in {ctx.region}; turn it off.")
    if any(r.kind == "Reporting" for r in plan.resources) and len(apps) > reporting.MAX_APPS:
        raise RenderError(f"The preset dashboards cover at most {reporting.MAX_APPS} apps in one pipeline (a "
                          f"CloudFormation template holds at most 1 MB); this project has {len(apps)}.")  # fmt: skip
    out = {}
    for resource in plan.resources:
        builder = BUILDERS.get(resource.kind)
        if builder is None:  # Streaming (Managed Flink) is not rendered by this provider
            continue
        template = builder(ctx).to_dict()
        parameters = resource.values()
        if permissions_boundary_arn and BOUNDARY in template["Parameters"]:
            parameters[BOUNDARY] = permissions_boundary_arn
        out[resource.name] = RenderedStack(
            resource.kind, template, parameters, resource.depends_on, resource.tags
        )
    return out

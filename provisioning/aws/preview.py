"""The templates of a saved pipeline, as the portal shows and offers them for download (issue 14 §4)."""

from __future__ import annotations

from typing import Any

from pipelines.models import Pipeline
from pipelines.selectors import project_facts
from provisioning.aws.render import RenderedStack, render_stacks


def pipeline_templates(*, pipeline: Pipeline) -> dict[str, RenderedStack]:
    """Stack name → template and parameters of the pipeline's current version (RenderError if not aws)."""
    facts = project_facts(project=pipeline.project, pipeline=pipeline)
    return render_stacks(spec=pipeline.spec, project_id=facts.project_id, pipeline_id=facts.pipeline_id,
                         apps=facts.app_timezones, emails=facts.emails, dev_mode=facts.dev_mode)  # fmt: skip


def parameters_file(stack: RenderedStack) -> list[dict[str, Any]]:
    """The parameters in CloudFormation's `--parameters file://…` form."""
    return [{"ParameterKey": k, "ParameterValue": v} for k, v in sorted(stack.parameters.items())]

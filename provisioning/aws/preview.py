"""The templates of a saved pipeline, as the portal shows and offers them for download (issue 14 §4).

One answer for the pipeline page, the API and `manage.py pipeline_templates`: the same stacks, the same file
names (`<stack>.json`, `<stack>.parameters.json`) and the same file contents everywhere.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from typing import Any

from pipelines.models import Pipeline
from pipelines.selectors import project_facts
from provisioning.aws.render import RenderedStack, RenderError, render_stacks

LOCAL_PIPELINE = (
    "Templates exist only for AWS pipelines: this pipeline runs on the local provider, which makes folders "
    "and schedules on this machine rather than CloudFormation stacks."
)


def pipeline_templates(*, pipeline: Pipeline) -> dict[str, RenderedStack]:
    """Stack name → template and parameters of the pipeline's current version, in the DAG order.

    RenderError (with a message a person can act on) for a local pipeline, one not saved yet, or a spec the
    region cannot provide."""
    if pipeline.provider != "aws":
        raise RenderError(LOCAL_PIPELINE)
    if pipeline.current_version is None:
        raise RenderError("The pipeline has no saved version yet: save it to see its templates.")
    facts = project_facts(project=pipeline.project, pipeline=pipeline)
    return render_stacks(spec=pipeline.spec, project_id=facts.project_id, pipeline_id=facts.pipeline_id,
                         apps=facts.app_timezones, emails=facts.emails, dev_mode=facts.dev_mode)  # fmt: skip


def stack_of_kind(stacks: dict[str, RenderedStack], kind: str) -> tuple[str, RenderedStack] | None:
    """The stack a URL names by its kind (`Ingestion`): one stack per kind in a pipeline."""
    return next(((name, s) for name, s in stacks.items() if s.kind == kind), None)


def kind_of(stacks: dict[str, RenderedStack], name: str) -> str:
    return stacks[name].kind if name in stacks else name


def parameters_file(stack: RenderedStack) -> list[dict[str, Any]]:
    """The parameters in CloudFormation's `--parameters file://…` form."""
    return [{"ParameterKey": k, "ParameterValue": v} for k, v in sorted(stack.parameters.items())]


def template_text(stack: RenderedStack) -> str:
    return json.dumps(stack.template, indent=2, sort_keys=True) + "\n"


def parameters_text(stack: RenderedStack) -> str:
    return json.dumps(parameters_file(stack), indent=2) + "\n"


def stack_files(name: str, stack: RenderedStack) -> dict[str, str]:
    """File name → content of a stack's two files."""
    return {f"{name}.json": template_text(stack), f"{name}.parameters.json": parameters_text(stack)}


def templates_zip(stacks: dict[str, RenderedStack]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, stack in stacks.items():
            for filename, content in stack_files(name, stack).items():
                archive.writestr(filename, content)
    return buffer.getvalue()


@dataclass(frozen=True)
class ParameterRow:
    """A template parameter as the preview shows it: what is sent, or the default that applies."""

    key: str
    type: str
    value: str
    sent: bool
    default: str
    allowed_values: tuple[str, ...]
    description: str
    output_of: str  # the stack whose output the reconciler puts in (`#.<stack>.<Output>`), else ''


def parameter_rows(stack: RenderedStack) -> list[ParameterRow]:
    rows = []
    for key, definition in sorted(stack.template.get("Parameters", {}).items()):
        default = "" if "Default" not in definition else str(definition["Default"])
        value = stack.parameters.get(key, default)
        output_of = value.split(".")[1] if value.startswith("#.") and value.count(".") >= 2 else ""
        rows.append(ParameterRow(
            key=key, type=str(definition.get("Type", "String")), value=value, sent=key in stack.parameters,
            default=default, allowed_values=tuple(map(str, definition.get("AllowedValues", ()))),
            description=str(definition.get("Description", "")), output_of=output_of,
        ))  # fmt: skip
    return rows

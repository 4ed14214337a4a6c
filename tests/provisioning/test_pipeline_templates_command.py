"""`manage.py pipeline_templates <org> <project> --out DIR` writes each stack's template and parameters."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from pipelines.models import Pipeline, PipelineVersion
from tests.provisioning.aws.specs import make_spec


def _pipeline(cast, spec):  # type: ignore[no-untyped-def]
    pipeline = Pipeline.objects.unscoped().create(
        organization=cast.org_a, project=cast.project_a, provider="aws"
    )
    version = PipelineVersion.objects.unscoped().create(
        organization=cast.org_a, pipeline=pipeline, number=1, spec=spec
    )
    pipeline.current_version = version
    pipeline.save(update_fields=["current_version"])
    return pipeline


def test_writes_every_stack_and_its_parameters(cast, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pipeline = _pipeline(cast, make_spec(sink="s3", redshift=None, reporting=False))
    call_command("pipeline_templates", "org-a", "shop", "--out", str(tmp_path))
    kinds = ["ServiceCatalogAppRegistry", "Metrics", "Ingestion", "DataProcessing", "DataModelingAthena"]
    names = {f"Clickstream-{k}-{pipeline.pipeline_id}" for k in kinds}
    assert {p.name for p in tmp_path.iterdir()} == {f"{n}.json" for n in names} | {
        f"{n}.parameters.json" for n in names
    }
    ingestion = f"Clickstream-Ingestion-{pipeline.pipeline_id}"
    template = json.loads((tmp_path / f"{ingestion}.json").read_text())
    parameters = json.loads((tmp_path / f"{ingestion}.parameters.json").read_text())
    assert {"ParameterKey": "AppIds", "ParameterValue": "web"} in parameters
    assert {p["ParameterKey"] for p in parameters} <= set(template["Parameters"])
    metrics = json.loads(
        (tmp_path / f"Clickstream-Metrics-{pipeline.pipeline_id}.parameters.json").read_text()
    )
    # The e-mails are the notifications sync's to subscribe, not the template's.
    assert {"ParameterKey": "ProjectId", "ParameterValue": "shop"} in metrics
    assert "Emails" not in {p["ParameterKey"] for p in metrics}


def test_clear_errors(cast, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(CommandError, match="No organization"):
        call_command("pipeline_templates", "nope", "shop", "--out", str(tmp_path))
    with pytest.raises(CommandError, match="no pipeline yet"):
        call_command("pipeline_templates", "org-a", "shop", "--out", str(tmp_path))
    with pytest.raises(CommandError, match="No project 'other'"):
        call_command("pipeline_templates", "org-a", "other", "--out", str(tmp_path))
    spec = make_spec(redshift="provisioned", region="af-south-1")
    spec["ingestion"]["global_accelerator"] = True
    _pipeline(cast, spec)
    with pytest.raises(CommandError, match="Global Accelerator is not offered"):
        call_command("pipeline_templates", "org-a", "shop", "--out", str(tmp_path))

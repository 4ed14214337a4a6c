from __future__ import annotations

import json
from pathlib import Path

import pytest


@pytest.fixture
def machine(settings, tmp_path):  # type: ignore[no-untyped-def]
    """This machine's lake and collector allow-list, in a temporary folder."""
    settings.CLICKSTREAM_LAKE_DIR = tmp_path / "lake"
    settings.CLICKSTREAM_ALLOWLIST_FILE = tmp_path / "allowlist.json"
    settings.CLICKSTREAM_INGESTION_ENDPOINT = "http://127.0.0.1:8001/collect"

    class Machine:
        lake = tmp_path / "lake"
        allowlist_file = tmp_path / "allowlist.json"

        def allowlist(self) -> dict[str, str]:  # the collector's view: app id → project id
            path: Path = self.allowlist_file
            if not path.exists():
                return {}
            return {a: e["project_id"] for a, e in json.loads(path.read_text())["apps"].items()}

    return Machine()


@pytest.fixture
def save(django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    """Save a spec as the project's next version, running what commits start (the reconciler, inline)."""
    from pipelines import services

    def _save(project, spec, *, expected=None, author=None):  # type: ignore[no-untyped-def]
        pipeline = getattr(project, "pipeline", None) if expected is None else None
        if expected is None:
            from pipelines.models import Pipeline

            pipeline = Pipeline.objects.unscoped().filter(project=project).first()
            expected = pipeline.version_number if pipeline else 0
        with django_capture_on_commit_callbacks(execute=True):
            return services.pipeline_save(
                project=project, spec=spec, author=author, expected_version=expected
            )

    return _save

"""The local provider: a pipeline on this machine, made of four steps (`pipelines.plan._local_steps`).

- `lake`: the project's folders in the data lake the collector writes to and the ETL reads;
- `allowlist`: the project's app ids in the collector's allow-list file (`provisioning.allowlist`);
- `processing`: a django-q2 schedule that runs the project's ETL at the pipeline's interval;
- `warehouse`: the project's DuckDB file beside its lake folders.

Each action is idempotent (create a folder that exists, write the same entries, update-or-create the
schedule), so running one again after a crash is safe. Data (lake, warehouse) is removed only when the person
deleting the pipeline asked for it.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

from django.conf import settings

from pipelines.models import Pipeline
from pipelines.plan import plan_for
from pipelines.selectors import project_facts
from provisioning.allowlist import AppIdTaken, allowlist_publish, allowlist_withdraw, pipeline_entries
from provisioning.models import PipelineResource
from provisioning.providers.base import MISSING, Desired, Outcome

DEFAULT_LAKE = "var/lake"
OWNER_FILE = ".pipeline"  # which pipeline a project's lake folder belongs to
PROCESSING_TASK = "provisioning.tasks.processing_enqueue"


def lake_root(spec: dict[str, Any]) -> Path:
    """The lake a local pipeline writes to: the configured lake (`CLICKSTREAM_LAKE_DIR`, where `make run`'s
    collector and the ETL look) unless the spec names another folder."""
    lake = str((spec.get("local") or {}).get("lake_dir") or DEFAULT_LAKE)
    if lake == DEFAULT_LAKE:
        return Path(settings.CLICKSTREAM_LAKE_DIR)
    path = Path(lake)
    return path if path.is_absolute() else Path(settings.BASE_DIR) / path


def project_folder(pipeline: Pipeline) -> Path:
    return lake_root(pipeline.spec) / "clickstream" / pipeline.project.project_id


def schedule_name(pipeline: Pipeline) -> str:
    return f"clickstream: process {pipeline.project.project_id} ({pipeline.pipeline_id})"


def schedule_fields(expression: str) -> dict[str, Any]:
    """`rate(N minutes|hours|days)` or a six-field `cron(...)` as django-q2 schedule fields."""
    from django_q.models import Schedule

    rate = re.fullmatch(r"rate\((\d+) (minute|hour|day)s?\)", expression.strip())
    if rate:
        minutes = int(rate.group(1)) * {"minute": 1, "hour": 60, "day": 1440}[rate.group(2)]
        return {"schedule_type": Schedule.MINUTES, "minutes": minutes, "cron": None}
    cron = re.fullmatch(r"cron\((.+)\)", expression.strip())
    if cron and len(cron.group(1).split()) == 6:
        fields = [f.replace("?", "*") for f in cron.group(1).split()[:5]]  # the year field has no equal
        return {"schedule_type": Schedule.CRON, "cron": " ".join(fields), "minutes": None}
    raise ValueError(f"schedule expression {expression!r} is neither rate(...) nor a six-field cron(...)")


class LocalProvider:
    def plan(self, pipeline: Pipeline) -> list[Desired]:
        facts = project_facts(project=pipeline.project, pipeline=pipeline)
        return [
            Desired(r.name, r.kind, r.depends_on, r.values())
            for r in plan_for(spec=pipeline.spec, facts=facts).resources
        ]

    def apply(self, pipeline: Pipeline, desired: Desired, *, record: PipelineResource) -> Outcome:
        return getattr(self, f"_apply_{desired.name}")(pipeline, desired.inputs)

    def read(self, pipeline: Pipeline, record: PipelineResource, *, deleting: bool) -> Outcome:
        there = getattr(self, f"_exists_{record.name}")(pipeline, record.inputs)
        return Outcome.complete(**record.outputs) if there else MISSING

    def delete(self, pipeline: Pipeline, record: PipelineResource, *, delete_data: bool) -> Outcome:
        return getattr(self, f"_delete_{record.name}")(pipeline, delete_data)

    # --- lake ------------------------------------------------------------------------------------------
    def _apply_lake(self, pipeline: Pipeline, inputs: dict[str, str]) -> Outcome:
        root = project_folder(pipeline)
        owner = root / OWNER_FILE
        if owner.is_file() and owner.read_text().strip() != pipeline.pipeline_id:
            return Outcome.failed(
                f"Project id {pipeline.project.project_id} already has its lake folder on this machine, "
                "for another project (of another organization): project ids must be unique on one machine. "
                "Create the pipeline in a project with another id."
            )
        root.mkdir(parents=True, exist_ok=True)
        owner.write_text(pipeline.pipeline_id)
        for sub in ("data/buffer", "data/ods", "job-data"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        return Outcome.complete(path=str(root))

    def _exists_lake(self, pipeline: Pipeline, inputs: dict[str, str]) -> bool:
        owner = project_folder(pipeline) / OWNER_FILE
        return owner.is_file() and owner.read_text().strip() == pipeline.pipeline_id

    def _delete_lake(self, pipeline: Pipeline, delete_data: bool) -> Outcome:
        owner = project_folder(pipeline) / OWNER_FILE
        if not owner.is_file() or owner.read_text().strip() != pipeline.pipeline_id:
            return Outcome.complete(data_kept=True)  # never made, or another pipeline's: not ours to remove
        if delete_data:
            shutil.rmtree(project_folder(pipeline), ignore_errors=True)
        else:
            owner.unlink()  # the data stays; a new pipeline of the project may take the folder over
        return Outcome.complete(data_kept=not delete_data)

    # --- allow-list ------------------------------------------------------------------------------------
    def _apply_allowlist(self, pipeline: Pipeline, inputs: dict[str, str]) -> Outcome:
        app_ids = [a for a in inputs.get("AppIds", "").split(",") if a]
        try:
            allowlist_publish(
                pipeline_id=pipeline.pipeline_id, project_id=pipeline.project.project_id, app_ids=app_ids
            )
        except AppIdTaken as exc:
            return Outcome.failed(str(exc))
        return Outcome.complete(app_ids=app_ids, endpoint=settings.CLICKSTREAM_INGESTION_ENDPOINT)

    def _exists_allowlist(self, pipeline: Pipeline, inputs: dict[str, str]) -> bool:
        wanted = sorted(a for a in inputs.get("AppIds", "").split(",") if a)
        return pipeline_entries(pipeline_id=pipeline.pipeline_id) == wanted

    def _delete_allowlist(self, pipeline: Pipeline, delete_data: bool) -> Outcome:
        allowlist_withdraw(pipeline_id=pipeline.pipeline_id)
        return Outcome.complete()

    # --- processing schedule ---------------------------------------------------------------------------
    def _apply_processing(self, pipeline: Pipeline, inputs: dict[str, str]) -> Outcome:
        from django_q.models import Schedule

        try:
            fields = schedule_fields(inputs["ScheduleExpression"])
        except ValueError as exc:
            return Outcome.failed(str(exc))
        schedule, _ = Schedule.objects.update_or_create(
            name=schedule_name(pipeline),
            defaults={"func": PROCESSING_TASK, "args": repr((pipeline.project.pk,)), "repeats": -1, **fields},
        )
        return Outcome.complete(schedule=schedule.name, next_run=schedule.next_run.isoformat())

    def _exists_processing(self, pipeline: Pipeline, inputs: dict[str, str]) -> bool:
        from django_q.models import Schedule

        return Schedule.objects.filter(name=schedule_name(pipeline)).exists()

    def _delete_processing(self, pipeline: Pipeline, delete_data: bool) -> Outcome:
        from django_q.models import Schedule

        Schedule.objects.filter(name=schedule_name(pipeline)).delete()
        return Outcome.complete()

    # --- warehouse -------------------------------------------------------------------------------------
    def _apply_warehouse(self, pipeline: Pipeline, inputs: dict[str, str]) -> Outcome:
        import duckdb

        path = project_folder(pipeline) / "warehouse.duckdb"
        path.parent.mkdir(parents=True, exist_ok=True)
        duckdb.connect(str(path)).close()  # creates the file; opening an existing one changes nothing
        return Outcome.complete(database=str(path))

    def _exists_warehouse(self, pipeline: Pipeline, inputs: dict[str, str]) -> bool:
        return (project_folder(pipeline) / "warehouse.duckdb").is_file()

    def _delete_warehouse(self, pipeline: Pipeline, delete_data: bool) -> Outcome:
        if delete_data:
            (project_folder(pipeline) / "warehouse.duckdb").unlink(missing_ok=True)
            (project_folder(pipeline) / "warehouse.duckdb.wal").unlink(missing_ok=True)
        return Outcome.complete(data_kept=not delete_data)

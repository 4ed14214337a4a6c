"""The reconciler: one piece of code for every provider.

Each step runs in its own transaction with the pipeline row locked (`select_for_update`), so two workers
never both act on one pipeline: the second waits, then sees what the first recorded. A step compares what
the current version wants (the provider's plan, each resource's inputs hash) with what is recorded
(`PipelineResource`) and takes the next action for one resource whose dependencies are settled:

- a resource in progress is read back (a stack still being created on AWS);
- a desired resource whose inputs differ from those last tried is applied (created or updated), once every
  resource it depends on is done with the inputs now wanted; one that failed with the same inputs waits for a
  retry or a new version;
- a recorded resource no longer wanted (or every resource, when deleting) is deleted once nothing that
  depends on it is left — the plan's order, reversed.

The action and its record commit together; a crash before the commit leaves the record as it was and the
next run does the (idempotent) action again. When no step is left the run is recorded as finished; when
deleting and nothing is left, the pipeline itself is removed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from pipelines.models import Pipeline
from provisioning.choices import Action, ResourceState, RunState, is_done, is_failed, is_in_progress
from provisioning.models import Deployment, PipelineResource
from provisioning.providers import provider_for
from provisioning.providers.base import Desired, Outcome, Provider

# Tests set this to crash the reconciler at a point: called with (resource name, point), where point is
# "before" (the action), "after-action" (done, not yet recorded) or "after-commit".
CRASH_HOOK: Callable[[str, str], None] | None = None

Log = Callable[[str], object]


@dataclass
class ReconcileResult:
    steps: list[str] = field(default_factory=list)
    waiting: bool = False  # something is still in progress: run again later
    removed: bool = False  # the pipeline was deleted


def reconcile(*, pipeline_pk: int, log: Log | None = None) -> ReconcileResult:
    """Take steps until none is left for now."""
    result = ReconcileResult()
    read: set[str] = set()
    while True:
        step = reconcile_step(pipeline_pk=pipeline_pk, skip_reads=read, log=log)
        if step is None:
            break
        result.steps.append(step)
        if step.startswith("read "):
            read.add(step.removeprefix("read "))
    state = _final_state(pipeline_pk)
    result.removed, result.waiting = state is None, bool(state)
    return result


def reconcile_step(
    *, pipeline_pk: int, skip_reads: set[str] | None = None, log: Log | None = None
) -> str | None:
    """One step for one resource, or the end of the run; returns what was done (None: nothing left)."""
    with transaction.atomic():
        pipeline = Pipeline.objects.unscoped().select_for_update().filter(pk=pipeline_pk).first()
        if pipeline is None:
            return None
        deployment = deployment_of(pipeline)
        provider = provider_for(pipeline)
        deleting = pipeline.delete_requested is not None
        desired = [] if deleting else provider.plan(pipeline)
        records = {r.name: r for r in PipelineResource.objects.unscoped().filter(pipeline=pipeline)}
        _record_plan(pipeline, desired, records)
        step = _next_step(desired, records, skip_reads or set())
        if step is None:
            _finish(pipeline, deployment, records, deleting=deleting)
            return None
        verb, target = step
        name = target.name
        _crash(name, "before")
        _take(provider, pipeline, deployment, verb, target, records)
        _crash(name, "after-action")
    if log:
        log(f"{verb} {name}")
    _crash(name, "after-commit")
    return f"{verb} {name}"


def deployment_of(pipeline: Pipeline) -> Deployment:
    deployment, _ = Deployment.objects.unscoped().get_or_create(
        pipeline=pipeline, defaults={"organization_id": pipeline.organization_id}
    )
    return deployment


def _crash(name: str, point: str) -> None:
    if CRASH_HOOK is not None:
        CRASH_HOOK(name, point)


def _record_plan(pipeline: Pipeline, desired: list[Desired], records: dict[str, PipelineResource]) -> None:
    """Rows for planned resources not yet recorded, so the page shows every step still to go."""
    for position, d in enumerate(desired):
        record = records.get(d.name)
        if record is None:
            records[d.name] = PipelineResource.objects.unscoped().create(
                organization_id=pipeline.organization_id, pipeline=pipeline, name=d.name, kind=d.kind,
                position=position, depends_on=list(d.depends_on),
            )  # fmt: skip
        elif record.position != position:
            record.position = position
            record.save(update_fields=["position", "updated"])


def _next_step(
    desired: list[Desired], records: dict[str, PipelineResource], skip_reads: set[str]
) -> tuple[str, Desired | PipelineResource] | None:
    for record in records.values():
        if is_in_progress(record.state) and record.name not in skip_reads:
            return "read", record
    wanted = {d.name: d for d in desired}
    for d in desired:
        record = records[d.name]
        if is_in_progress(record.state) or not _needs_apply(d, record):
            continue
        if all(_settled(wanted[dep], records.get(dep)) for dep in d.depends_on if dep in wanted):
            return "apply", d
    for record in reversed(list(records.values())):
        if record.name in wanted or record.state in (
            ResourceState.DELETE_COMPLETE,
            ResourceState.DELETE_FAILED,
        ):
            continue
        if is_in_progress(record.state):
            continue
        dependents = [
            r for r in records.values()
            if record.name in r.depends_on and r.name not in wanted and r.state != ResourceState.DELETE_COMPLETE
        ]  # fmt: skip
        if not dependents:
            return "delete", record
    return None


def _needs_apply(d: Desired, record: PipelineResource) -> bool:
    if record.state in (ResourceState.PENDING, ResourceState.DELETE_COMPLETE):
        return True
    # Done, or failed with these inputs (a retry or a new version moves it): nothing to do.
    return record.inputs_hash != d.inputs_hash


def _settled(d: Desired, record: PipelineResource | None) -> bool:
    return record is not None and is_done(record.state) and record.applied_hash == d.inputs_hash


def _take(provider: Provider, pipeline: Pipeline, deployment: Deployment, verb: str,
          target: Desired | PipelineResource, records: dict[str, PipelineResource]) -> None:  # fmt: skip
    if verb == "apply":
        assert isinstance(target, Desired)
        record = records[target.name]
        stage = "CREATE" if not record.applied_hash else "UPDATE"
        record.kind, record.depends_on, record.inputs = target.kind, list(target.depends_on), target.inputs
        record.inputs_hash, record.template_version = target.inputs_hash, target.template_version
        outcome = provider.apply(pipeline, target, record=record)
    elif verb == "delete":
        assert isinstance(target, PipelineResource)
        record, stage = target, "DELETE"
        outcome = provider.delete(pipeline, record, delete_data=deployment.delete_data)
    else:
        assert isinstance(target, PipelineResource)
        record, stage = target, _stage(target.state)
        outcome = provider.read(pipeline, record, deleting=stage == "DELETE")
    _record(record, stage, outcome, version=pipeline.version_number)
    if stage == "DELETE" and record.state == ResourceState.DELETE_COMPLETE and not pipeline.delete_requested:
        record.delete()  # no longer in the plan, and gone
        records.pop(record.name)
    else:
        record.save()


def _record(record: PipelineResource, stage: str, outcome: Outcome, *, version: int) -> None:
    if outcome.status == "MISSING":
        if stage == "DELETE":
            outcome = Outcome.complete()
        else:
            record.state, record.inputs_hash = ResourceState.PENDING, ""
            record.add_event("not found when read back; it will be made again")
            return
    record.state = outcome.state or f"{stage}_{outcome.status}"
    record.reason = outcome.reason
    if outcome.status == "COMPLETE":
        record.outputs = {**record.outputs, **outcome.outputs}
        if stage != "DELETE":
            record.applied_hash, record.applied_version = record.inputs_hash, version
    record.add_event(outcome.reason or _done_message(stage, outcome.status))


def _stage(state: str) -> str:
    """The change a recorded state belongs to: `UPDATE_ROLLBACK_IN_PROGRESS` is an update's; a stack's
    `ROLLBACK_IN_PROGRESS` or `REVIEW_IN_PROGRESS` happens only while it is created."""
    first = state.split("_", 1)[0]
    return first if first in ("CREATE", "UPDATE", "DELETE") else "CREATE"


def _done_message(stage: str, status: str) -> str:
    verb = {"CREATE": "create", "UPDATE": "update", "DELETE": "delete"}[stage]
    return {"COMPLETE": f"{verb}d", "IN_PROGRESS": f"{verb} started", "FAILED": f"{verb} failed"}[status]


def _finish(pipeline: Pipeline, deployment: Deployment, records: dict[str, PipelineResource], *,
            deleting: bool) -> None:  # fmt: skip
    states = [r.state for r in records.values()]
    if any(is_in_progress(s) for s in states):
        return
    if deleting and all(s == ResourceState.DELETE_COMPLETE for s in states):
        from pipelines.services import pipeline_remove

        pipeline_remove(pipeline=pipeline)
        return
    failed = [r for r in records.values() if is_failed(r.state)]
    run_state = RunState.FAILED if failed else RunState.SUCCEEDED
    reason = "; ".join(f"{r.name}: {r.reason}" for r in failed)
    if deployment.run_state != run_state or deployment.finished is None or deployment.reason != reason:
        deployment.run_state, deployment.reason, deployment.finished = run_state, reason, timezone.now()
        deployment.save()
    endpoint = next((r.outputs["endpoint"] for r in records.values() if r.outputs.get("endpoint")), "")
    if not deleting and endpoint and pipeline.ingestion_endpoint != endpoint:
        pipeline.ingestion_endpoint = endpoint
        pipeline.save(update_fields=["ingestion_endpoint", "updated"])


def _final_state(pipeline_pk: int) -> bool | None:
    """None when the pipeline is gone, else whether a resource is still in progress."""
    if not Pipeline.objects.unscoped().filter(pk=pipeline_pk).exists():
        return None
    states = (
        PipelineResource.objects.unscoped().filter(pipeline_id=pipeline_pk).values_list("state", flat=True)
    )
    return any(is_in_progress(s) for s in states)


__all__ = ["CRASH_HOOK", "Action", "ReconcileResult", "reconcile", "reconcile_step"]

"""The scheduled refresh of settled AWS pipelines: stack states and drift, alarm states, e-mail subscriptions.

It is batched per account and region, never per pipeline, so its describe calls grow with the stacks and
alarms there (one page per 100), not with one call per pipeline:
- DescribeStacks once, paginated, over every stack of the region; ours are picked by name;
- DescribeAlarms once, paginated, by our alarm name prefix `Clickstream|`; each alarm is matched to its
  stack by the short stack id that ends its name (`spec/control-plane.md` §4.1);
- ListSubscriptionsByTopic once per project topic: the portal's role may read only our topics'
  subscriptions (`portal/aws_accounts.py`), so the account-wide ListSubscriptions is not ours to call;
- drift detection is per stack by nature (DetectStackDrift, DescribeStackDriftDetectionStatus until done,
  DescribeStackResourceDrifts for a drifted one), so it runs at most once per `DRIFT_EVERY` for a stack.

Pipelines the reconciler is working on are its own: the refresh reads only those whose run is over, and
writes a resource only while its pipeline, locked, is still so.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError
from django.db import transaction
from django.utils import timezone

from pipelines.models import Pipeline
from portal import aws
from portal.jobs import is_transient
from portal.models.aws import AwsAccount
from provisioning.aws import alarms, notifications
from provisioning.aws.target import pipeline_account, pipeline_region
from provisioning.choices import DriftState, ResourceState, RunState
from provisioning.models import PipelineResource
from provisioning.selectors import pipeline_state

Log = Callable[..., Any]
DRIFT_EVERY = timedelta(hours=6)
DRIFT_WAIT_SECONDS = 60.0  # how long one refresh waits for its detections; the rest are read next time
DRIFT_POLL_SECONDS = 3.0
# The stack states DetectStackDrift accepts (it refuses a stack that is changing or never got created).
DRIFT_CHECKABLE = ("CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "UPDATE_ROLLBACK_FAILED")
# Resources whose drift is ours on purpose: the notification sync changes the e-mail subscriptions as the
# project's addresses change; Metrics stacks made before the sync owned them have subscriptions of their own.
OWNED_BY_THE_SYNC = {("Metrics", "AWS::SNS::Subscription")}


@dataclass
class RegionResult:
    pipelines: int = 0
    stacks: int = 0
    changed: int = 0
    drift_checked: int = 0
    drifted: int = 0
    alarms: int = 0
    subscriptions: int = 0
    errors: list[str] = field(default_factory=list)


def settled_pipelines(*, account: AwsAccount) -> list[Pipeline]:
    """The account's AWS pipelines the reconciler is not working on (its run is over).

    Judged by the run, not by the status: a stack someone changes outside makes the pipeline Updating, and
    only the refresh will see it settle again.
    """
    candidates = (
        Pipeline.objects.for_organization(account.organization)
        .filter(provider="aws", delete_requested__isnull=True, current_version__isnull=False)
        .select_related("project", "current_version", "organization")
    )
    return [
        p
        for p in candidates
        if str((p.spec.get("aws") or {}).get("account")) == str(account.uuid) and _idle(p)
    ]


def _idle(pipeline: Pipeline) -> bool:
    return pipeline_state(pipeline=pipeline).run_state != RunState.RUNNING


def account_refresh(*, account: AwsAccount, log: Log) -> dict[str, Any]:
    """Refresh every settled pipeline of the account, one batch per region."""
    by_region: dict[str, list[Pipeline]] = defaultdict(list)
    for pipeline in settled_pipelines(account=account):
        by_region[pipeline_region(pipeline)].append(pipeline)
    totals: dict[str, Any] = {"regions": {}}
    for region, pipelines in sorted(by_region.items()):
        session = aws.aws_session(account=account, region=region)
        result = region_refresh(session=session, region=region, pipelines=pipelines, log=log)
        totals["regions"][region] = result.__dict__
        log(f"{region}: {result.pipelines} pipelines, {result.stacks} stacks, {result.alarms} alarms, "
            f"{result.drifted} drifted" + (f"; errors: {'; '.join(result.errors)}" if result.errors else ""))  # fmt: skip
    return totals


def region_refresh(*, session: Any, region: str, pipelines: list[Pipeline], log: Log) -> RegionResult:
    result = RegionResult(pipelines=len(pipelines))
    cfn = aws.aws_client(session, "cloudformation")
    records = _records(pipelines)
    stacks = _our_stacks(cfn, {r.name for r in records})
    result.stacks = len(stacks)
    now = timezone.now()
    drift = _drift(cfn, records, stacks, now=now, result=result)
    for pipeline in pipelines:
        result.changed += _record_pipeline(pipeline, [r for r in records if r.pipeline_id == pipeline.pk],
                                           stacks, drift, now=now)  # fmt: skip
    result.alarms = _alarms(session, region, pipelines, records, stacks, result=result, log=log)
    result.subscriptions = _subscriptions(session, pipelines, records, stacks, result=result, log=log)
    return result


def _records(pipelines: Iterable[Pipeline]) -> list[PipelineResource]:
    """The resources the provider made (a never-applied or deleted one has no stack to look for)."""
    return list(
        PipelineResource.objects.unscoped()
        .filter(pipeline__in=list(pipelines))
        .exclude(state__in=[ResourceState.PENDING, ResourceState.DELETE_COMPLETE])
    )


def _our_stacks(cfn: Any, names: set[str]) -> dict[str, dict[str, Any]]:
    """One paginated DescribeStacks over the region; the stacks of these names, by name."""
    found: dict[str, dict[str, Any]] = {}
    for page in cfn.get_paginator("describe_stacks").paginate():
        for stack in page["Stacks"]:
            if stack["StackName"] in names and not stack.get("ParentId"):
                found[stack["StackName"]] = stack
    return found


def short_id(stack: dict[str, Any]) -> str:
    """The first group of the stack id's uuid: what our alarm names end with (`_<shortId>`)."""
    return str(stack["StackId"]).split("/")[2].split("-")[0]


# --- drift --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Drift:
    status: str
    reason: str
    checked: datetime | None


def _drift(
    cfn: Any,
    records: list[PipelineResource],
    stacks: dict[str, dict[str, Any]],
    *,
    now: datetime,
    result: RegionResult,
) -> dict[str, Drift]:
    """Each stack's drift: detected again when due, else as CloudFormation last found it when that differs
    from ours. A stack the record has and CloudFormation does not is DELETED."""
    found: dict[str, Drift] = {}
    due: dict[str, PipelineResource] = {}
    for record in records:
        stack = stacks.get(record.name)
        if stack is None:
            found[record.name] = Drift(DriftState.DELETED, f"Stack {record.name} no longer exists in "
                                       "CloudFormation: it was deleted outside Clickstream.", now)  # fmt: skip
            continue
        if record.drift == DriftState.DELETED:  # it is back (re-created): look at it afresh
            record.drift_checked = None
            found[record.name] = Drift(DriftState.NOT_CHECKED, "", None)
        info = stack.get("DriftInformation") or {}
        last = max((t for t in (info.get("LastCheckTimestamp"), record.drift_checked) if t), default=None)
        if stack["StackStatus"] in DRIFT_CHECKABLE and (last is None or now - last >= DRIFT_EVERY):
            due[record.name] = record
        elif info.get("StackDriftStatus") and info["StackDriftStatus"] != record.drift:
            found[record.name] = _drift_of(
                cfn, record, info["StackDriftStatus"], info.get("LastCheckTimestamp") or now
            )
    detections = _detect(cfn, due, result)
    for name, status in _wait(cfn, detections, result).items():
        found[name] = _drift_of(cfn, due[name], status, now)
    result.drift_checked += len(detections)
    result.drifted += sum(d.status in DriftState.drifted() for d in found.values())
    return found


def _detect(cfn: Any, due: dict[str, PipelineResource], result: RegionResult) -> dict[str, str]:
    started = {}
    for name in due:
        try:
            started[name] = cfn.detect_stack_drift(StackName=name)["StackDriftDetectionId"]
        except ClientError as exc:
            if is_transient(exc):
                raise
            result.errors.append(f"DetectStackDrift {name}: {exc.response['Error'].get('Message', exc)}")
    return started


def _wait(cfn: Any, detections: dict[str, str], result: RegionResult) -> dict[str, str]:
    """Poll DescribeStackDriftDetectionStatus until each detection ends (or the wait is over)."""
    pending, done = dict(detections), dict[str, str]()
    deadline = time.monotonic() + DRIFT_WAIT_SECONDS
    while pending:
        for name, detection in list(pending.items()):
            status = cfn.describe_stack_drift_detection_status(StackDriftDetectionId=detection)
            if status["DetectionStatus"] == "DETECTION_IN_PROGRESS":
                continue
            del pending[name]
            if (
                status["DetectionStatus"] == "DETECTION_FAILED"
                and status.get("StackDriftStatus") != "DRIFTED"
            ):
                result.errors.append(f"drift detection of {name}: {status.get('DetectionStatusReason', '')}")
                done[name] = DriftState.UNKNOWN
            else:
                done[name] = status.get("StackDriftStatus") or DriftState.UNKNOWN
        if not pending or time.monotonic() >= deadline:
            break
        time.sleep(DRIFT_POLL_SECONDS)
    return done


def _drift_of(cfn: Any, record: PipelineResource, status: str, checked: datetime) -> Drift:
    """The drift, with the resources that drifted (and how) as the reason a person reads."""
    if status != DriftState.DRIFTED:
        return Drift(status if status in DriftState.values else DriftState.UNKNOWN, "", checked)
    lines = []
    for drift in _resource_drifts(cfn, record.name):
        if (record.kind, drift["ResourceType"]) in OWNED_BY_THE_SYNC:
            continue
        changed = ", ".join(d["PropertyPath"] for d in drift.get("PropertyDifferences", []))
        what = drift["StackResourceDriftStatus"].lower()
        lines.append(
            f"{drift['LogicalResourceId']} ({drift['ResourceType']}) {what}"
            + (f": {changed}" if changed else "")
        )
    if not lines:
        return Drift(DriftState.IN_SYNC, "", checked)
    return Drift(DriftState.DRIFTED, f"Stack {record.name} drifted from what was applied: {'; '.join(lines)}. "
                 "Undo the change in AWS; the warning clears at the refresh after the next drift check.", checked)  # fmt: skip


def _resource_drifts(cfn: Any, name: str) -> list[dict[str, Any]]:
    """DescribeStackResourceDrifts, every page (botocore has no paginator for it)."""
    found: list[dict[str, Any]] = []
    token = ""
    while True:
        page = cfn.describe_stack_resource_drifts(
            StackName=name,
            StackResourceDriftStatusFilters=["MODIFIED", "DELETED"],
            **({"NextToken": token} if token else {}),
        )
        found.extend(page["StackResourceDrifts"])
        token = page.get("NextToken", "")
        if not token:
            return found


# --- recording ----------------------------------------------------------------------------------------


def _record_pipeline(
    pipeline: Pipeline,
    records: list[PipelineResource],
    stacks: dict[str, dict[str, Any]],
    drift: dict[str, Drift],
    *,
    now: datetime,
) -> int:
    """Write what changed, under the pipeline's lock and only while it is still settled."""
    changed = 0
    with transaction.atomic():
        Pipeline.objects.unscoped().select_for_update().filter(pk=pipeline.pk).first()
        if not _idle(pipeline):
            return 0  # a change started meanwhile: the reconciler owns the resources now
        for record in PipelineResource.objects.unscoped().filter(pk__in=[r.pk for r in records]):
            if _apply(record, stacks.get(record.name), drift.get(record.name)):
                record.save()
                changed += 1
    return changed


def _apply(record: PipelineResource, stack: dict[str, Any] | None, drift: Drift | None) -> bool:
    before = (record.state, record.reason, record.drift, record.drift_reason)
    if stack is not None and stack["StackStatus"] != record.state:
        record.state, record.reason = stack["StackStatus"], stack.get("StackStatusReason", "")
        record.add_event(f"the refresh found it {record.state} (changed outside Clickstream)")
    if drift is not None:
        if drift.status != record.drift and drift.status in DriftState.drifted():
            record.add_event(drift.reason)
        record.drift, record.drift_reason, record.drift_checked = drift.status, drift.reason, drift.checked
    return (record.state, record.reason, record.drift, record.drift_reason) != before or drift is not None


# --- alarms and subscriptions -------------------------------------------------------------------------


def _alarms(session: Any, region: str, pipelines: list[Pipeline], records: list[PipelineResource],
            stacks: dict[str, dict[str, Any]], *, result: RegionResult, log: Log) -> int:  # fmt: skip
    by_short_id = {
        short_id(stacks[r.name]): next(p for p in pipelines if p.pk == r.pipeline_id)
        for r in records
        if r.name in stacks
    }
    try:
        found = alarms.alarms_describe(session)
    except ClientError as exc:
        if is_transient(exc):
            raise
        result.errors.append(f"DescribeAlarms: {exc.response['Error'].get('Message', exc)}")
        return 0  # keep what we knew rather than empty the Alarms page
    grouped: dict[int, list[dict[str, Any]]] = {p.pk: [] for p in pipelines}
    for alarm in found:
        pipeline = by_short_id.get(str(alarm["AlarmName"]).rsplit("_", 1)[-1])
        if pipeline is not None and alarm["AlarmName"].startswith(
            f"Clickstream|{pipeline.project.project_id} "
        ):
            grouped[pipeline.pk].append(alarm)
    for pipeline in pipelines:
        alarms.alarms_record(pipeline=pipeline, region=region, alarms=grouped[pipeline.pk])
    return sum(len(v) for v in grouped.values())


def _subscriptions(session: Any, pipelines: list[Pipeline], records: list[PipelineResource],
                   stacks: dict[str, dict[str, Any]], *, result: RegionResult, log: Log) -> int:  # fmt: skip
    with_topic = {r.pipeline_id for r in records if r.kind == "Metrics" and r.name in stacks}
    sns = aws.aws_client(session, "sns")
    count = 0
    for pipeline in pipelines:
        if pipeline.pk not in with_topic:
            continue
        try:
            count += notifications.notifications_sync(pipeline=pipeline, sns=sns, log=log)
        except ClientError as exc:
            if is_transient(exc):
                raise
            result.errors.append(
                f"SNS, {pipeline.project.project_id}: {exc.response['Error'].get('Message', exc)}"
            )
    return count


__all__ = ["account_refresh", "pipeline_account", "region_refresh", "settled_pipelines"]

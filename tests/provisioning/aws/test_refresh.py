"""The scheduled refresh of settled AWS pipelines: batched per account and region, stack states, drift,
alarm states and the schedule that starts it.

moto models DescribeStacks (paginated by 50), DescribeAlarms (unpaginated) and SNS subscriptions (confirmed
at once), so the call counts and the alarm transitions run against it. It has no drift detection at all
(DetectStackDrift raises NotImplementedError, DescribeStacks has no DriftInformation), so the drift tests
drive CloudFormation with botocore's Stubber and responses shaped like AWS's.
"""

from __future__ import annotations

import datetime
import math

import pytest
from botocore.stub import Stubber
from django.utils import timezone
from moto import mock_aws

from pipelines.choices import AlarmState
from pipelines.models import Alarm
from portal import aws
from provisioning.aws import refresh
from provisioning.models import Deployment, PipelineResource
from provisioning.selectors import pipeline_state
from tests.provisioning.aws.monitoring import (
    REGION,
    account_for,
    aws_env,  # noqa: F401  (fixture)
    counting_calls,
    session_of,
    settled_pipeline,
    stacks_for,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("aws_env")]


def _world(org, account_id: str, n: int) -> tuple:  # type: ignore[no-untyped-def]
    account = account_for(org, account_id)
    pipelines = [settled_pipeline(org, account, f"p{account_id[:2]}_{i}") for i in range(n)]
    for pipeline in pipelines:
        stacks_for(pipeline)
    # Drift detection is per stack by nature (and moto has none): `settled_pipeline` marks it checked.
    return account, pipelines


def test_the_calls_grow_with_pages_of_stacks_and_alarms_not_with_pipelines(cast, monkeypatch):
    with mock_aws():
        counts = {}
        for n, account_id in ((10, "111111111111"), (100, "222222222222")):
            account, pipelines = _world(cast.org_a, account_id, n)
            with counting_calls(monkeypatch) as calls:
                refresh.account_refresh(account=account, log=lambda *a, **k: None)
            counts[n] = calls
            assert Alarm.objects.unscoped().filter(pipeline__in=pipelines).count() == n
    for n, calls in counts.items():
        stacks = 2 * n
        # One paginated DescribeStacks over the region (moto pages by 50) and one DescribeAlarms by prefix.
        assert calls["cloudformation.DescribeStacks"] == math.ceil(stacks / 50), calls
        assert calls["cloudwatch.DescribeAlarms"] == 1, calls
        # One ListSubscriptionsByTopic per project topic (the role may read only our topics); nothing to change.
        assert calls["sns.ListSubscriptionsByTopic"] == n, calls
        assert not calls["sns.Subscribe"] and not calls["sns.Unsubscribe"], calls
        assert not any(k.startswith("cloudformation.") and "Drift" in k for k in calls), calls
    describes = {
        n: c["cloudformation.DescribeStacks"] + c["cloudwatch.DescribeAlarms"] for n, c in counts.items()
    }
    # 10 times the pipelines: 2 describe calls become 5 (pages of 50 stacks), not 20 → 200.
    assert describes == {10: 2, 100: 5}
    print(f"\nAWS calls of one refresh: 10 pipelines {dict(counts[10])}; 100 pipelines {dict(counts[100])}")


def test_alarm_states_follow_cloudwatch(cast):
    """moto models SetAlarmState (state, reason, timestamp): OK → ALARM → OK, then the alarm goes away."""
    with mock_aws():
        account = account_for(cast.org_a)
        pipeline = settled_pipeline(cast.org_a, account, "shop2")
        stacks_for(pipeline, alarms=("ECS Pending Task Count", "ECS Cluster CPUUtilization"))
        refresh.account_refresh(account=account, log=print)
        alarms = {a.short_name: a for a in pipeline.alarms.all()}
        assert set(alarms) == {
            f"ECS Pending Task Count_{_short(pipeline)}",
            f"ECS Cluster CPUUtilization_{_short(pipeline)}",
        }
        cpu = next(a for n, a in alarms.items() if "CPU" in n)
        assert (
            cpu.actions_enabled
            and cpu.region == REGION
            and "alarmsV2:alarm/Clickstream%7Cshop2" in cpu.console_url
        )
        cloudwatch = aws.aws_client(session_of(pipeline), "cloudwatch")
        cloudwatch.set_alarm_state(
            AlarmName=cpu.name, StateValue="ALARM", StateReason="Threshold Crossed: 1 datapoint [91.0] > 85.0"
        )
        refresh.account_refresh(account=account, log=print)
        cpu.refresh_from_db()
        assert (
            cpu.state == AlarmState.ALARM and cpu.reason.startswith("Threshold Crossed") and cpu.state_changed
        )
        first_change = cpu.state_changed
        cloudwatch.set_alarm_state(AlarmName=cpu.name, StateValue="OK", StateReason="back to normal")
        refresh.account_refresh(account=account, log=print)
        cpu.refresh_from_db()
        assert (
            cpu.state == AlarmState.OK
            and cpu.reason == "back to normal"
            and cpu.state_changed >= first_change
        )
        cloudwatch.delete_alarms(AlarmNames=[cpu.name])
        refresh.account_refresh(account=account, log=print)
        assert pipeline.alarms.count() == 1


def test_alarms_of_another_project_or_stack_are_not_taken(cast):
    """Two projects of one id in two organizations share the account: the short stack id tells them apart."""
    with mock_aws():
        account = account_for(cast.org_a)
        ours = settled_pipeline(cast.org_a, account, "twin")
        stacks_for(ours)
        session = session_of(ours)
        aws.aws_client(session, "cloudwatch").put_metric_alarm(
            AlarmName="Clickstream|twin ECS Pending Task Count_deadbeef", MetricName="m", Namespace="n",
            Statistic="Average", Period=60, EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanThreshold",
        )  # fmt: skip
        refresh.account_refresh(account=account, log=print)
        assert [a.short_name for a in ours.alarms.all()] == [f"ECS Pending Task Count_{_short(ours)}"]


def test_busy_pipelines_are_left_to_the_reconciler(cast):
    with mock_aws():
        account = account_for(cast.org_a)
        busy = settled_pipeline(cast.org_a, account, "busy")
        stacks_for(busy)
        PipelineResource.objects.unscoped().filter(pipeline=busy, kind="Ingestion").update(
            state="UPDATE_IN_PROGRESS"
        )
        Deployment.objects.unscoped().filter(pipeline=busy).update(action="Update", run_state="RUNNING")
        assert refresh.settled_pipelines(account=account) == []
        result = refresh.account_refresh(account=account, log=print)
        assert result == {"regions": {}} and not busy.alarms.exists()


def test_a_stack_changed_outside_is_read_until_it_settles(cast):
    """Someone updates a stack in the console: busy while it moves (the run is over, so the refresh keeps
    reading it), then the state CloudFormation reports."""
    with mock_aws():
        account = account_for(cast.org_a)
        pipeline = settled_pipeline(cast.org_a, account, "outside")
        stacks_for(pipeline)
        PipelineResource.objects.unscoped().filter(pipeline=pipeline, kind="Ingestion").update(
            state="UPDATE_IN_PROGRESS"
        )
        assert pipeline_state(pipeline=pipeline).busy
        assert refresh.settled_pipelines(account=account) == [pipeline]
        refresh.account_refresh(account=account, log=print)
    ingestion = PipelineResource.objects.unscoped().get(pipeline=pipeline, kind="Ingestion")
    assert (
        ingestion.state == "CREATE_COMPLETE"
        and "changed outside Clickstream" in ingestion.events[-1]["message"]
    )
    assert pipeline_state(pipeline=pipeline).status == "Active"


def test_a_stack_deleted_outside_is_drift(cast):
    """A stack someone deleted in the console is drift (Warning with the reason); the other stays."""
    with mock_aws():
        account = account_for(cast.org_a)
        pipeline = settled_pipeline(cast.org_a, account, "gone")
        stacks_for(pipeline)
        ingestion = PipelineResource.objects.unscoped().get(pipeline=pipeline, kind="Ingestion")
        aws.aws_client(session_of(pipeline), "cloudformation").delete_stack(StackName=ingestion.name)
        refresh.account_refresh(account=account, log=print)
    ingestion.refresh_from_db()
    assert ingestion.drift == "DELETED" and "deleted outside Clickstream" in ingestion.drift_reason
    state = pipeline_state(pipeline=pipeline)
    assert state.status == "Warning" and [r.name for r in state.drifted] == [ingestion.name]


# --- drift (Stubber: moto has no drift detection) -------------------------------------------------------


def _short(pipeline) -> str:  # type: ignore[no-untyped-def]
    stack = PipelineResource.objects.unscoped().get(pipeline=pipeline, kind="Ingestion")
    cfn = aws.aws_client(session_of(pipeline), "cloudformation")
    return refresh.short_id(cfn.describe_stacks(StackName=stack.name)["Stacks"][0])


def _stack(name: str, status: str = "CREATE_COMPLETE", drift: dict | None = None) -> dict:
    stack = {
        "StackId": f"arn:aws:cloudformation:{REGION}:123456789012:stack/{name}/1a2b3c4d-0000-4000-8000-00000000000{len(name) % 10}",
        "StackName": name, "StackStatus": status, "CreationTime": datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC),
        "Tags": [{"Key": "aws-solution/version", "Value": "v1.2.0"}],
    }  # fmt: skip
    if drift:
        stack["DriftInformation"] = drift
    return stack


def _detection(detection_id: str, name: str, status: str, drift: str = "", count: int = 0) -> dict:
    body = {"StackId": _stack(name)["StackId"], "StackDriftDetectionId": detection_id, "DetectionStatus": status,
            "Timestamp": datetime.datetime(2026, 1, 1, 12, tzinfo=datetime.UTC)}  # fmt: skip
    if drift:
        body |= {"StackDriftStatus": drift, "DriftedStackResourceCount": count}
    return body


def _resource_drift(name: str, logical: str, kind: str, status: str, paths: tuple[str, ...] = ()) -> dict:
    return {
        "StackId": _stack(name)["StackId"], "LogicalResourceId": logical, "PhysicalResourceId": f"{logical}-1",
        "ResourceType": kind, "StackResourceDriftStatus": status,
        "Timestamp": datetime.datetime(2026, 1, 1, 12, tzinfo=datetime.UTC),
        "PropertyDifferences": [{"PropertyPath": p, "ExpectedValue": "a", "ActualValue": "b", "DifferenceType": "NOT_EQUAL"} for p in paths],
    }  # fmt: skip


@pytest.fixture
def stubbed_cloudformation(monkeypatch):  # type: ignore[no-untyped-def]
    """CloudFormation answered by a Stubber (CloudWatch and SNS still by moto); waits are not slept."""
    monkeypatch.setattr(refresh, "DRIFT_POLL_SECONDS", 0)
    cfn = aws.base_session(region=REGION).client("cloudformation", region_name=REGION)
    stubber = Stubber(cfn)
    real = aws.aws_client
    monkeypatch.setattr(
        aws,
        "aws_client",
        lambda session, service, **kw: cfn if service == "cloudformation" else real(session, service, **kw),
    )
    with stubber:
        yield stubber
    stubber.assert_no_pending_responses()


def test_drift_is_detected_waited_for_and_makes_the_pipeline_warning(cast, stubbed_cloudformation):
    with mock_aws():
        account = account_for(cast.org_a)
        pipeline = settled_pipeline(cast.org_a, account, "drifty", drift_due=True)
        metrics, ingestion = (stack_name_of(pipeline, k) for k in ("Metrics", "Ingestion"))
        s = stubbed_cloudformation
        s.add_response("describe_stacks", {"Stacks": [_stack(metrics), _stack(ingestion, "UPDATE_COMPLETE")]})
        s.add_response("detect_stack_drift", {"StackDriftDetectionId": "d-1"}, {"StackName": metrics})
        s.add_response("detect_stack_drift", {"StackDriftDetectionId": "d-2"}, {"StackName": ingestion})
        s.add_response("describe_stack_drift_detection_status", _detection("d-1", metrics, "DETECTION_IN_PROGRESS"),
                       {"StackDriftDetectionId": "d-1"})  # fmt: skip
        s.add_response("describe_stack_drift_detection_status", _detection("d-2", ingestion, "DETECTION_COMPLETE", "IN_SYNC"),
                       {"StackDriftDetectionId": "d-2"})  # fmt: skip
        s.add_response("describe_stack_drift_detection_status", _detection("d-1", metrics, "DETECTION_COMPLETE", "DRIFTED", 2),
                       {"StackDriftDetectionId": "d-1"})  # fmt: skip
        s.add_response("describe_stack_resource_drifts", {"StackResourceDrifts": [
            _resource_drift(metrics, "EmailSubscription0", "AWS::SNS::Subscription", "DELETED"),
            _resource_drift(metrics, "AlarmTopic", "AWS::SNS::Topic", "MODIFIED", ("/KmsMasterKeyId",)),
        ]}, {"StackName": metrics, "StackResourceDriftStatusFilters": ["MODIFIED", "DELETED"]})  # fmt: skip
        refresh.account_refresh(account=account, log=print)
    state = pipeline_state(pipeline=pipeline)
    assert state.status == "Warning"
    (drifted,) = state.drifted
    assert (
        drifted.name == metrics
        and "AlarmTopic (AWS::SNS::Topic) modified: /KmsMasterKeyId" in drifted.drift_reason
    )
    # The e-mail subscriptions are the notification sync's to change: their drift is not a warning.
    assert "EmailSubscription0" not in drifted.drift_reason
    assert PipelineResource.objects.unscoped().get(name=ingestion).drift == "IN_SYNC"
    assert drifted.events[-1]["message"] == drifted.drift_reason


def test_drift_found_by_cloudformation_later_is_read_not_detected_again(cast, stubbed_cloudformation):
    """A detection that outlived one refresh (or one run in the console) is read from DescribeStacks'
    DriftInformation; fixed in AWS, the pipeline is Active again."""
    with mock_aws():
        account = account_for(cast.org_a)
        pipeline = settled_pipeline(cast.org_a, account, "later", kinds=("Ingestion",))
        ingestion = stack_name_of(pipeline, "Ingestion")
        recently = timezone.now() - datetime.timedelta(minutes=10)
        PipelineResource.objects.unscoped().filter(pipeline=pipeline).update(
            drift="IN_SYNC", drift_checked=recently
        )
        s = stubbed_cloudformation
        info = {"StackDriftStatus": "DRIFTED", "LastCheckTimestamp": recently}
        s.add_response("describe_stacks", {"Stacks": [_stack(ingestion, drift=info)]})
        s.add_response("describe_stack_resource_drifts", {"StackResourceDrifts": [
            _resource_drift(ingestion, "Service", "AWS::ECS::Service", "MODIFIED", ("/DesiredCount",))]},
            {"StackName": ingestion, "StackResourceDriftStatusFilters": ["MODIFIED", "DELETED"]})  # fmt: skip
        refresh.account_refresh(account=account, log=print)
        assert pipeline_state(pipeline=pipeline).status == "Warning"
        s.add_response(
            "describe_stacks", {"Stacks": [_stack(ingestion, drift={**info, "StackDriftStatus": "IN_SYNC"})]}
        )
        refresh.account_refresh(account=account, log=print)
    assert pipeline_state(pipeline=pipeline).status == "Active"


def test_a_refused_detection_is_reported_and_the_rest_goes_on(cast, stubbed_cloudformation):
    with mock_aws():
        account = account_for(cast.org_a)
        pipeline = settled_pipeline(cast.org_a, account, "refused", kinds=("Ingestion",), drift_due=True)
        ingestion = stack_name_of(pipeline, "Ingestion")
        s = stubbed_cloudformation
        s.add_response("describe_stacks", {"Stacks": [_stack(ingestion)]})
        s.add_client_error(
            "detect_stack_drift", "AccessDenied", "not authorized to perform: cloudformation:DetectStackDrift"
        )
        result = refresh.account_refresh(account=account, log=print)
    errors = result["regions"][REGION]["errors"]
    assert any("DetectStackDrift" in e and "not authorized" in e for e in errors)
    assert pipeline_state(pipeline=pipeline).status == "Active"


def stack_name_of(pipeline, kind: str) -> str:  # type: ignore[no-untyped-def]
    return PipelineResource.objects.unscoped().get(pipeline=pipeline, kind=kind).name


def test_the_schedule_starts_one_refresh_job_per_account(cast, django_capture_on_commit_callbacks):
    from django_q.models import Schedule

    from portal.models import Job
    from provisioning import tasks

    tasks.aws_refresh_schedule_ensure()
    tasks.aws_refresh_schedule_ensure()
    schedule = Schedule.objects.get(name=tasks.REFRESH_SCHEDULE)
    assert schedule.func == "provisioning.tasks.aws_refresh_all" and schedule.minutes == tasks.REFRESH_MINUTES
    with mock_aws():
        account = account_for(cast.org_a)
        for i in range(3):
            stacks_for(settled_pipeline(cast.org_a, account, f"sched{i}"))
        with django_capture_on_commit_callbacks(execute=True):
            assert tasks.aws_refresh_all() == {"accounts": 1}
    (job,) = Job.objects.unscoped().filter(kind=tasks.REFRESH_KIND)
    assert job.status == "succeeded", job.error
    assert job.result["regions"][REGION]["pipelines"] == 3 and job.result["regions"][REGION]["alarms"] == 3

"""CloudWatch: our alarms' states, read in one paginated call per region, and their actions turned on or off.

Enabling or disabling an alarm's actions (its notifications) is what the original's Alarms page does; the
alarm itself stays. The call is made in the request, as the original does, so the person sees at once
whether AWS accepted it.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError, EndpointConnectionError
from django.db import transaction
from django.utils import timezone

from pipelines.choices import AlarmState
from pipelines.models import Alarm, Pipeline
from portal import aws
from provisioning.aws.target import NoAccount, pipeline_account

ALARM_PREFIX = "Clickstream|"


class AlarmActionsFailed(Exception):
    """AWS refused or could not be reached: the message names the alarm and AWS's reason."""


def alarms_describe(session: Any) -> list[dict[str, Any]]:
    """Every metric alarm of the region whose name starts with our prefix (all projects at once)."""
    cloudwatch = aws.aws_client(session, "cloudwatch")
    found: list[dict[str, Any]] = []
    pages = cloudwatch.get_paginator("describe_alarms").paginate(
        AlarmNamePrefix=ALARM_PREFIX, AlarmTypes=["MetricAlarm"]
    )
    for page in pages:
        found.extend(page.get("MetricAlarms", []))
    return found


def alarms_record(*, pipeline: Pipeline, region: str, alarms: list[dict[str, Any]]) -> None:
    """Make the pipeline's Alarm rows what CloudWatch said: new ones added, gone ones removed."""
    now = timezone.now()
    with transaction.atomic():
        existing = {
            a.name: a for a in Alarm.objects.for_organization(pipeline.organization).filter(pipeline=pipeline)
        }
        for item in alarms:
            alarm = existing.pop(item["AlarmName"], None) or Alarm(
                organization=pipeline.organization, pipeline=pipeline, name=item["AlarmName"]
            )
            state = item.get("StateValue", AlarmState.INSUFFICIENT_DATA)
            alarm.arn, alarm.region = item.get("AlarmArn", ""), region
            alarm.description = item.get("AlarmDescription", "")
            alarm.state = state if state in AlarmState.values else AlarmState.INSUFFICIENT_DATA
            alarm.reason = item.get("StateReason", "")
            alarm.state_changed = item.get("StateUpdatedTimestamp")
            alarm.actions_enabled = bool(item.get("ActionsEnabled", True))
            alarm.refreshed = now
            alarm.save()
        Alarm.objects.unscoped().filter(pk__in=[a.pk for a in existing.values()]).delete()


def alarm_actions_set(*, alarm: Alarm, enabled: bool) -> Alarm:
    """EnableAlarmActions or DisableAlarmActions on one alarm, then record it on the row."""
    verb = "enable" if enabled else "disable"
    try:
        account = pipeline_account(alarm.pipeline)
        cloudwatch = aws.aws_client(aws.aws_session(account=account, region=alarm.region), "cloudwatch")
        call = cloudwatch.enable_alarm_actions if enabled else cloudwatch.disable_alarm_actions
        call(AlarmNames=[alarm.name])
    except NoAccount as exc:
        raise AlarmActionsFailed(str(exc)) from None
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise AlarmActionsFailed(
            f"CloudWatch refused to {verb} the actions of {alarm.short_name}: "
            f"{error.get('Code', '')} {error.get('Message', '')}".strip()
        ) from None
    except EndpointConnectionError as exc:
        raise AlarmActionsFailed(f"Could not reach CloudWatch to {verb} {alarm.short_name}: {exc}") from None
    Alarm.objects.unscoped().filter(pk=alarm.pk).update(actions_enabled=enabled)
    alarm.actions_enabled = enabled
    return alarm

"""Metrics: the project's alarm topic (KMS-encrypted, CloudWatch may publish) and the CloudWatch dashboard of the pipeline's figures (spec/analytics.md §6, spec/control-plane.md §4.3).

The original assembles the dashboard with a function from widget JSON every stack publishes to SSM; ours is
rendered here from the spec, with CloudWatch SEARCH expressions on the project's names and metric dimensions,
so it shows each part's figures as soon as the part exists and needs no function. The topic has a fixed name,
so the alarms of the other stacks notify it without a cross-stack parameter.

The original subscribes the e-mails here (an `AWS::SNS::Subscription` per address); ours leaves them to the
notifications sync (`provisioning/aws/notifications.py`), which subscribes and unsubscribes as the project's
addresses change: two owners of one subscription would undo each other's changes.
"""

from __future__ import annotations

import json

from troposphere import Equals, If, Ref, Sub, cloudwatch, kms, sns

from provisioning.aws.common import ALARM_TOPIC, Stack, unique_name
from provisioning.aws.context import RenderContext


def _widgets(ctx: RenderContext) -> list[dict[str, object]]:
    def search(title: str, expression: str, stat: str = "Sum", period: int = 300) -> dict[str, object]:
        return {"type": "metric", "properties": {"title": title, "region": "${AWS::Region}", "stat": stat,
                "period": period, "legend": {"position": "${LegendPosition}"},
                "metrics": [[{"expression": f"SEARCH('{expression}', '{stat}', {period})", "id": "e1"}]]}}  # fmt: skip

    project = "${ProjectId}"
    widgets = [
        search(
            "Ingestion requests", '{AWS/ApplicationELB,LoadBalancer} MetricName="RequestCount" clickstream'
        ),
        search(
            "Ingestion server CPU", '{AWS/ECS,ClusterName,ServiceName} MetricName="CPUUtilization"', "Average"
        ),
        search("Ingestion 5xx", '{AWS/ApplicationELB,LoadBalancer} MetricName="HTTPCode_Target_5XX_Count"'),
    ]
    if ctx.sink == "kinesis":
        widgets.append(
            search("Kinesis incoming records", '{AWS/Kinesis,StreamName} MetricName="IncomingRecords"')
        )
    if ctx.get("processing"):
        widgets += [
            search("Data processing sink count", "{Clickstream/DataPipeline,ApplicationId,service} "
                   "MetricName=\"Data Processing sink count\""),
            search("Data processing job failed", "{Clickstream/DataPipeline,ApplicationId,service} "
                   "MetricName=\"Data Processing job failed\"", "Maximum"),
        ]  # fmt: skip
    if ctx.redshift_mode:
        widgets.append(search("Redshift file max age", "{Clickstream/DataModeling/Redshift,ProjectId,service} "
                              f"ProjectId=\"{project}\"", "Average"))  # fmt: skip
    return widgets


def build(ctx: RenderContext) -> Stack:
    s = Stack("Metrics", "dashboard, alarm topic and e-mail notifications", ctx.bucket, ctx.asset_prefix)
    s.param("ProjectId", description="Project id", pattern=r"^[a-z][a-z0-9_]{0,126}$")
    s.param(
        "ColumnNumber", type="Number", default="4", min_value=1, max_value=4, description="Widgets per row"
    )
    s.param("LegendPosition", default="bottom", allowed=["right", "bottom", "hidden"])
    s.param("Version", default="1", description="Dashboard version (bump to re-render)")
    key = s.add(kms.Key("AlarmTopicKey", EnableKeyRotation=True, Description=Sub("Clickstream alarms ${ProjectId}"),
                        KeyPolicy={"Version": "2012-10-17", "Statement": [
                            {"Sid": "Account", "Effect": "Allow",
                             "Principal": {"AWS": Sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")},
                             "Action": "kms:*", "Resource": "*"},
                            {"Sid": "CloudWatchPublishes", "Effect": "Allow",
                             "Principal": {"Service": "cloudwatch.amazonaws.com"},
                             "Action": ["kms:Decrypt", "kms:GenerateDataKey*"], "Resource": "*",
                             "Condition": {"StringEquals": {"aws:SourceAccount": Ref("AWS::AccountId")}}},
                        ]}))  # fmt: skip
    topic = s.add(sns.Topic("AlarmTopic", TopicName=unique_name(ALARM_TOPIC), KmsMasterKeyId=Ref(key),
                            DisplayName=Sub("Clickstream alarms notification [project:${ProjectId}]"),
                            Tags=s.tags()))  # fmt: skip
    s.add(sns.TopicPolicy("AlarmTopicPolicy", Topics=[Ref(topic)], PolicyDocument={"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "cloudwatch.amazonaws.com"}, "Action": "sns:Publish",
         "Resource": Ref(topic), "Condition": {"StringEquals": {"aws:SourceAccount": Ref("AWS::AccountId")}}}]}))  # fmt: skip
    header = {
        "type": "text",
        "width": 24,
        "height": 1,
        "properties": {"markdown": "## Clickstream project ${ProjectId} (dashboard v${Version})"},
    }
    body = {"start": "-PT12H", "periodOverride": "auto",
            "widgets": [header, *({**w, "width": "WIDTH", "height": 6} for w in _widgets(ctx))]}  # fmt: skip
    s.condition("OneColumn", Equals(Ref("ColumnNumber"), "1"))
    s.condition("TwoColumns", Equals(Ref("ColumnNumber"), "2"))
    s.condition("ThreeColumns", Equals(Ref("ColumnNumber"), "3"))
    width = If("OneColumn", "24", If("TwoColumns", "12", If("ThreeColumns", "8", "6")))
    board = s.add(cloudwatch.Dashboard(
        "Dashboard", DashboardName=unique_name("Clickstream-${ProjectId}-${PipelineKey}-Dashboard-${AWS::Region}"),
        DashboardBody=Sub(json.dumps(body).replace('"WIDTH"', "${Width}"), Width=width)))  # fmt: skip
    s.app_registry()
    s.output("ObservabilityDashboardName", Ref(board))
    s.output("ObservabilityTopicArn", Ref(topic))
    return s

"""DataProcessing: the EMR Serverless application that runs our `etl` job (Spark), the schedule that starts a
run at the pipeline's interval through the job-submitter function, the rule that turns each finished run into
the pipeline's metrics, the Glue database and the four tables (partition projection, no crawler), and alarms.

The job reads the lake layout under the pipeline's prefix and finds the files not processed yet by itself
(`etl.job`); the submitter only starts it. Its code and dependencies live under `<project>/runtime/etl/`,
uploaded with the functions' assets.
"""

from __future__ import annotations

import re

from troposphere import GetAtt, Join, Ref, Sub, awslambda, cloudwatch, ec2, events, glue, scheduler
from troposphere import emrserverless as emr

from etl.model import PARTITION_COLUMNS, TABLES
from provisioning.aws.common import (
    Stack,
    alarm_name,
    alarm_topic_arn,
    allow,
    s3_list,
    s3_object_arn,
    unique_name,
)
from provisioning.aws.context import RenderContext

EMR_RELEASE = "emr-7.12.0"
NAMESPACE = "Clickstream/DataPipeline"
# Names the data model uses for its partition folders; projection turns them into partitions without a crawler.
_PROJECTION = {"partition_year": ("integer", "2000,2099", None), "partition_month": ("integer", "1,12", "2"),
               "partition_day": ("integer", "1,31", "2")}  # fmt: skip


def interval_seconds(schedule: str) -> int:
    """The processing interval of a rate() schedule, or a day for cron(); as an alarm period (60 s – 1 day)."""
    m = re.fullmatch(r"rate\(\s*(\d+)\s+(minute|hour|day)s?\s*\)", schedule or "")
    seconds = int(m.group(1)) * {"minute": 60, "hour": 3600, "day": 86400}[m.group(2)] if m else 86400
    return max(60, min(86400, seconds // 60 * 60))


def glue_columns(table: str) -> list[glue.Column]:
    return [glue.Column(Name=name, Type=kind) for name, kind in TABLES[table]]


def build(ctx: RenderContext) -> Stack:
    s = Stack(
        "DataProcessing",
        "EMR Serverless ETL, its schedule, Glue tables and alarms",
        ctx.bucket,
        ctx.asset_prefix,
    )
    p = s.param
    p("VpcId", type="AWS::EC2::VPC::Id")
    p("PrivateSubnetIds", type="List<AWS::EC2::Subnet::Id>")
    p("ProjectId", pattern=r"^[a-z][a-z0-9_]{0,126}$")
    p("AppIds", default="")
    for name in ("Source", "Sink", "Pipeline"):
        p(f"{name}S3Bucket")
        p(f"{name}S3Prefix", pattern=r"^([^/].*/)?$")
    p("DataFreshnessInHour", type="Number", default="72", min_value=1)
    p(
        "ScheduleExpression",
        default="rate(1 hour)",
        pattern=r"^(rate\(\s*\d+\s+(hour|minute|day)s?\s*\))|(cron\(.*\))$",
    )
    p(
        "TransformerAndEnrichClassNames",
        default="clickstream,traffic,ua,geo",
        description="Plugin names, transformer first",
    )
    p("S3PathPluginJars", default="", pattern=r"^(s3://[^,]+\.jar(,s3://[^,]+\.jar)*)?$",
      description="Custom plugins' jars (spark.jars), comma list")  # fmt: skip
    p("S3PathPluginFiles", default="", pattern=r"^(s3://[^,]+(,s3://[^,]+)*)?$",
      description="Custom plugins' code (.zip/.whl/.py join pyFiles) and data files, comma list")  # fmt: skip
    p("OutputFormat", default="parquet", allowed=["parquet", "json"])
    p("EMRReleaseLabel", default=EMR_RELEASE, description="EMR Serverless release (its Spark runs the job)")
    p(
        "EtlDependenciesS3Uri",
        default="",
        description="Archive of the job's packages (python -m etl emr-dependencies)",
    )
    runtime = f"{ctx.base}runtime/etl/"
    bucket = ctx.bucket

    sg = s.add(ec2.SecurityGroup("JobSecurityGroup", VpcId=Ref("VpcId"), GroupDescription="Clickstream ETL job",
                                 SecurityGroupEgress=[ec2.SecurityGroupRule(IpProtocol="tcp", FromPort=443, ToPort=443,
                                     CidrIp="0.0.0.0/0", Description="S3 and AWS APIs")], Tags=s.tags()))  # fmt: skip
    app = s.add(emr.Application(
        "Application", Name=Sub("clickstream-${ProjectId}"), Type="SPARK", ReleaseLabel=Ref("EMRReleaseLabel"),
        Architecture="ARM64",
        AutoStartConfiguration=emr.AutoStartConfiguration(Enabled=True),
        AutoStopConfiguration=emr.AutoStopConfiguration(Enabled=True, IdleTimeoutMinutes=5),
        MaximumCapacity=emr.MaximumAllowedResources(Cpu="64 vCPU", Memory="256 GB", Disk="1000 GB"),
        NetworkConfiguration=emr.NetworkConfiguration(SubnetIds=Ref("PrivateSubnetIds"), SecurityGroupIds=[Ref(sg)]),
        Tags=s.tags(**{"clickstream/output-format": Ref("OutputFormat")})))  # fmt: skip
    job_role = s.role("JobRole", service="emr-serverless.amazonaws.com", statements=[
        s3_list("SourceS3Bucket", ["SourceS3Prefix"]),
        s3_list("PipelineS3Bucket", ["PipelineS3Prefix"]),
        allow(["s3:ListBucket"], [f"arn:{ctx.partition}:s3:::{bucket}"], {"StringLike": {"s3:prefix": [f"{ctx.base}*"]}}),
        allow(["s3:GetObject"], [s3_object_arn("SourceS3Bucket", "SourceS3Prefix"), f"arn:{ctx.partition}:s3:::{bucket}/{runtime}*"]),
        allow(["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], [
            s3_object_arn("SinkS3Bucket", "SinkS3Prefix"), s3_object_arn("PipelineS3Bucket", "PipelineS3Prefix"),
            f"arn:{ctx.partition}:s3:::{bucket}/{ctx.base}job-data/*"]),
    ])  # fmt: skip
    log_uri = f"s3://{bucket}/{ctx.base}job-data/emr-logs/"
    submitter, _ = s.function(
        "JobSubmitter", asset="emr_submitter", handler="provisioning.aws.functions.emr_submitter.handler",
        environment={
            "APPLICATION_ID": GetAtt(app, "ApplicationId"), "JOB_ROLE_ARN": GetAtt(job_role, "Arn"),
            "PROJECT_ID": Ref("ProjectId"), "APP_IDS": Ref("AppIds"), "PLUGINS": Ref("TransformerAndEnrichClassNames"),
            "FRESHNESS_HOURS": Ref("DataFreshnessInHour"), "LAKE_ROOT": ctx.lake_root,
            "PY_FILES": f"s3://{bucket}/{runtime}etl.zip", "ENTRY_POINT": f"s3://{bucket}/{runtime}etl_entry.py",
            "DEPENDENCIES": Ref("EtlDependenciesS3Uri"), "EXTRA_JARS": Ref("S3PathPluginJars"),
            "EXTRA_FILES": Ref("S3PathPluginFiles"), "LOG_URI": log_uri,
            "RECORD_BUCKET": bucket, "RECORD_PREFIX": f"{ctx.base}job-data/",
        },
        statements=[
            allow(["emr-serverless:StartJobRun", "emr-serverless:ListJobRuns", "emr-serverless:GetJobRun"],
                  [GetAtt(app, "Arn"), Join("", [GetAtt(app, "Arn"), "/jobruns/*"])]),
            allow(["iam:PassRole"], [GetAtt(job_role, "Arn")], {"StringEquals": {"iam:PassedToService": "emr-serverless.amazonaws.com"}}),
            allow(["s3:PutObject", "s3:GetObject"], [f"arn:{ctx.partition}:s3:::{bucket}/{ctx.base}job-data/*"]),
            allow(["cloudwatch:PutMetricData"], ["*"], {"StringEquals": {"cloudwatch:namespace": NAMESPACE}}),
        ])  # fmt: skip
    schedule_role = s.role("ScheduleRole", service="scheduler.amazonaws.com",
                           statements=[allow(["lambda:InvokeFunction"], [GetAtt(submitter, "Arn")])])  # fmt: skip
    s.add(scheduler.Schedule("Schedule", ScheduleExpression=Ref("ScheduleExpression"), State="ENABLED",
        Description=Sub("Clickstream data processing of ${ProjectId}"),
        FlexibleTimeWindow=scheduler.FlexibleTimeWindow(Mode="OFF"),
        Target=scheduler.Target(Arn=GetAtt(submitter, "Arn"), RoleArn=GetAtt(schedule_role, "Arn"), Input='{"source": "schedule"}')))  # fmt: skip
    rule = s.add(events.Rule("JobStateRule", Description="Each finished ETL run becomes the pipeline's metrics",
        EventPattern={"source": ["aws.emr-serverless"], "detail-type": ["EMR Serverless Job Run State Change"],
                      "detail": {"applicationId": [GetAtt(app, "ApplicationId")], "state": ["SUCCESS", "FAILED", "CANCELLED"]}},
        Targets=[events.Target(Id="submitter", Arn=GetAtt(submitter, "Arn"))]))  # fmt: skip
    s.add(awslambda.Permission("JobStateInvoke", FunctionName=Ref(submitter), Action="lambda:InvokeFunction",
                               Principal="events.amazonaws.com", SourceArn=GetAtt(rule, "Arn")))  # fmt: skip

    database = s.add(glue.Database("Database", CatalogId=Ref("AWS::AccountId"), DatabaseInput=glue.DatabaseInput(
        Name=unique_name("${ProjectId}_${PipelineKey}"), Description="Clickstream data model v2")))  # fmt: skip
    outputs = {
        "event_v2": "GlueEventTable",
        "user_v2": "GlueUserTable",
        "item_v2": "GlueItemTable",
        "session": "GlueSessionTable",
    }
    for table, output in outputs.items():
        location = Sub(f"s3://${{SinkS3Bucket}}/${{SinkS3Prefix}}{table}/")
        template = (
            f"s3://${{SinkS3Bucket}}/${{SinkS3Prefix}}{table}/"
            + "/".join(f"{c}=${{{c}}}" for c in PARTITION_COLUMNS)
            + "/"
        )
        projection = {"projection.enabled": "true", "projection.partition_app.type": "enum",
                      "projection.partition_app.values": Ref("AppIds"),
                      "storage.location.template": Sub(template.replace("${partition", "${!partition")), "classification": "parquet"}  # fmt: skip
        for column, (kind, bounds, digits) in _PROJECTION.items():
            projection[f"projection.{column}.type"], projection[f"projection.{column}.range"] = kind, bounds
            if digits:
                projection[f"projection.{column}.digits"] = digits
        t = s.add(glue.Table(f"{output}Resource", CatalogId=Ref("AWS::AccountId"), DatabaseName=Ref(database),
            TableInput=glue.TableInput(Name=table, TableType="EXTERNAL_TABLE", Parameters=projection,
                PartitionKeys=[glue.Column(Name=c, Type="string") for c in PARTITION_COLUMNS],
                StorageDescriptor=glue.StorageDescriptor(Location=location, Columns=glue_columns(table),
                    InputFormat="org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
                    OutputFormat="org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
                    SerdeInfo=glue.SerdeInfo(SerializationLibrary="org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe")))))  # fmt: skip
        s.output(output, Ref(t))

    period = interval_seconds(str(ctx.get("processing.schedule")))
    dims = [cloudwatch.MetricDimension(Name="ApplicationId", Value=GetAtt(app, "ApplicationId")),
            cloudwatch.MetricDimension(Name="service", Value="EMR-Serverless")]  # fmt: skip
    actions = {"AlarmActions": [alarm_topic_arn()], "OKActions": [alarm_topic_arn()]}
    s.add(cloudwatch.Alarm("JobFailedAlarm", AlarmName=alarm_name("Data Processing Job Failed"),
        AlarmDescription=Sub("An ETL run failed, project ${ProjectId}"), Namespace=NAMESPACE,
        MetricName="Data Processing job failed", Dimensions=dims, Statistic="Maximum", Period=period, EvaluationPeriods=1,
        Threshold=1, ComparisonOperator="GreaterThanOrEqualToThreshold", TreatMissingData="ignore", **actions))  # fmt: skip
    s.add(cloudwatch.Alarm("NoDataAlarm", AlarmName=alarm_name("No Data Loaded"),
        AlarmDescription=Sub("No event processed in 24 hours, project ${ProjectId}"), Namespace=NAMESPACE,
        MetricName="Data Processing sink count", Dimensions=dims, Statistic="Sum", Period=86400, EvaluationPeriods=1,
        Threshold=0, ComparisonOperator="LessThanOrEqualToThreshold", TreatMissingData="notBreaching", **actions))  # fmt: skip
    s.output("EMRServerlessApplicationId", GetAtt(app, "ApplicationId"))
    s.output("GlueDatabase", Ref(database))
    s.app_registry()
    return s

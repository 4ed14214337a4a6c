"""DataModelingRedshift: the warehouse (a new Redshift Serverless namespace and workgroup, or an existing
workgroup, or a provisioned cluster), the per-app schemas (a custom resource running `redshift_schema` through
the Data API), the load workflow (Step Functions over the `redshift_load` functions: plan manifests, COPY +
MERGE, check), the clear-expired-events schedule, the BI user's credentials in Secrets Manager, and alarms.

The workflow starts when an ETL run of the pipeline's EMR application succeeds, and on the processing
schedule as a catch-up, so files never wait for the portal.
"""

from __future__ import annotations

import json
from typing import Any

from troposphere import (
    Equals,
    GetAtt,
    If,
    Not,
    Ref,
    Split,
    Sub,
    cloudformation,
    cloudwatch,
    events,
    scheduler,
    secretsmanager,
)
from troposphere import (
    redshiftserverless as rs,
)
from troposphere import (
    stepfunctions as sfn,
)

from provisioning.aws.common import (
    Stack,
    alarm_name,
    alarm_topic_arn,
    allow,
    arn,
    s3_list,
    s3_object_arn,
)
from provisioning.aws.context import RenderContext
from provisioning.aws.stacks.processing import interval_seconds

MODES = {
    "new_serverless": "New_Serverless",
    "existing_serverless": "Serverless",
    "provisioned": "Provisioned",
}
F = "provisioning.aws.functions."
PORT = 5439


def _params(s: Stack, ctx: RenderContext) -> None:
    p = s.param
    p("VpcId", type="AWS::EC2::VPC::Id")
    p("PrivateSubnetIds", default="", description="Comma list of the pipeline's private subnets")
    p("ProjectId", pattern=r"^[a-z][a-z0-9_]{0,126}$")
    p("AppIds", default="")
    p("ODSEventBucket"), p("ODSEventPrefix", pattern=r"^([^/].*/)?$")
    p("ODSEventFileSuffix", default=".snappy.parquet")
    p("LoadWorkflowBucket"), p("LoadWorkflowBucketPrefix", pattern=r"^([^/].*/)?$")
    p("MaxFilesLimit", type="Number", default="50", min_value=1, max_value=1000)
    p("DataProcessingCronOrRateExpression", default="cron(0 1 * * ? *)")
    p("ClearExpiredEventsScheduleExpression", default="cron(0 17 * * ? *)")
    p("ClearExpiredEventsRetentionRangeDays", type="Number", default="365", min_value=1)
    p("RedshiftMode", allowed=[MODES[str(ctx.redshift_mode)]])
    p("RedshiftClusterIdentifier", default="")
    p("RedshiftDbUser", default="")
    if ctx.redshift_mode == "new_serverless":
        p("NewRedshiftServerlessWorkgroupName", pattern=r"^[a-z0-9-]{3,64}$")
        p("RedshiftServerlessVPCId", type="AWS::EC2::VPC::Id")
        p("RedshiftServerlessSubnets", pattern=r"^subnet-[a-f0-9]+(,subnet-[a-f0-9]+)*$")
        p("RedshiftServerlessSGs", pattern=r"^sg-[a-f0-9]+(,sg-[a-f0-9]+)*$")
    else:
        for key in (
            "NewRedshiftServerlessWorkgroupName",
            "RedshiftServerlessVPCId",
            "RedshiftServerlessSubnets",
            "RedshiftServerlessSGs",
        ):
            p(key, default="")
    p("RedshiftServerlessRPU", default="16" if ctx.redshift_mode == "new_serverless" else "")
    p("RedshiftServerlessWorkgroupName", default="")
    p("RedshiftServerlessIAMRole", default="")
    if ctx.redshift_mode == "existing_serverless":  # '' = the stack looks them up (`redshift_warehouse`)
        p("RedshiftServerlessWorkgroupId", default="", pattern=r"^([a-z0-9\-]{36})?$")
        p("RedshiftServerlessNamespaceId", default="", pattern=r"^([a-z0-9\-]{36})?$")
    p("EMRServerlessApplicationId", description="DataProcessing output EMRServerlessApplicationId")
    p("TimeZoneWithAppId", default="[]")
    p("DataFreshnessInHour", type="Number", default="24", min_value=1)


def build(ctx: RenderContext) -> Stack:
    s = Stack(
        "DataModelingRedshift", "Redshift schemas, load workflow and retention", ctx.bucket, ctx.asset_prefix
    )
    _params(s, ctx)
    mode = ctx.redshift_mode
    copy_role = None
    if mode != "existing_serverless":
        copy_role = s.role("CopyRole", service="redshift.amazonaws.com", statements=[
            s3_list("ODSEventBucket", ["ODSEventPrefix"]), s3_list("LoadWorkflowBucket", ["LoadWorkflowBucketPrefix"]),
            allow(["s3:GetObject"], [s3_object_arn("ODSEventBucket", "ODSEventPrefix"),
                                     s3_object_arn("LoadWorkflowBucket", "LoadWorkflowBucketPrefix")]),
        ])  # fmt: skip
    copy_role_arn = Ref("RedshiftServerlessIAMRole") if copy_role is None else GetAtt(copy_role, "Arn")
    bi = s.add(secretsmanager.Secret("BIUserCredential", Description=Sub("Clickstream BI user of ${ProjectId} (QuickSight)"),
        GenerateSecretString=secretsmanager.GenerateSecretString(
            SecretStringTemplate=Sub('{"username": "clickstream_bi_${ProjectId}"}'), GenerateStringKey="password",
            PasswordLength=32, ExcludePunctuation=True, RequireEachIncludedType=True), Tags=s.tags()))  # fmt: skip

    env: dict[str, object] = {"DATABASE": Ref("ProjectId")}
    data_api: list[dict[str, object]]
    if mode == "new_serverless":
        admin = s.add(secretsmanager.Secret("AdminCredential", Description=Sub("Clickstream Redshift admin of ${ProjectId}"),
            GenerateSecretString=secretsmanager.GenerateSecretString(
                SecretStringTemplate='{"username": "clickstream_admin"}', GenerateStringKey="password",
                PasswordLength=32, ExcludePunctuation=True, RequireEachIncludedType=True), Tags=s.tags()))  # fmt: skip
        namespace = s.add(rs.Namespace("Namespace", NamespaceName=Ref("NewRedshiftServerlessWorkgroupName"),
            DbName=Ref("ProjectId"), AdminUsername="clickstream_admin",
            AdminUserPassword=Sub("{{resolve:secretsmanager:${AdminCredential}:SecretString:password}}"),
            IamRoles=[copy_role_arn], DefaultIamRoleArn=copy_role_arn, Tags=s.tags()))  # fmt: skip
        workgroup = s.add(rs.Workgroup("Workgroup", WorkgroupName=Ref("NewRedshiftServerlessWorkgroupName"),
            NamespaceName=Ref(namespace), BaseCapacity=Ref("RedshiftServerlessRPU"), PubliclyAccessible=False, Port=PORT,
            EnhancedVpcRouting=False, SubnetIds=Split(",", Ref("RedshiftServerlessSubnets")),
            SecurityGroupIds=Split(",", Ref("RedshiftServerlessSGs")), Tags=s.tags()))  # fmt: skip
        admin_secret = Ref(admin)
        env |= {"WORKGROUP_NAME": Ref(workgroup), "ADMIN_SECRET_ARN": admin_secret}
        data_api = [allow(["redshift-data:ExecuteStatement", "redshift-data:BatchExecuteStatement"],
                          [GetAtt(workgroup, "Workgroup.WorkgroupArn")]),
                    allow(["secretsmanager:GetSecretValue"], [admin_secret])]  # fmt: skip
        s.output("StackCreatedRedshiftServerlessWorkgroupName", Ref(workgroup))
        s.output(
            "StackCreatedRedshiftServerlessWorkgroupEndpointAddress",
            GetAtt(workgroup, "Workgroup.Endpoint.Address"),
        )
        s.output(
            "StackCreatedRedshiftServerlessWorkgroupEndpointPort",
            str(PORT),
            description="The port the workgroup is created with",
        )
        s.output("StackCreatedRedshiftServerlessNamespaceName", Ref(namespace))
    else:
        warehouse = _warehouse(s, mode)
        s.output("RedshiftEndpointAddress", GetAtt(warehouse, "EndpointAddress"),
                 description="The endpoint of the existing warehouse, as looked up")  # fmt: skip
        s.output("RedshiftEndpointPort", GetAtt(warehouse, "EndpointPort"))
    if mode == "existing_serverless":
        s.condition("HasWorkgroupId", Not(Equals(Ref("RedshiftServerlessWorkgroupId"), "")))
        s.condition("HasNamespaceId", Not(Equals(Ref("RedshiftServerlessNamespaceId"), "")))
        workgroup_id = If(
            "HasWorkgroupId", Ref("RedshiftServerlessWorkgroupId"), GetAtt(warehouse, "WorkgroupId")
        )
        workgroup_arn = Sub(
            "arn:${AWS::Partition}:redshift-serverless:${AWS::Region}:${AWS::AccountId}:workgroup/${Id}",
            Id=workgroup_id,
        )
        env |= {"WORKGROUP_NAME": Ref("RedshiftServerlessWorkgroupName")}
        data_api = [allow(["redshift-data:ExecuteStatement", "redshift-data:BatchExecuteStatement"], [workgroup_arn]),
                    allow(["redshift-serverless:GetCredentials"], [workgroup_arn])]  # fmt: skip
    elif mode == "provisioned":
        cluster_arn = arn("redshift", "cluster:${RedshiftClusterIdentifier}")
        env |= {"CLUSTER_IDENTIFIER": Ref("RedshiftClusterIdentifier"), "DB_USER": Ref("RedshiftDbUser")}
        data_api = [allow(["redshift-data:ExecuteStatement", "redshift-data:BatchExecuteStatement"], [cluster_arn]),
                    allow(["redshift:GetClusterCredentials"], [arn("redshift", "dbuser:${RedshiftClusterIdentifier}/${RedshiftDbUser}"),
                          arn("redshift", "dbname:${RedshiftClusterIdentifier}/${ProjectId}"),
                          arn("redshift", "dbname:${RedshiftClusterIdentifier}/dev")])]  # fmt: skip
    describe = allow(["redshift-data:DescribeStatement", "redshift-data:GetStatementResult"], ["*"])

    schema_statements = [*data_api, describe, allow(["secretsmanager:GetSecretValue"], [Ref(bi)])]
    if mode == "provisioned":
        schema_statements += [
            allow(["redshift:DescribeClusters", "redshift:ModifyClusterIamRoles"], [arn("redshift", "cluster:${RedshiftClusterIdentifier}")]),
            allow(["iam:PassRole"], [copy_role_arn], {"StringEquals": {"iam:PassedToService": "redshift.amazonaws.com"}}),
        ]  # fmt: skip
    schema_fn, _ = s.function("SchemaSetup", asset="redshift", handler=F + "redshift_schema.handler", timeout=900,
                              environment=env, statements=schema_statements)  # fmt: skip
    props = {"ServiceToken": GetAtt(schema_fn, "Arn"), "Database": Ref("ProjectId"), "AppIds": Ref("AppIds"),
             "BIUserSecretArn": Ref(bi), "CreateDatabase": "false" if mode == "new_serverless" else "true",
             "CopyRoleArn": copy_role_arn, "TimeZoneWithAppId": Ref("TimeZoneWithAppId"),
             "DataFreshnessInHour": Ref("DataFreshnessInHour"), "RedshiftMode": Ref("RedshiftMode"),
             "VpcId": Ref("VpcId"), "PrivateSubnetIds": Ref("PrivateSubnetIds"),
             "Target": {k: Ref(k) for k in ("RedshiftClusterIdentifier", "RedshiftDbUser", "NewRedshiftServerlessWorkgroupName",
                        "RedshiftServerlessVPCId", "RedshiftServerlessSubnets", "RedshiftServerlessSGs",
                        "RedshiftServerlessRPU", "RedshiftServerlessWorkgroupName", "RedshiftServerlessIAMRole")}}  # fmt: skip
    if mode == "provisioned":
        props["ClusterIdentifier"] = Ref("RedshiftClusterIdentifier")
    if mode == "existing_serverless":
        props["NamespaceId"] = If(
            "HasNamespaceId", Ref("RedshiftServerlessNamespaceId"), GetAtt(warehouse, "NamespaceId")
        )
    schemas = s.add(cloudformation.CustomResource("Schemas", **props))
    if mode == "new_serverless":
        schemas.DependsOn = ["Workgroup"]

    load_env = {**env, "ODS_BUCKET": Ref("ODSEventBucket"), "ODS_PREFIX": Ref("ODSEventPrefix"),
                "ODS_SUFFIX": Ref("ODSEventFileSuffix"), "WORK_BUCKET": Ref("LoadWorkflowBucket"),
                "WORK_PREFIX": Ref("LoadWorkflowBucketPrefix"), "APP_IDS": Ref("AppIds"), "MAX_FILES": Ref("MaxFilesLimit"),
                "COPY_ROLE_ARN": copy_role_arn, "RETENTION_DAYS": Ref("ClearExpiredEventsRetentionRangeDays")}  # fmt: skip
    work = s3_object_arn("LoadWorkflowBucket", "LoadWorkflowBucketPrefix")
    plan_fn, _ = s.function("PlanLoad", asset="redshift", handler=F + "redshift_load.plan", environment=load_env, timeout=300,
        statements=[s3_list("ODSEventBucket", ["ODSEventPrefix"]), s3_list("LoadWorkflowBucket", ["LoadWorkflowBucketPrefix"]),
                    allow(["s3:GetObject", "s3:PutObject"], [work])])  # fmt: skip
    load_fn, _ = s.function("LoadManifest", asset="redshift", handler=F + "redshift_load.load", environment=load_env,
                            statements=data_api)  # fmt: skip
    check_fn, _ = s.function("CheckLoad", asset="redshift", handler=F + "redshift_load.check", environment=load_env,
        statements=[describe, allow(["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], [work]),
                    s3_list("LoadWorkflowBucket", ["LoadWorkflowBucketPrefix"])])  # fmt: skip
    clear_fn, _ = s.function("ClearExpiredEvents", asset="redshift", handler=F + "redshift_load.clear_expired",
                             environment=load_env, statements=data_api)  # fmt: skip
    machine = _load_workflow(s, plan_fn, load_fn, check_fn)
    starter = s.role("WorkflowStartRole", service="events.amazonaws.com",
                     statements=[allow(["states:StartExecution"], [Ref(machine)])])  # fmt: skip
    s.add(events.Rule("EmrJobSuccessRule", Description="Load the data model after each successful ETL run",
        EventPattern={"source": ["aws.emr-serverless"], "detail-type": ["EMR Serverless Job Run State Change"],
                      "detail": {"applicationId": [Ref("EMRServerlessApplicationId")], "state": ["SUCCESS"]}},
        Targets=[events.Target(Id="load", Arn=Ref(machine), RoleArn=GetAtt(starter, "Arn"))]))  # fmt: skip
    sched_role = s.role("ScheduleRole", service="scheduler.amazonaws.com", statements=[
        allow(["states:StartExecution"], [Ref(machine)]), allow(["lambda:InvokeFunction"], [GetAtt(clear_fn, "Arn")])])  # fmt: skip
    s.add(scheduler.Schedule("LoadCatchUpSchedule", ScheduleExpression=Ref("DataProcessingCronOrRateExpression"),
        FlexibleTimeWindow=scheduler.FlexibleTimeWindow(Mode="OFF"), State="ENABLED",
        Target=scheduler.Target(Arn=Ref(machine), RoleArn=GetAtt(sched_role, "Arn"))))  # fmt: skip
    s.add(scheduler.Schedule("ClearExpiredEventsSchedule", ScheduleExpression=Ref("ClearExpiredEventsScheduleExpression"),
        FlexibleTimeWindow=scheduler.FlexibleTimeWindow(Mode="OFF"), State="ENABLED",
        Target=scheduler.Target(Arn=GetAtt(clear_fn, "Arn"), RoleArn=GetAtt(sched_role, "Arn"))))  # fmt: skip

    api_role = s.role("DataApiRole", service="quicksight.amazonaws.com", statements=[*data_api, describe])
    api_role.AssumeRolePolicyDocument["Statement"].append(
        {
            "Effect": "Allow",
            "Principal": {"AWS": Sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")},
            "Action": "sts:AssumeRole",
        }
    )
    s.add(cloudwatch.Alarm("LoadWorkflowAlarm", AlarmName=alarm_name("Load Data Workflow"),
        AlarmDescription=Sub("Loading into Redshift failed, project ${ProjectId}"), Namespace="AWS/States",
        MetricName="ExecutionsFailed", Dimensions=[cloudwatch.MetricDimension(Name="StateMachineArn", Value=Ref(machine))],
        Statistic="Sum", Period=interval_seconds(str(ctx.get("processing.schedule"))), EvaluationPeriods=1, Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold", TreatMissingData="notBreaching",
        AlarmActions=[alarm_topic_arn()], OKActions=[alarm_topic_arn()]))  # fmt: skip
    s.output("BIUserCredentialParameterName", Ref(bi))
    s.output("BIUserName", GetAtt(schemas, "BIUserName"))
    s.output("RedshiftDataApiRoleArn", GetAtt(api_role, "Arn"))
    s.output("LoadDataWorkflowArn", Ref(machine))
    s.app_registry()
    return s


def _warehouse(s: Stack, mode: str | None) -> cloudformation.CustomResource:
    """The existing workgroup's or cluster's endpoint (and a workgroup's ids), looked up by the stack."""
    if mode == "existing_serverless":
        target = {"WorkgroupName": Ref("RedshiftServerlessWorkgroupName")}
        # Workgroup and namespace ARNs carry ids this call is there to find: read-only, this account and region.
        statements = [allow(["redshift-serverless:GetWorkgroup"], [arn("redshift-serverless", "workgroup/*")]),
                      allow(["redshift-serverless:GetNamespace"], [arn("redshift-serverless", "namespace/*")])]  # fmt: skip
    else:
        target = {"ClusterIdentifier": Ref("RedshiftClusterIdentifier")}
        statements = [
            allow(["redshift:DescribeClusters"], [arn("redshift", "cluster:${RedshiftClusterIdentifier}")])
        ]
    fn, _ = s.function("WarehouseLookup", asset="redshift", handler=F + "redshift_warehouse.handler", timeout=60,
                       statements=statements)  # fmt: skip
    return s.add(cloudformation.CustomResource("Warehouse", ServiceToken=GetAtt(fn, "Arn"), **target))


def _load_workflow(s: Stack, plan_fn: object, load_fn: object, check_fn: object) -> sfn.StateMachine:
    """Plan → per manifest (one at a time): load, wait, check until done → again while files remain."""

    def task(fn: str, nxt: str, path: str = "$") -> dict[str, object]:
        return {"Type": "Task", "Resource": "arn:${AWS::Partition}:states:::lambda:invoke", "OutputPath": "$.Payload",
                "Parameters": {"FunctionName": f"${{{fn}}}", "Payload.$": path}, "Next": nxt,
                "Retry": [{"ErrorEquals": ["Lambda.ServiceException", "Lambda.TooManyRequestsException"],
                           "IntervalSeconds": 5, "MaxAttempts": 3, "BackoffRate": 2}]}  # fmt: skip

    per_manifest: dict[str, Any] = {"StartAt": "Load", "States": {
        "Load": task("LoadManifestArn", "Wait"),
        "Wait": {"Type": "Wait", "Seconds": 10, "Next": "Check"},
        "Check": task("CheckLoadArn", "Done?"),
        "Done?": {"Type": "Choice", "Choices": [{"Variable": "$.status", "StringEquals": "FINISHED", "Next": "Loaded"}],
                  "Default": "Wait"},
        "Loaded": {"Type": "Succeed"}}}  # fmt: skip
    definition = {"Comment": "Clickstream: load new Parquet files into Redshift", "StartAt": "Plan", "States": {
        "Plan": task("PlanLoadArn", "LoadEach"),
        "LoadEach": {"Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 1, "ItemProcessor": per_manifest,
                     "ResultPath": None, "Next": "More?"},
        "More?": {"Type": "Choice", "Choices": [{"Variable": "$.more", "BooleanEquals": True, "Next": "Plan"}],
                  "Default": "Finished"},
        "Finished": {"Type": "Succeed"}}}  # fmt: skip
    per_manifest["States"]["Load"]["Retry"].append(
        {"ErrorEquals": ["States.TaskFailed"], "IntervalSeconds": 120, "MaxAttempts": 5, "BackoffRate": 1}
    )
    fns = {"PlanLoadArn": plan_fn, "LoadManifestArn": load_fn, "CheckLoadArn": check_fn}
    group = s.log_group("LoadWorkflowLogs")
    role = s.role("LoadWorkflowRole", service="states.amazonaws.com", statements=[
        allow(["lambda:InvokeFunction"], [GetAtt(fn, "Arn") for fn in fns.values()]),
        allow(["logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery",
               "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies",
               "logs:DescribeLogGroups"], ["*"]),
    ])  # fmt: skip
    return s.add(sfn.StateMachine("LoadDataWorkflow", RoleArn=GetAtt(role, "Arn"), StateMachineType="STANDARD",
        DefinitionString=Sub(json.dumps(definition, indent=1), **{k: GetAtt(fn, "Arn") for k, fn in fns.items()}),
        LoggingConfiguration=sfn.LoggingConfiguration(Level="ERROR", IncludeExecutionData=False,
            Destinations=[sfn.LogDestination(CloudWatchLogsLogGroup=sfn.CloudWatchLogsLogGroup(LogGroupArn=GetAtt(group, "Arn")))])))  # fmt: skip

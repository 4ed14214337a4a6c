"""Reporting: the QuickSight data source on the Redshift database (through a VPC connection when the
warehouse is private) and, per app, the data sets of `reporting_datasets` over its schema and the preset
dashboard of `reporting_dashboard` (spec/analytics.md §2).

Size: the dashboard definition is a QuickSight template, in the stack once; per app 7 data sets (their SQL,
~12 KB) and a dashboard made from the template (8 resources), so the stack stays under CloudFormation's 500
resources and 1 MB template body up to `MAX_APPS` apps; the renderer refuses more
(tests/provisioning/aws/test_reporting.py renders that many and checks both limits).
"""

from __future__ import annotations

import hashlib
import json
import re

from troposphere import Equals, GetAtt, If, Not, Ref, Split, Sub
from troposphere import quicksight as qs

from pipelines.spec import REPORTING_MAX_APPS
from provisioning.aws.common import Stack, allow, unique_name
from provisioning.aws.context import RenderContext
from provisioning.aws.functions.redshift_sql import schema_name
from provisioning.aws.stacks.reporting_dashboard import template_definition
from provisioning.aws.stacks.reporting_datasets import DATA_SETS

DATA_SOURCE_ACTIONS = ["quicksight:DescribeDataSource", "quicksight:DescribeDataSourcePermissions",
                       "quicksight:PassDataSource", "quicksight:UpdateDataSource", "quicksight:DeleteDataSource",
                       "quicksight:UpdateDataSourcePermissions"]  # fmt: skip
DATA_SET_ACTIONS = ["quicksight:DescribeDataSet", "quicksight:DescribeDataSetPermissions", "quicksight:PassDataSet",
                    "quicksight:DescribeIngestion", "quicksight:ListIngestions", "quicksight:UpdateDataSet",
                    "quicksight:DeleteDataSet", "quicksight:CreateIngestion", "quicksight:CancelIngestion",
                    "quicksight:UpdateDataSetPermissions"]  # fmt: skip
MAX_APPS = REPORTING_MAX_APPS  # ~25 KB of template per app: 30 apps ≈ 830 KB, under CloudFormation's 1 MB
TEMPLATE_ACTIONS = ["quicksight:DescribeTemplate", "quicksight:DescribeTemplatePermissions", "quicksight:UpdateTemplate",
                    "quicksight:UpdateTemplatePermissions", "quicksight:DeleteTemplate", "quicksight:DescribeTemplateAlias"]  # fmt: skip
DASHBOARD_ACTIONS = ["quicksight:DescribeDashboard", "quicksight:ListDashboardVersions", "quicksight:UpdateDashboardPermissions",
                     "quicksight:QueryDashboard", "quicksight:UpdateDashboard", "quicksight:DeleteDashboard",
                     "quicksight:DescribeDashboardPermissions", "quicksight:UpdateDashboardPublishedVersion"]  # fmt: skip


def logical_suffix(schema: str) -> str:
    """A stable, alphanumeric resource-name part per app schema (`ios_app` and `iosapp` stay apart)."""
    return re.sub(r"[^A-Za-z0-9]", "", schema) + hashlib.sha256(schema.encode()).hexdigest()[:6]


def build(ctx: RenderContext) -> Stack:
    s = Stack("Reporting", "QuickSight data source, data sets and dashboard", ctx.bucket, ctx.asset_prefix)
    p = s.param
    p("QuickSightUserParam", default="", description="ARN of the QuickSight user who owns the dashboards")
    p("QuickSightNamespaceParam", default="default")
    p("QuickSightOwnerPrincipalParam", default="", description="Owner ARN ('' = the publish user)")
    p("RedshiftDBParam", description="Database (the project id)")
    p("RedShiftDBSchemaParam", description="Comma list of the app schemas")
    p("RedshiftDefaultDBParam", default="dev")
    p("RedshiftEndpointParam", description="Host of the Redshift endpoint")
    p("RedshiftPortParam", type="Number", default="5439")
    p(
        "RedshiftParameterKeyParam",
        description="Secret of the BI user (DataModelingRedshift BIUserCredentialParameterName)",
    )
    p("RedshiftIAMRoleParam", default="")
    p(
        "QuickSightVpcConnectionSubnetParam",
        default="",
        description="Comma list, one subnet per zone ('' = public endpoint)",
    )
    p("QuickSightVpcConnectionSGParam", default="")
    p("QuickSightTimezoneParam", default="[]")
    s.condition("HasVpcConnection", Not(Equals(Ref("QuickSightVpcConnectionSubnetParam"), "")))
    s.condition("HasOwner", Not(Equals(Ref("QuickSightOwnerPrincipalParam"), "")))
    owner = If("HasOwner", Ref("QuickSightOwnerPrincipalParam"), Ref("QuickSightUserParam"))
    s.condition("HasPrincipal", Not(Equals(Ref("QuickSightUserParam"), "")))

    def perms(actions: list[str], raw: bool = False) -> object:
        permission = {"Principal": owner, "Actions": sorted(actions)}
        return If(
            "HasPrincipal", [permission if raw else qs.ResourcePermission(**permission)], Ref("AWS::NoValue")
        )

    vpc_role = s.role("VpcConnectionRole", service="quicksight.amazonaws.com", statements=[allow(
        ["ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets",
         "ec2:DescribeSecurityGroups", "ec2:DescribeVpcs"], ["*"])])  # fmt: skip
    vpc_role.Condition = "HasVpcConnection"
    conn = s.add(qs.VPCConnection("VpcConnection", Condition="HasVpcConnection", AwsAccountId=Ref("AWS::AccountId"),
        VPCConnectionId=unique_name("clickstream-${RedshiftDBParam}-${PipelineKey}"), Name=Sub("Clickstream ${RedshiftDBParam}"),
        RoleArn=GetAtt(vpc_role, "Arn"), SubnetIds=Split(",", Ref("QuickSightVpcConnectionSubnetParam")),
        SecurityGroupIds=Split(",", Ref("QuickSightVpcConnectionSGParam"))))  # fmt: skip
    # The VPC connection exists only when subnets are given (HasVpcConnection): its empty defaults are never split.
    s.t.set_metadata({"cfn-lint": {"config": {"ignore_checks": ["W1033"]}}})
    secret = "{{resolve:secretsmanager:${RedshiftParameterKeyParam}:SecretString:%s}}"
    source = s.add(qs.DataSource("DataSource", AwsAccountId=Ref("AWS::AccountId"), Type="REDSHIFT",
        DataSourceId=unique_name("clickstream-${RedshiftDBParam}-${PipelineKey}"), Name=Sub("Clickstream ${RedshiftDBParam}"),
        DataSourceParameters=qs.DataSourceParameters(RedshiftParameters=qs.RedshiftParameters(
            Host=Ref("RedshiftEndpointParam"), Port=Ref("RedshiftPortParam"), Database=Ref("RedshiftDBParam"))),
        Credentials=qs.DataSourceCredentials(CredentialPair=qs.CredentialPair(
            Username=Sub(secret % "username"), Password=Sub(secret % "password"))),
        VpcConnectionProperties=If("HasVpcConnection", qs.VpcConnectionProperties(VpcConnectionArn=GetAtt(conn, "Arn")), Ref("AWS::NoValue")),
        SslProperties=qs.SslProperties(DisableSsl=False), Permissions=perms(DATA_SOURCE_ACTIONS)))  # fmt: skip
    s.add_raw("DashboardTemplate", "AWS::QuickSight::Template", dict(AwsAccountId=Ref("AWS::AccountId"),
        TemplateId=unique_name("clickstream-${RedshiftDBParam}-${PipelineKey}-preset"), Name=Sub("Clickstream preset dashboard ${RedshiftDBParam}"),
        VersionDescription="Preset dashboard (spec/analytics.md §2)", Permissions=perms(TEMPLATE_ACTIONS, raw=True),
        Definition=template_definition()))  # fmt: skip
    dashboards = []
    for app in ctx.app_ids:
        schema, suffix = schema_name(app), logical_suffix(schema_name(app))
        arns = {}
        for spec in DATA_SETS.values():
            # "-preset-": the previous template's one data set per app was `…-<schema>-events`; an update
            # creates the new data sets before deleting that one, so their ids must differ from it.
            ds = s.add(qs.DataSet(f"DataSet{spec.key.capitalize()}{suffix}", AwsAccountId=Ref("AWS::AccountId"),
                DataSetId=unique_name(f"clickstream-${{RedshiftDBParam}}-${{PipelineKey}}-{schema}-preset-{spec.key}"),
                Name=Sub(f"Clickstream ${{RedshiftDBParam}} {app} {spec.title}"),
                ImportMode="DIRECT_QUERY", Permissions=perms(DATA_SET_ACTIONS),
                PhysicalTableMap={spec.key: qs.PhysicalTable(CustomSql=qs.CustomSql(
                    DataSourceArn=GetAtt(source, "Arn"), Name=f"{spec.key}_{schema}"[:128],
                    SqlQuery=spec.sql(schema, ctx.timezone(app)),
                    Columns=[qs.InputColumn(Name=n, Type=t) for n, t in spec.columns]))}))  # fmt: skip
            arns[spec.key] = GetAtt(ds, "Arn")
        dashboard_id = unique_name(f"clickstream-${{RedshiftDBParam}}-${{PipelineKey}}-{schema}")
        s.add_raw(f"Dashboard{suffix}", "AWS::QuickSight::Dashboard", dict(AwsAccountId=Ref("AWS::AccountId"),
            DashboardId=dashboard_id, Name=Sub(f"Clickstream Dashboard - {app} - ${{RedshiftDBParam}}"),
            Permissions=perms(DASHBOARD_ACTIONS, raw=True), SourceEntity={"SourceTemplate": {
                "Arn": GetAtt("DashboardTemplate", "Arn"),
                "DataSetReferences": [{"DataSetPlaceholder": k, "DataSetArn": v} for k, v in arns.items()]}},
            DashboardPublishOptions={"AdHocFilteringOption": {"AvailabilityStatus": "DISABLED"},
                                     "SheetControlsOption": {"VisibilityState": "EXPANDED"}}))  # fmt: skip
        dashboards.append((app, schema))
    s.output("Dashboards", unique_name(json.dumps([{"appId": a, "dashboardId": f"clickstream-${{RedshiftDBParam}}-${{PipelineKey}}-{sc}"}
                                           for a, sc in dashboards])))  # fmt: skip
    # What the stack was given for the apps: recorded, since the zones are rendered into the data sets' SQL.
    s.output("AppSchemas", Ref("RedShiftDBSchemaParam"))
    s.output("AppTimezones", Ref("QuickSightTimezoneParam"))
    s.output("QuickSightNamespace", Ref("QuickSightNamespaceParam"))
    s.output("RedshiftDefaultDatabase", Ref("RedshiftDefaultDBParam"))
    s.output("DataSourceArn", GetAtt(source, "Arn"))
    s.output("RedshiftDatabaseName", Ref("RedshiftDBParam"))
    s.output("RedshiftEndpointAddress", Ref("RedshiftEndpointParam"))
    s.output("RedshiftDataApiRoleArn", Ref("RedshiftIAMRoleParam"))
    s.app_registry()
    return s

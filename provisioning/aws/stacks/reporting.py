"""Reporting: the QuickSight data source on the Redshift database (through a VPC connection when the
warehouse is private), one data set per app over its `event_v2`, and the preset dashboard.

The preset dashboard here is a first sheet (events and active users per day, events by name and platform), not
the original's full set of sheets (spec/analytics.md §2.4); the data sets and the permissions are the parts
later sheets build on.
"""

from __future__ import annotations

import json

from troposphere import Equals, GetAtt, If, Not, Ref, Split, Sub
from troposphere import quicksight as qs

from provisioning.aws.common import Stack, allow, unique_name
from provisioning.aws.context import RenderContext
from provisioning.aws.functions.redshift_sql import schema_name

DATA_SOURCE_ACTIONS = ["quicksight:DescribeDataSource", "quicksight:DescribeDataSourcePermissions",
                       "quicksight:PassDataSource", "quicksight:UpdateDataSource", "quicksight:DeleteDataSource",
                       "quicksight:UpdateDataSourcePermissions"]  # fmt: skip
DATA_SET_ACTIONS = ["quicksight:DescribeDataSet", "quicksight:DescribeDataSetPermissions", "quicksight:PassDataSet",
                    "quicksight:DescribeIngestion", "quicksight:ListIngestions", "quicksight:UpdateDataSet",
                    "quicksight:DeleteDataSet", "quicksight:CreateIngestion", "quicksight:CancelIngestion",
                    "quicksight:UpdateDataSetPermissions"]  # fmt: skip
DASHBOARD_ACTIONS = ["quicksight:DescribeDashboard", "quicksight:ListDashboardVersions", "quicksight:UpdateDashboardPermissions",
                     "quicksight:QueryDashboard", "quicksight:UpdateDashboard", "quicksight:DeleteDashboard",
                     "quicksight:DescribeDashboardPermissions", "quicksight:UpdateDashboardPublishedVersion"]  # fmt: skip
_SQL = """SELECT DATE_TRUNC('day', event_timestamp) AS event_date, event_name, platform, user_pseudo_id, event_id
FROM {schema}.event_v2"""


def _visuals(app: str, ds: str) -> list[dict[str, object]]:
    date = {"DateDimensionField": {"FieldId": f"{app}date", "Column": {"DataSetIdentifier": ds, "ColumnName": "event_date"},
                                   "DateGranularity": "DAY"}}  # fmt: skip

    def count(column: str, distinct: bool = False) -> dict[str, object]:
        return {"CategoricalMeasureField": {"FieldId": f"{app}{column}{distinct}", "AggregationFunction": "DISTINCT_COUNT" if distinct else "COUNT",
                "Column": {"DataSetIdentifier": ds, "ColumnName": column}}}  # fmt: skip

    def category(column: str) -> dict[str, object]:
        return {
            "CategoricalDimensionField": {
                "FieldId": f"{app}{column}",
                "Column": {"DataSetIdentifier": ds, "ColumnName": column},
            }
        }

    def line(vid: str, title: str, value: dict[str, object]) -> dict[str, object]:
        return {"LineChartVisual": {"VisualId": vid, "Title": {"FormatText": {"PlainText": title}}, "ChartConfiguration": {
            "FieldWells": {"LineChartAggregatedFieldWells": {"Category": [date], "Values": [value]}}}}}  # fmt: skip

    def bar(vid: str, title: str, dim: str) -> dict[str, object]:
        return {"BarChartVisual": {"VisualId": vid, "Title": {"FormatText": {"PlainText": title}}, "ChartConfiguration": {
            "FieldWells": {"BarChartAggregatedFieldWells": {"Category": [category(dim)], "Values": [count("event_id")]}}}}}  # fmt: skip

    return [line(f"{app}-events", f"{app}: events per day", count("event_id")),
            line(f"{app}-users", f"{app}: active users per day", count("user_pseudo_id", True)),
            bar(f"{app}-names", f"{app}: events by name", "event_name"),
            bar(f"{app}-platforms", f"{app}: events by platform", "platform")]  # fmt: skip


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
    sheets, declarations = [], []
    for app in ctx.app_ids:
        schema = schema_name(app)
        ds = s.add(qs.DataSet(f"Events{schema.replace('_', '')}", AwsAccountId=Ref("AWS::AccountId"),
            DataSetId=unique_name(f"clickstream-${{RedshiftDBParam}}-${{PipelineKey}}-{schema}-events"), Name=f"Clickstream events {app}",
            ImportMode="DIRECT_QUERY", Permissions=perms(DATA_SET_ACTIONS),
            PhysicalTableMap={"events": qs.PhysicalTable(CustomSql=qs.CustomSql(
                DataSourceArn=GetAtt(source, "Arn"), Name=f"events_{schema}", SqlQuery=_SQL.format(schema=schema),
                Columns=[qs.InputColumn(Name=n, Type=t) for n, t in (("event_date", "DATETIME"), ("event_name", "STRING"),
                         ("platform", "STRING"), ("user_pseudo_id", "STRING"), ("event_id", "STRING"))]))}))  # fmt: skip
        declarations.append({"Identifier": schema, "DataSetArn": GetAtt(ds, "Arn")})
        sheets.append({"SheetId": f"sheet-{schema}", "Name": app[:100], "Visuals": _visuals(schema, schema)})
    s.add_raw("Dashboard", "AWS::QuickSight::Dashboard", dict(AwsAccountId=Ref("AWS::AccountId"),
        DashboardId=unique_name("clickstream-${RedshiftDBParam}-${PipelineKey}"), Name=Sub("Clickstream ${RedshiftDBParam}"),
        Permissions=perms(DASHBOARD_ACTIONS, raw=True),
        Definition={"DataSetIdentifierDeclarations": declarations, "Sheets": sheets, "ParameterDeclarations": [
            {"StringParameterDeclaration": {"Name": name, "ParameterValueType": "SINGLE_VALUED",
                                            "DefaultValues": {"StaticValues": [Ref(param)]}}}
            for name, param in (("schemas", "RedShiftDBSchemaParam"), ("timezones", "QuickSightTimezoneParam"),
                                ("namespace", "QuickSightNamespaceParam"), ("defaultdb", "RedshiftDefaultDBParam"))]},
        DashboardPublishOptions={"AdHocFilteringOption": {"AvailabilityStatus": "ENABLED"}}))  # fmt: skip
    s.output("Dashboards", Sub(json.dumps([{"appId": a, "dashboardId": "${DashboardId}"} for a in ctx.app_ids]),
                               DashboardId=unique_name("clickstream-${RedshiftDBParam}-${PipelineKey}")))  # fmt: skip
    s.output("DataSourceArn", GetAtt(source, "Arn"))
    s.output("RedshiftDatabaseName", Ref("RedshiftDBParam"))
    s.output("RedshiftEndpointAddress", Ref("RedshiftEndpointParam"))
    s.output("RedshiftDataApiRoleArn", Ref("RedshiftIAMRoleParam"))
    s.app_registry()
    return s

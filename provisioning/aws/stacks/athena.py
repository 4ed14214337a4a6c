"""DataModelingAthena: a workgroup whose results stay in the pipeline bucket, and the five saved queries of
spec/analytics.md §1.1 over the Glue tables of the DataProcessing stack."""

from __future__ import annotations

from troposphere import Ref, Sub, athena

from provisioning.aws.common import Stack
from provisioning.aws.context import RenderContext

_WHERE = ("WHERE partition_app = ? AND partition_year >= ? AND partition_month >= ? AND partition_day >= ?\n"
          "-- run MSCK REPAIR TABLE first if partition projection is off")  # fmt: skip
_ALL = """SELECT e.*, u.user_properties, u.first_traffic_source, s.session_source
FROM "${AthenaDatabase}"."${AthenaEventTable}" e
LEFT JOIN (SELECT *, row_number() OVER (PARTITION BY user_pseudo_id ORDER BY event_timestamp DESC) rn
           FROM "${AthenaDatabase}".user_v2) u ON u.user_pseudo_id = e.user_pseudo_id AND u.rn = 1
LEFT JOIN (SELECT *, row_number() OVER (PARTITION BY session_id ORDER BY event_timestamp DESC) rn
           FROM "${AthenaDatabase}".session) s ON s.session_id = e.session_id AND s.rn = 1
""" + _WHERE.replace("partition_", "e.partition_")


def build(ctx: RenderContext) -> Stack:
    s = Stack("DataModelingAthena", "Athena workgroup and saved queries", ctx.bucket, ctx.asset_prefix)
    s.param("AthenaDatabase", description="Glue database (DataProcessing output GlueDatabase)")
    s.param("AthenaEventTable", description="Glue event table (DataProcessing output GlueEventTable)")
    group = s.add(athena.WorkGroup(
        "WorkGroup", Name=Sub("clickstream-${AWS::StackName}"), State="ENABLED", RecursiveDeleteOption=True,
        Description="Clickstream queries; results in the pipeline bucket",
        WorkGroupConfiguration=athena.WorkGroupConfiguration(
            EnforceWorkGroupConfiguration=True, PublishCloudWatchMetricsEnabled=True,
            ResultConfiguration=athena.ResultConfiguration(
                OutputLocation=f"s3://{ctx.bucket}/{ctx.base}data/athena-results/",
                EncryptionConfiguration=athena.EncryptionConfiguration(EncryptionOption="SSE_S3"))),
    ))  # fmt: skip
    queries = {
        "AllData": ("Clickstream - All Data Query", _ALL),
        "Event": (
            "Clickstream - Event Query",
            'SELECT * FROM "${AthenaDatabase}"."${AthenaEventTable}"\n' + _WHERE,
        ),
        "User": ("Clickstream - User Query", 'SELECT * FROM "${AthenaDatabase}".user_v2\n' + _WHERE),
        "Session": ("Clickstream - Session Query", 'SELECT * FROM "${AthenaDatabase}".session\n' + _WHERE),
        "Item": ("Clickstream - Item Query", 'SELECT * FROM "${AthenaDatabase}".item_v2\n' + _WHERE),
    }
    for key, (name, text) in queries.items():
        s.add(athena.NamedQuery(f"{key}Query", Name=name, Database=Ref("AthenaDatabase"), WorkGroup=Ref(group),
                                QueryString=Sub(text), Description=name))  # fmt: skip
    s.output("AthenaWorkGroup", Ref(group))
    s.app_registry()
    return s

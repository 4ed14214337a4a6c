"""What a spec means on a provider: named resources (stacks on AWS, steps on this machine) with parameters.

`plan_for()` is a pure function of a spec and the project facts it needs, so the wizard's review, the
update refusals and (later) the providers all read one answer. Stack names, parameter keys and the
allow-lists of parameters an update may change follow `spec/control-plane.md` §3.1–§3.2 and §3.7; the
providers (issues 13–15) may replace the parameter builders, keeping the `Plan` shape.

Where the original lets a change through that cannot work we refuse it: the sink type, the Kinesis stream
mode and the MSK cluster are fixed after creation (its UI disables them; its allow-list did not).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from pipelines.plugins import plugin_archives
from pipelines.spec import Problem, get, kafka_without_connector

STACK_PREFIX = "Clickstream"
SPEC_IMMUTABLE = {
    "provider": "the provider is chosen when the pipeline is created",
    "aws.account": "the stacks live in the account they were created in",
    "aws.region": "the stacks live in the region they were created in",
    "data_collection_sdk": "the ingestion fleet and transformer are built for one SDK",
}


@dataclass(frozen=True)
class Param:
    key: str
    value: str
    source: str = ""  # the spec path it comes from ('' = derived from the project)


@dataclass(frozen=True)
class Resource:
    """One stack (aws) or step (local); `editable` names the parameters an update may change."""

    name: str
    kind: str
    depends_on: tuple[str, ...]
    parameters: tuple[Param, ...]
    editable: frozenset[str]
    tags: tuple[tuple[str, str], ...] = ()

    def values(self) -> dict[str, str]:
        return {p.key: p.value for p in self.parameters}


@dataclass(frozen=True)
class ProjectFacts:
    """What a plan needs from the project besides the spec (the app list and zones live on the apps)."""

    project_id: str
    pipeline_id: str
    app_timezones: dict[str, str] = field(default_factory=dict)
    emails: tuple[str, ...] = ()
    dev_mode: bool = False
    template_version: str = "v1.2.0"


@dataclass(frozen=True)
class Plan:
    provider: str
    resources: tuple[Resource, ...]

    def by_name(self) -> dict[str, Resource]:
        return {r.name: r for r in self.resources}


@dataclass(frozen=True)
class Change:
    """Per resource of a new plan against the live one: create, update (with the changed parameters) or
    unchanged (left alone)."""

    resource: Resource
    action: str
    changed: tuple[tuple[str, str, str], ...] = ()


def plan_for(*, spec: dict[str, Any], facts: ProjectFacts) -> Plan:
    if spec.get("provider") == "local":
        return Plan("local", tuple(_local_steps(spec, facts)))
    return Plan("aws", tuple(_aws_stacks(spec, facts)))


def plan_changes(*, old: Plan | None, new: Plan) -> list[Change]:
    if old is None:
        return [Change(r, "create") for r in new.resources]
    live = old.by_name()
    changes = []
    for resource in new.resources:
        before = live.get(resource.name)
        if before is None:
            changes.append(Change(resource, "create"))
            continue
        a, b = before.values(), resource.values()
        changed = tuple((k, a[k], b[k]) for k in b if k in a and a[k] != b[k])
        if before.tags != resource.tags:
            changed += (("(tags)", _tags_text(before.tags), _tags_text(resource.tags)),)
        changes.append(Change(resource, "update" if changed else "unchanged", changed))
    return changes


def refused_changes(
    *, old_spec: dict[str, Any], new_spec: dict[str, Any], old: Plan, new: Plan
) -> list[Problem]:
    """Every change an update may not make, on the field that makes it, with the reason."""
    problems = [
        Problem(path, f"Cannot change after creation: {why}.")
        for path, why in SPEC_IMMUTABLE.items()
        if get(old_spec, path) != get(new_spec, path)
    ]
    if problems:  # another provider or account: comparing stacks would only repeat it
        return problems
    live, wanted = old.by_name(), new.by_name()
    for name, before in live.items():
        if name not in wanted:
            problems.append(
                Problem(
                    _section_of(before),
                    f"{before.kind} cannot be turned off after creation; delete the pipeline to remove it.",
                )
            )
    for resource in new.resources:
        existing = live.get(resource.name)
        if existing is None:
            continue
        old_values = existing.values()
        for param in resource.parameters:
            if (
                param.key in old_values
                and old_values[param.key] != param.value
                and param.key not in resource.editable
            ):
                problems.append(
                    Problem(
                        param.source or resource.kind,
                        f"Cannot change after creation: it sets {param.key} of {resource.name}, which an update "
                        f"may not change (from {old_values[param.key] or '(empty)'} to {param.value or '(empty)'}).",
                    )
                )
    return _unique(problems)


def _unique(problems: list[Problem]) -> list[Problem]:
    seen: dict[tuple[str, str], Problem] = {}
    by_path: dict[str, Problem] = {}
    for p in problems:
        seen.setdefault((p.path, p.message), p)
        by_path.setdefault(p.path, p)  # one message per field: the first stack that refuses it
    return list(by_path.values())


def _section_of(resource: Resource) -> str:
    return {"KafkaConnector": "ingestion.sink.kafka.connector", "DataProcessing": "processing",
            "DataModelingAthena": "modeling.athena", "DataModelingRedshift": "modeling.redshift",
            "Reporting": "reporting", "Streaming": "streaming"}.get(resource.kind, resource.kind)  # fmt: skip


def _tags_text(tags: tuple[tuple[str, str], ...]) -> str:
    return ", ".join(f"{k}={v}" for k, v in tags)


# --- local ----------------------------------------------------------------------------------------------


def _local_steps(spec: dict[str, Any], f: ProjectFacts) -> list[Resource]:
    lake = str(get(spec, "local.lake_dir", "var/lake"))
    root = f"{lake.rstrip('/')}/clickstream/{f.project_id}"
    steps = [
        Resource("lake", "LakeFolders", (), (Param("LakeDir", root, "local.lake_dir"),), frozenset()),
        Resource("allowlist", "CollectorAllowList", ("lake",),
                 (Param("AppIds", ",".join(sorted(f.app_timezones))),), frozenset({"AppIds"})),
    ]  # fmt: skip
    processing = spec.get("processing")
    if processing:
        steps.append(Resource("processing", "ProcessingSchedule", ("lake",), (
            Param("ScheduleExpression", str(processing.get("schedule")), "processing.schedule"),
            Param("Plugins", _plugin_names(processing), "processing.transformer"),
            Param("OutputFormat", str(processing.get("output_format")), "processing.output_format"),
            Param("DataFreshnessInHour", str(processing.get("data_freshness_hours")), "processing.data_freshness_hours"),
            Param("TimeZoneWithAppId", _timezones(f)),
        ), frozenset({"ScheduleExpression", "Plugins", "DataFreshnessInHour", "TimeZoneWithAppId", "OutputFormat"})))  # fmt: skip
        steps.append(Resource("warehouse", "DuckDBWarehouse", ("processing",),
                              (Param("Database", f"{root}/warehouse.duckdb", "local.lake_dir"),), frozenset()))  # fmt: skip
    return steps


def _plugin_names(processing: dict[str, Any]) -> str:
    return ",".join(
        [str(processing.get("transformer") or "clickstream"), *map(str, processing.get("enrichers") or [])]
    )


def _timezones(f: ProjectFacts) -> str:
    return json.dumps([{"appId": a, "timezone": tz} for a, tz in sorted(f.app_timezones.items())])


# --- aws ------------------------------------------------------------------------------------------------


def stack_name(kind: str, pipeline_id: str) -> str:
    return f"{STACK_PREFIX}-{kind}-{pipeline_id}"


def _workgroup_name(f: ProjectFacts) -> str:
    """Unique in the account and region (two organizations may both have a project `shop`), at most 64."""
    return f"clickstream-{f.project_id.replace('_', '-')}"[:55] + f"-{f.pipeline_id[:8]}"


def _yes(value: Any) -> str:
    return "Yes" if value else "No"


def _aws_stacks(spec: dict[str, Any], f: ProjectFacts) -> list[Resource]:
    name = lambda kind: stack_name(kind, f.pipeline_id)  # noqa: E731
    tags = _stack_tags(spec, f)
    out = lambda kind, suffix: f"#.{name(kind)}.{suffix}"  # noqa: E731
    base = f"{get(spec, 'bucket.prefix') or ''}clickstream/{f.project_id}/"
    bucket = str(get(spec, "bucket.name", ""))
    apps = ",".join(sorted(f.app_timezones))
    registry = (
        Param(
            "AppRegistryApplicationArn",
            out("ServiceCatalogAppRegistry", "ServiceCatalogAppRegistryApplicationArn"),
        ),
    )

    stacks = [
        Resource(name("ServiceCatalogAppRegistry"), "ServiceCatalogAppRegistry", (),
                 (Param("ProjectId", f.project_id),), frozenset(), tags),
        Resource(name("Metrics"), "Metrics", (name("ServiceCatalogAppRegistry"),), (
            Param("ProjectId", f.project_id), Param("ColumnNumber", "4"),
            Param("LegendPosition", "bottom"), Param("Version", "1"), *registry,
        ), frozenset(), tags),
        Resource(name("Ingestion"), "Ingestion", (name("ServiceCatalogAppRegistry"),),
                 (*_ingestion_params(spec, f, base, bucket, apps), *registry), INGESTION_EDITABLE, tags),
    ]  # fmt: skip
    sink = get(spec, "ingestion.sink.type")
    if sink == "kafka" and get(spec, "ingestion.sink.kafka.connector.enabled"):
        stacks.append(Resource(name("KafkaConnector"), "KafkaConnector", (name("Ingestion"),),
                               (*_connector_params(spec, f, base, bucket), *registry), CONNECTOR_EDITABLE, tags))  # fmt: skip
    processing = spec.get("processing")
    if processing and not kafka_without_connector(spec):
        p = "processing."
        stacks.append(Resource(name("DataProcessing"), "DataProcessing", (name("ServiceCatalogAppRegistry"),), (
            Param("VpcId", str(get(spec, "network.vpc_id")), "network.vpc_id"),
            Param("PrivateSubnetIds", ",".join(get(spec, "network.private_subnet_ids") or []), "network.private_subnet_ids"),
            Param("ProjectId", f.project_id), Param("AppIds", apps),
            Param("SourceS3Bucket", bucket, "bucket.name"),
            Param("SourceS3Prefix", base + "data/buffer/" + (f"{_topic(spec, f)}/" if sink == "kafka" else ""), "bucket.prefix"),
            Param("SinkS3Bucket", bucket, "bucket.name"), Param("SinkS3Prefix", base + "data/ods/", "bucket.prefix"),
            Param("PipelineS3Bucket", bucket, "bucket.name"), Param("PipelineS3Prefix", base + "data/pipeline-temp/", "bucket.prefix"),
            Param("DataFreshnessInHour", str(processing.get("data_freshness_hours")), p + "data_freshness_hours"),
            Param("ScheduleExpression", str(processing.get("schedule")), p + "schedule"),
            Param("TransformerAndEnrichClassNames", _plugin_names(processing), p + "transformer"),
            Param("S3PathPluginFiles", ",".join(f"s3://{bucket}/{base}runtime/etl/plugins/{a}" for a in plugin_archives(_plugin_names(processing).split(","))), p + "enrichers"),
            Param("OutputFormat", str(processing.get("output_format")), p + "output_format"),
            *registry,
        ), PROCESSING_EDITABLE, tags))  # fmt: skip
        stacks.extend(_modeling_stacks(spec, f, base, bucket, apps, name, out, registry, tags))
    return stacks


INGESTION_EDITABLE = frozenset(
    [
        "Protocol",
        "DomainName",
        "ACMCertificateArn",
        "ServerEndpointPath",
        "ServerCorsOrigin",
        "ServerMax",
        "ServerMin",
        "WarmPoolSize",
        "ScaleOnCpuUtilizationPercent",
        "EnableGlobalAccelerator",
        "AuthenticationSecretArn",
        "EnableAuthentication",
        "EnableApplicationLoadBalancerAccessLog",
        "LogS3Bucket",
        "LogS3Prefix",
        "S3DataBucket",
        "S3DataPrefix",
        "S3BatchMaxBytes",
        "S3BatchTimeout",
        "WorkerStopTimeout",
        "MskSecurityGroupId",
        "KafkaTopic",
        "KafkaBrokers",
        "KinesisShardCount",
        "KinesisDataRetentionHours",
        "KinesisBatchSize",
        "KinesisMaxBatchingWindowSeconds",
        "KinesisDataS3Bucket",
        "KinesisDataS3Prefix",
        "DevMode",
        "AppIds",
    ]
)
CONNECTOR_EDITABLE = frozenset(
    [
        "DataS3Bucket",
        "DataS3Prefix",
        "LogS3Bucket",
        "LogS3Prefix",
        "PluginS3Bucket",
        "PluginS3Prefix",
        "SecurityGroupId",
        "MaxWorkerCount",
        "MinWorkerCount",
        "WorkerMcuCount",
        "RotateIntervalMS",
        "FlushSize",
    ]
)
PROCESSING_EDITABLE = frozenset(
    [
        "AppIds",
        "SourceS3Bucket",
        "SourceS3Prefix",
        "SinkS3Bucket",
        "SinkS3Prefix",
        "PipelineS3Bucket",
        "PipelineS3Prefix",
        "DataFreshnessInHour",
        "ScheduleExpression",
        "TransformerAndEnrichClassNames",
        "S3PathPluginFiles",
    ]
)
REDSHIFT_EDITABLE = frozenset(
    [
        "AppIds",
        "ODSEventBucket",
        "ODSEventPrefix",
        "ODSEventFileSuffix",
        "LoadWorkflowBucket",
        "LoadWorkflowBucketPrefix",
        "MaxFilesLimit",
        "DataProcessingCronOrRateExpression",
        "ClearExpiredEventsScheduleExpression",
        "ClearExpiredEventsRetentionRangeDays",
        "RedshiftServerlessRPU",
        "TimeZoneWithAppId",
    ]
)
CLEAR_EXPIRED_SCHEDULE = "cron(0 17 * * ? *)"  # the original's, every day at 17:00 UTC (§3.2)
REPORTING_EDITABLE = frozenset(
    ["QuickSightUserParam", "RedshiftDBParam", "RedShiftDBSchemaParam", "QuickSightTimezoneParam",
     "QuickSightVpcConnectionSubnetParam", "RedshiftParameterKeyParam", "RedshiftIAMRoleParam"]
)  # fmt: skip


def msk_cluster_name(spec: dict[str, Any]) -> str:
    """The name in an MSK cluster ARN (`…:cluster/<name>/<uuid>`); '' for self-hosted Kafka."""
    arn = str(get(spec, "ingestion.sink.kafka.msk_cluster_arn") or "")
    parts = arn.split("/")
    return parts[1] if get(spec, "ingestion.sink.kafka.mode") == "msk" and len(parts) > 2 else ""


def _topic(spec: dict[str, Any], f: ProjectFacts) -> str:
    return str(get(spec, "ingestion.sink.kafka.topic") or f.project_id)


def _ingestion_params(
    spec: dict[str, Any], f: ProjectFacts, base: str, bucket: str, apps: str
) -> list[Param]:
    i = "ingestion."
    g = lambda path: get(spec, i + path)  # noqa: E731
    public = get(spec, "network.public_subnet_ids") or []
    private = get(spec, "network.private_subnet_ids") or []
    https = g("protocol") == "HTTPS"
    sink = g("sink.type")
    params = [
        Param("DevMode", _yes(f.dev_mode)), Param("ClickStreamSDK", _yes(spec.get("data_collection_sdk") == "clickstream"), "data_collection_sdk"),
        Param("ProjectId", f.project_id), Param("AppIds", apps),
        Param("EcsInfraType", str(g("infra_type")).upper(), i + "infra_type"),
        Param("VpcId", str(get(spec, "network.vpc_id")), "network.vpc_id"),
        Param("PublicSubnetIds", ",".join(public if get(spec, "network.type") == "General" else private), "network.public_subnet_ids"),
        Param("PrivateSubnetIds", ",".join(private), "network.private_subnet_ids"),
        Param("Protocol", str(g("protocol")), i + "protocol"),
        Param("DomainName", str(g("domain_name") or "") if https else "", i + "domain_name"),
        Param("ACMCertificateArn", str(g("certificate_arn") or "") if https else "", i + "certificate_arn"),
        Param("ServerEndpointPath", str(g("endpoint_path")), i + "endpoint_path"),
        Param("ServerCorsOrigin", cors_for_stack(str(g("cors_origins") or "")), i + "cors_origins"),
        Param("ServerMax", str(g("server_max")), i + "server_max"), Param("ServerMin", str(g("server_min")), i + "server_min"),
        Param("WarmPoolSize", str(g("warm_pool_size")), i + "warm_pool_size"),
        Param("ScaleOnCpuUtilizationPercent", str(g("scale_on_cpu_percent")), i + "scale_on_cpu_percent"),
        Param("EnableGlobalAccelerator", _yes(g("global_accelerator")), i + "global_accelerator"),
        Param("AuthenticationSecretArn", str(g("authentication_secret_arn") or ""), i + "authentication_secret_arn"),
        Param("EnableAuthentication", _yes(g("authentication_secret_arn")), i + "authentication_secret_arn"),
        Param("EnableApplicationLoadBalancerAccessLog", _yes(g("access_logs")), i + "access_logs"),
        Param("LogS3Bucket", bucket, "bucket.name"), Param("LogS3Prefix", base + "logs/alb/", "bucket.prefix"),
        Param("SinkType", {"s3": "S3", "kafka": "MSK", "kinesis": "KDS"}.get(str(sink), ""), i + "sink.type"),
    ]  # fmt: skip
    s = f"{i}sink.{sink}."
    if sink == "s3":
        timeout = int(get(spec, s + "buffer_interval_seconds") or 60)
        params += [
            Param("S3DataBucket", bucket, "bucket.name"), Param("S3DataPrefix", base + "data/buffer/", "bucket.prefix"),
            Param("S3BatchMaxBytes", str(int(get(spec, s + "buffer_size_mb") or 0) * 1_000_000), s + "buffer_size_mb"),
            Param("S3BatchTimeout", str(timeout), s + "buffer_interval_seconds"),
            Param("WorkerStopTimeout", str(timeout + 30), s + "buffer_interval_seconds"),
        ]  # fmt: skip
    elif sink == "kinesis":
        params += [
            Param("KinesisStreamMode", str(get(spec, s + "stream_mode")), s + "stream_mode"),
            Param("KinesisShardCount", str(get(spec, s + "shard_count")), s + "shard_count"),
            Param("KinesisDataRetentionHours", str(get(spec, s + "retention_hours")), s + "retention_hours"),
            Param("KinesisBatchSize", str(get(spec, s + "batch_size")), s + "batch_size"),
            Param("KinesisMaxBatchingWindowSeconds", str(get(spec, s + "batch_interval_seconds")), s + "batch_interval_seconds"),
            Param("KinesisDataS3Bucket", bucket, "bucket.name"), Param("KinesisDataS3Prefix", base + "data/buffer/", "bucket.prefix"),
        ]  # fmt: skip
    elif sink == "kafka":
        params += [
            Param("MskClusterName", msk_cluster_name(spec), s + "msk_cluster_arn"),
            Param("MskSecurityGroupId", str(get(spec, s + "security_group_id") or ""), s + "security_group_id"),
            Param("KafkaTopic", _topic(spec, f), s + "topic"),
            Param("KafkaBrokers", ",".join(get(spec, s + "brokers") or []), s + "brokers"),
        ]  # fmt: skip
    if g("infra_type") == "Fargate" and sink != "s3":
        params.append(Param("WorkerStopTimeout", "120", i + "infra_type"))
    return params


def _connector_params(spec: dict[str, Any], f: ProjectFacts, base: str, bucket: str) -> list[Param]:
    k = "ingestion.sink.kafka."
    g = lambda path: str(get(spec, k + path))  # noqa: E731
    return [
        Param("ProjectId", f.project_id), Param("DataS3Bucket", bucket, "bucket.name"),
        Param("DataS3Prefix", base + "data/buffer/", "bucket.prefix"), Param("LogS3Bucket", bucket, "bucket.name"),
        Param("LogS3Prefix", base + "logs/kafka-connector/", "bucket.prefix"), Param("PluginS3Bucket", bucket, "bucket.name"),
        Param("PluginS3Prefix", base + "runtime/ingestion/kafka-connector/plugins/", "bucket.prefix"),
        Param("SubnetIds", ",".join(get(spec, "network.private_subnet_ids") or []), "network.private_subnet_ids"),
        Param("SecurityGroupId", g("security_group_id") if get(spec, k + "security_group_id") else "", k + "security_group_id"),
        Param("KafkaBrokers", ",".join(get(spec, k + "brokers") or []), k + "brokers"),
        Param("KafkaTopic", _topic(spec, f), k + "topic"),
        Param("MskClusterName", msk_cluster_name(spec), k + "msk_cluster_arn"),
        Param("MaxWorkerCount", g("connector.max_workers"), k + "connector.max_workers"),
        Param("MinWorkerCount", g("connector.min_workers"), k + "connector.min_workers"),
        Param("WorkerMcuCount", g("connector.worker_mcu"), k + "connector.worker_mcu"),
        Param("RotateIntervalMS", str(int(get(spec, k + "batch_interval_seconds") or 0) * 1000), k + "batch_interval_seconds"),
        Param("FlushSize", g("batch_size"), k + "batch_size"),
    ]  # fmt: skip


def _modeling_stacks(spec, f, base, bucket, apps, name, out, registry, tags) -> list[Resource]:  # type: ignore[no-untyped-def]
    stacks = []
    processing = name("DataProcessing")
    if get(spec, "modeling.athena"):
        stacks.append(Resource(name("DataModelingAthena"), "DataModelingAthena", (processing,), (
            Param("AthenaDatabase", out("DataProcessing", "GlueDatabase")),
            Param("AthenaEventTable", out("DataProcessing", "GlueEventTable")), *registry,
        ), frozenset(), tags))  # fmt: skip
    mode = get(spec, "modeling.redshift.mode")
    if mode:
        r = f"modeling.redshift.{mode}."
        g = lambda path: get(spec, r + path)  # noqa: E731
        days = int(get(spec, "modeling.redshift.data_range_minutes") or 0) // 1440
        params = [
            Param("VpcId", str(get(spec, "network.vpc_id")), "network.vpc_id"),
            Param("PrivateSubnetIds", ",".join(get(spec, "network.private_subnet_ids") or []), "network.private_subnet_ids"),
            Param("ProjectId", f.project_id), Param("AppIds", apps),
            Param("ODSEventBucket", bucket, "bucket.name"), Param("ODSEventPrefix", base + "data/ods/", "bucket.prefix"),
            Param("ODSEventFileSuffix", ".snappy.parquet"),
            Param("LoadWorkflowBucket", bucket, "bucket.name"), Param("LoadWorkflowBucketPrefix", base + "data/load-workflow/", "bucket.prefix"),
            Param("MaxFilesLimit", "50"),
            Param("DataProcessingCronOrRateExpression", str(get(spec, "processing.schedule")), "processing.schedule"),
            Param("ClearExpiredEventsScheduleExpression", CLEAR_EXPIRED_SCHEDULE),
            Param("ClearExpiredEventsRetentionRangeDays", str(days), "modeling.redshift.data_range_minutes"),
            Param("RedshiftMode", {"new_serverless": "New_Serverless", "existing_serverless": "Serverless", "provisioned": "Provisioned"}[mode], "modeling.redshift.mode"),
            Param("RedshiftClusterIdentifier", str(g("cluster_identifier") or ""), r + "cluster_identifier"),
            Param("RedshiftDbUser", str(g("db_user") or ""), r + "db_user"),
            Param("NewRedshiftServerlessWorkgroupName", _workgroup_name(f) if mode == "new_serverless" else ""),
            Param("RedshiftServerlessVPCId", str(g("vpc_id") or ""), r + "vpc_id"),
            Param("RedshiftServerlessSubnets", ",".join(g("subnet_ids") or []), r + "subnet_ids"),
            Param("RedshiftServerlessSGs", ",".join(g("security_group_ids") or []), r + "security_group_ids"),
            Param("RedshiftServerlessRPU", str(g("base_rpu") or ""), r + "base_rpu"),
            Param("RedshiftServerlessWorkgroupName", str(g("workgroup_name") or ""), r + "workgroup_name"),
            Param("RedshiftServerlessIAMRole", str(g("iam_role_arn") or ""), r + "iam_role_arn"),
            Param("EMRServerlessApplicationId", out("DataProcessing", "EMRServerlessApplicationId")),
            Param("TimeZoneWithAppId", _timezones(f)), *registry,
        ]  # fmt: skip
        stacks.append(
            Resource(
                name("DataModelingRedshift"),
                "DataModelingRedshift",
                (processing,),
                tuple(params),
                REDSHIFT_EDITABLE,
                tags,
            )
        )
        if spec.get("reporting"):
            # A new workgroup's endpoint is the stack's own; an existing warehouse's, what the stack looked up.
            endpoint = (
                "StackCreatedRedshiftServerlessWorkgroupEndpoint"
                if mode == "new_serverless"
                else "RedshiftEndpoint"
            )
            stacks.append(Resource(name("Reporting"), "Reporting", (name("DataModelingRedshift"),), (
                Param("QuickSightUserParam", str(get(spec, "reporting.quicksight_user_arn") or ""), "reporting.quicksight_user_arn"),
                Param("QuickSightNamespaceParam", str(get(spec, "reporting.namespace") or "default"), "reporting.namespace"),
                Param("RedshiftDBParam", f.project_id), Param("RedShiftDBSchemaParam", apps),
                Param("RedshiftDefaultDBParam", f.project_id),
                Param("RedshiftEndpointParam", out("DataModelingRedshift", f"{endpoint}Address"), "modeling.redshift.mode"),
                Param("RedshiftPortParam", out("DataModelingRedshift", f"{endpoint}Port"), "modeling.redshift.mode"),
                Param("RedshiftParameterKeyParam", out("DataModelingRedshift", "BIUserCredentialParameterName")),
                Param("RedshiftIAMRoleParam", out("DataModelingRedshift", "RedshiftDataApiRoleArn")),
                # A new workgroup is private: QuickSight reaches it through a VPC connection in its subnets.
                Param("QuickSightVpcConnectionSubnetParam", ",".join(g("subnet_ids") or []) if mode == "new_serverless" else "", r + "subnet_ids"),
                Param("QuickSightVpcConnectionSGParam", ",".join(g("security_group_ids") or []) if mode == "new_serverless" else "", r + "security_group_ids"),
                Param("QuickSightTimezoneParam", _timezones(f)), *registry,
            ), REPORTING_EDITABLE, tags))  # fmt: skip
        if spec.get("streaming") is not None:
            stacks.append(Resource(name("Streaming"), "Streaming", (name("DataModelingRedshift"), name("Ingestion")), (
                Param("ProjectId", f.project_id), Param("AppIds", ",".join(get(spec, "streaming.app_ids") or []), "streaming.app_ids"),
                Param("KinesisSourceStreamArn", out("Ingestion", "KinesisArn")),
                Param("RedshiftMode", "Provisioned" if mode == "provisioned" else "Serverless", "modeling.redshift.mode"),
                Param("TransformerName", str(get(spec, "processing.transformer")), "processing.transformer"),
                *registry,
            ), frozenset(), tags))  # fmt: skip
    return stacks


def _stack_tags(spec: dict[str, Any], f: ProjectFacts) -> tuple[tuple[str, str], ...]:
    """The three built-in tags first (§3.15), then the user's."""
    builtins = (("aws-solution/name", "Clickstream"), ("aws-solution/version", f.template_version),
                ("aws-solution/clickstream/project", f.project_id))  # fmt: skip
    return builtins + tuple(
        (str(t["key"]), str(t["value"])) for t in spec.get("tags") or [] if isinstance(t, dict)
    )


def cors_for_stack(origins: str) -> str:
    """The stack's form of CORS origins (§1.4): whitespace stripped, joined with '|', regex-escaped."""
    items = [o.strip() for o in origins.split(",") if o.strip()]
    return "|".join(o.replace(".", r"\.").replace("*", ".*") for o in items)

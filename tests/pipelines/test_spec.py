"""The spec's rules, field and cross-field, as pure functions (the form, API and admin tests reuse them)."""

from __future__ import annotations

import pytest

from pipelines.plan import ProjectFacts, plan_for
from pipelines.spec import Context, cron_problem, diff, validate
from tests.pipelines.specs import aws_spec, local_spec, redshift_serverless

CTX = Context(project_id="shop", app_ids=("web",), subnet_azs={})


def problems(spec, ctx=CTX):
    return {p.path: p.message for p in validate(spec, ctx=ctx)}


def test_defaults_with_resources_are_valid():
    assert problems(aws_spec()) == {}
    assert problems(local_spec()) == {}


# (a change to a valid spec, the field that must report it, a word of the message)
RULES = [
    ({"aws__region": "mars-1"}, "aws.region", "Choose one of"),
    ({"network__vpc_id": "vpc-XYZ"}, "network.vpc_id", "not valid"),
    ({"network__private_subnet_ids": ["subnet-1a"]}, "network.private_subnet_ids", "at least 2"),
    ({"bucket__name": "No_Such"}, "bucket.name", "not valid"),
    ({"bucket__prefix": "/abs/"}, "bucket.prefix", "not valid"),
    ({"ingestion__server_max": 1}, "ingestion.server_max", "from 2"),
    ({"ingestion__server_min": 5}, "ingestion.server_max", "at least the minimum"),
    ({"ingestion__scale_on_cpu_percent": 101}, "ingestion.scale_on_cpu_percent", "0 to 100"),
    ({"ingestion__domain_name": "nodot"}, "ingestion.domain_name", "not valid"),
    ({"ingestion__cors_origins": "ftp://x.example.com"}, "ingestion.cors_origins", "not valid"),
    ({"ingestion__protocol": "HTTP", "ingestion__domain_name": "", "ingestion__certificate_arn": ""},
     "ingestion.http_acknowledged", "unencrypted"),
    ({"ingestion__protocol": "HTTP", "ingestion__http_acknowledged": True, "ingestion__domain_name": "",
      "ingestion__certificate_arn": "",
      "ingestion__authentication_secret_arn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:oidc-Ab12"},
     "ingestion.authentication_secret_arn", "needs HTTPS"),
    ({"ingestion__sink__kinesis__batch_size": 10001}, "ingestion.sink.kinesis.batch_size", "1 to 10000"),
    ({"ingestion__sink__kinesis__batch_interval_seconds": 301}, "ingestion.sink.kinesis.batch_interval_seconds", "0 to 300"),
    ({"ingestion__sink__kinesis__stream_mode": "PROVISIONED", "ingestion__sink__kinesis__shard_count": 0},
     "ingestion.sink.kinesis.shard_count", "1 to 10000"),
    ({"ingestion__sink__kinesis__retention_hours": 12}, "ingestion.sink.kinesis.retention_hours", "24 to 8760"),
    ({"processing__schedule": "rate(5 minutes)"}, "processing.schedule", "6 minutes"),
    ({"processing__schedule": "every hour"}, "processing.schedule", "rate("),
    ({"processing__schedule": "cron(0 * * * *)"}, "processing.schedule", "6 fields"),
    ({"processing__schedule": "cron(0,3 * ? * * *)"}, "processing.schedule", "6 minutes"),
    ({"processing__schedule": "cron(61 * ? * * *)"}, "processing.schedule", "0–59"),
    ({"processing__transformer": "nope"}, "processing.transformer", "installed transformer"),
    ({"processing__enrichers": ["ua", "ua"]}, "processing.enrichers", "twice"),
    ({"data_collection_sdk": "thirdparty"}, "processing.transformer", "Clickstream SDK data only"),
    ({"data_collection_sdk": "thirdparty", "processing": None}, "processing", "transformer"),
    ({"tags": [{"key": "aws-solution/name", "value": "x"}]}, "tags.0.key", "set by the portal"),
    ({"tags": [{"key": "team", "value": ""}]}, "tags.0.value", "1–256"),
    ({"modeling__redshift": redshift_serverless(rpu=12)}, "modeling.redshift.new_serverless.base_rpu", "multiple of 8"),
    ({"aws__region": "eu-west-2", "modeling__redshift": redshift_serverless(rpu=16)},
     "modeling.redshift.new_serverless.base_rpu", "32 to 512"),
    ({"aws__region": "sa-east-1", "modeling__redshift": redshift_serverless()},
     "modeling.redshift.new_serverless.base_rpu", "not offered"),
    ({"modeling__redshift": {"mode": "provisioned", "data_range_minutes": 259200,
                             "provisioned": {"cluster_identifier": "c1", "db_user": "1bad"}}},
     "modeling.redshift.provisioned.db_user", "not valid"),
    ({"reporting": {"quicksight_user_arn": "", "namespace": "default"}}, "reporting", "enable Redshift"),
    ({"streaming": {"app_ids": ["web"], "retention_hours": 24}}, "streaming", "new Redshift Serverless"),
    ({"ingestion__sink": {"type": "s3", "s3": {"buffer_size_mb": 10, "buffer_interval_seconds": 60}},
      "modeling__redshift": redshift_serverless(), "streaming": {"app_ids": ["web"], "retention_hours": 24}},
     "streaming", "Kinesis"),
    ({"streaming": {"app_ids": ["ios"], "retention_hours": 24}, "modeling__redshift": redshift_serverless()},
     "streaming.app_ids", "Not apps of this project"),
    ({"ingestion__sink": {"type": "s3", "s3": {"buffer_size_mb": 51, "buffer_interval_seconds": 60}}},
     "ingestion.sink.s3.buffer_size_mb", "1 to 50"),
    ({"ingestion__infra_type": "Fargate",
      "ingestion__sink": {"type": "s3", "s3": {"buffer_size_mb": 10, "buffer_interval_seconds": 200}}},
     "ingestion.sink.s3.buffer_interval_seconds", "60 to 100"),
    ({"ingestion__sink": {"type": "kafka", "kafka": {"mode": "self_hosted", "brokers": ["b-1:x"], "topic": "t",
                                                    "security_group_id": "", "batch_size": 5000,
                                                    "batch_interval_seconds": 300, "connector": {"enabled": False}}}},
     "ingestion.sink.kafka.brokers", "host:port"),
    ({"ingestion__sink": {"type": "kafka", "kafka": {"mode": "msk", "msk_cluster_arn": "arn:aws:kafka:us-east-1:123456789012:cluster/c/1",
                                                    "topic": "t", "batch_size": 5000, "batch_interval_seconds": 300,
                                                    "connector": {"enabled": False}}}},
     "processing", "S3 connector"),
    ({"local": {"lake_dir": "x"}}, "local", "Only the local provider"),
]  # fmt: skip


@pytest.mark.parametrize(("changes", "path", "words"), RULES, ids=[r[1] for r in RULES])
def test_each_rule_reports_on_its_field(changes, path, words):
    found = problems(aws_spec(**changes))
    assert path in found, found
    assert words in found[path]


def test_every_problem_is_reported_at_once():
    spec = aws_spec(ingestion__server_max=1, bucket__name="X", processing__schedule="rate(1 minute)")
    assert {"ingestion.server_max", "bucket.name", "processing.schedule"} <= set(problems(spec))


def test_local_refuses_aws_sections():
    found = problems(local_spec(network={"vpc_id": "vpc-1"}, modeling={"athena": True}))
    assert "no AWS account, network" in found["network"]
    assert "DuckDB" in found["modeling"]


def test_new_serverless_needs_three_zones_when_zones_are_known():
    ctx = Context(project_id="shop", subnet_azs={"subnet-1a": "a", "subnet-1b": "b", "subnet-1c": "b"})
    found = problems(aws_spec(modeling__redshift=redshift_serverless()), ctx)
    assert "at least 3 availability zones" in found["modeling.redshift.new_serverless.subnet_ids"]
    two_az_region = Context(project_id="shop", subnet_azs=ctx.subnet_azs, region_az_count=2)
    assert "modeling.redshift.new_serverless.subnet_ids" not in problems(
        aws_spec(modeling__redshift=redshift_serverless()), two_az_region
    )


def test_public_and_private_subnets_must_share_zones():
    ctx = Context(
        project_id="shop", subnet_azs={"subnet-0a": "a", "subnet-0b": "b", "subnet-1a": "a", "subnet-1b": "c"}
    )
    assert "same zones" in problems(aws_spec(), ctx)["network.public_subnet_ids"]


@pytest.mark.parametrize(
    ("body", "ok"),
    [("0/6 * ? * * *", True), ("0/5 * ? * * *", False), ("0 1 * * ? *", True), ("0 23,0 ? * MON-FRI *", True),
     ("55 23 ? * * *", True), ("0,57 0 ? * * *", True), ("58 23,0 ? * * *", True), ("59 23 ? * * *", True),
     ("0 * * * * *", False), ("0 25 ? * * *", False)],
)  # fmt: skip
def test_cron_spacing(body, ok):
    assert (cron_problem(body) is None) is ok, cron_problem(body)


def test_diff_names_each_changed_field():
    old, new = aws_spec(), aws_spec(ingestion__server_max=8, tags=[{"key": "team", "value": "web"}])
    assert diff(old, new) == [("ingestion.server_max", 4, 8), ("tags", [], [{"key": "team", "value": "web"}])]


def test_plan_names_the_stacks_of_the_original():
    spec = aws_spec(modeling__redshift=redshift_serverless(), modeling__athena=True)
    spec["reporting"] = {"quicksight_user_arn": "", "namespace": "default"}
    plan = plan_for(
        spec=spec, facts=ProjectFacts(project_id="shop", pipeline_id="p1", app_timezones={"web": "UTC"})
    )
    assert [r.name for r in plan.resources] == [
        f"Clickstream-{k}-p1" for k in ("ServiceCatalogAppRegistry", "Metrics", "Ingestion", "DataProcessing",
                                       "DataModelingAthena", "DataModelingRedshift", "Reporting")
    ]  # fmt: skip
    ingestion = plan.by_name()["Clickstream-Ingestion-p1"]
    assert ingestion.values()["SinkType"] == "KDS" and ingestion.values()["ServerMax"] == "4"
    assert ingestion.tags[:3] == (("aws-solution/name", "Clickstream"), ("aws-solution/version", "v1.2.0"),
                                  ("aws-solution/clickstream/project", "shop"))  # fmt: skip
    local = plan_for(
        spec=local_spec(),
        facts=ProjectFacts(project_id="shop", pipeline_id="p1", app_timezones={"web": "UTC"}),
    )
    assert [r.name for r in local.resources] == ["lake", "allowlist", "processing", "warehouse"]
    assert local.by_name()["processing"].values()["Plugins"] == "clickstream,traffic,ua,geo"


def _stack(spec, kind):  # type: ignore[no-untyped-def]
    facts = ProjectFacts(project_id="shop", pipeline_id="p1", app_timezones={"web": "UTC"})
    return plan_for(spec=spec, facts=facts).by_name()[f"Clickstream-{kind}-p1"].values()


def test_plan_sends_the_kafka_cluster_brokers_and_topic_to_ingestion_and_the_connector():
    spec = aws_spec()
    spec["ingestion"]["sink"] = {"type": "kafka", "kafka": {
        "mode": "msk", "msk_cluster_arn": "arn:aws:kafka:us-east-1:123456789012:cluster/events/0a1b-2c3d",
        "brokers": ["b-1.events.kafka.example.com:9092", "b-2.events.kafka.example.com:9092"], "topic": "clicks",
        "security_group_id": "sg-0c1", "batch_size": 5000, "batch_interval_seconds": 300,
        "connector": {"enabled": True, "min_workers": 1, "max_workers": 3, "worker_mcu": 1}}}  # fmt: skip
    brokers = "b-1.events.kafka.example.com:9092,b-2.events.kafka.example.com:9092"
    for kind in ("Ingestion", "KafkaConnector"):
        values = _stack(spec, kind)
        assert (values["MskClusterName"], values["KafkaBrokers"], values["KafkaTopic"]) == (
            "events",
            brokers,
            "clicks",
        )
    spec["ingestion"]["sink"]["kafka"].update(mode="self_hosted", msk_cluster_arn="")
    assert _stack(spec, "KafkaConnector")["MskClusterName"] == ""


def test_reporting_reads_the_endpoint_from_the_redshift_stack_for_every_mode():
    settings = {"existing_serverless": {"workgroup_name": "analytics", "iam_role_arn": "arn:aws:iam::123456789012:role/copy"},
                "provisioned": {"cluster_identifier": "warehouse", "db_user": "clickstream"}}  # fmt: skip
    for mode, suffix in [("new_serverless", "StackCreatedRedshiftServerlessWorkgroupEndpoint"),
                         ("existing_serverless", "RedshiftEndpoint"), ("provisioned", "RedshiftEndpoint")]:  # fmt: skip
        redshift = redshift_serverless() if mode == "new_serverless" else {
            "mode": mode, "data_range_minutes": 1440, mode: settings[mode]}  # fmt: skip
        spec = aws_spec(
            modeling__redshift=redshift, reporting={"quicksight_user_arn": "", "namespace": "default"}
        )
        reporting, redshift_stack = _stack(spec, "Reporting"), _stack(spec, "DataModelingRedshift")
        source = "#.Clickstream-DataModelingRedshift-p1."
        assert reporting["RedshiftEndpointParam"] == f"{source}{suffix}Address", mode
        assert reporting["RedshiftPortParam"] == f"{source}{suffix}Port", mode
        assert reporting["RedshiftIAMRoleParam"] == f"{source}RedshiftDataApiRoleArn"
        assert reporting["RedshiftDefaultDBParam"] == "shop"
        assert redshift_stack["ClearExpiredEventsScheduleExpression"] == "cron(0 17 * * ? *)"
        subnets = (
            "subnet-1a,subnet-1b,subnet-1c" if mode == "new_serverless" else ""
        )  # a private new workgroup
        assert reporting["QuickSightVpcConnectionSubnetParam"] == subnets, mode
        assert reporting["QuickSightVpcConnectionSGParam"] == ("sg-0a" if subnets else ""), mode

"""Valid aws pipeline specs for the template tests, built from `pipelines.spec`'s defaults and checked by its
`validate` (a spec the portal would refuse is never rendered here)."""

from __future__ import annotations

from typing import Any

from pipelines.spec import Context, default_sink, default_spec, validate

PROJECT = "shop"
APPS = {"web": "UTC", "ios.app": "Asia/Tokyo"}
ACCOUNT = "123456789012"


def make_spec(
    *,
    sink: str = "kinesis",
    infra: str = "EC2",
    redshift: str | None = "new_serverless",
    athena: bool = True,
    reporting: bool = True,
    global_accelerator: bool = False,
    access_logs: bool = False,
    authentication: bool = False,
    https: bool = True,
    region: str = "us-east-1",
    stream_mode: str = "ON_DEMAND",
    network: str = "General",
    bucket_prefix: str = "",
) -> dict[str, Any]:
    spec = default_spec(provider="aws", project_id=PROJECT)
    spec["aws"] = {"account": ACCOUNT, "region": region}
    spec["network"] = {"vpc_id": "vpc-0abc1234", "type": network,
                       "public_subnet_ids": ["subnet-0a1", "subnet-0a2"] if network == "General" else [],
                       "private_subnet_ids": ["subnet-0b1", "subnet-0b2"]}  # fmt: skip
    spec["bucket"] = {"name": "shop-lake", "prefix": bucket_prefix}
    ing = spec["ingestion"]
    ing.update(infra_type=infra, global_accelerator=global_accelerator, access_logs=access_logs)
    if infra == "Fargate":
        ing["warm_pool_size"] = 0
    else:
        ing["warm_pool_size"] = 1
    if https:
        ing.update(protocol="HTTPS", domain_name="collect.example.com",
                   certificate_arn=f"arn:aws:acm:{region}:{ACCOUNT}:certificate/0a1b2c")  # fmt: skip
        if authentication:
            ing["authentication_secret_arn"] = f"arn:aws:secretsmanager:{region}:{ACCOUNT}:secret:oidc-AbC"
    else:
        ing.update(protocol="HTTP", http_acknowledged=True, domain_name="", certificate_arn="")
    ing["sink"] = default_sink(sink, project_id=PROJECT)
    if sink == "kafka":
        ing["sink"]["kafka"]["msk_cluster_arn"] = f"arn:aws:kafka:{region}:{ACCOUNT}:cluster/events/0a1b-2c3d"
        ing["sink"]["kafka"]["brokers"] = ["b-1.events.kafka.example.com:9092"]
        ing["sink"]["kafka"]["security_group_id"] = "sg-0c1"
    if sink == "kinesis":
        ing["sink"]["kinesis"]["stream_mode"] = stream_mode
        if infra == "Fargate":
            pass
    if sink == "s3" and infra == "Fargate":
        ing["sink"]["s3"]["buffer_interval_seconds"] = 90
    spec["modeling"] = {"athena": athena, "redshift": _redshift(redshift)}
    spec["reporting"] = (
        {"quicksight_user_arn": "", "namespace": "default"} if reporting and redshift else None
    )
    problems = validate(spec, ctx=Context(project_id=PROJECT, app_ids=tuple(APPS)))
    assert not problems, problems
    return spec


def _redshift(mode: str | None) -> dict[str, Any] | None:
    if mode is None:
        return None
    settings = {
        "new_serverless": {"base_rpu": 16, "vpc_id": "vpc-0abc1234", "security_group_ids": ["sg-0d1"],
                           "subnet_ids": ["subnet-0b1", "subnet-0b2", "subnet-0b3"]},
        "existing_serverless": {"workgroup_name": "analytics",
                                "iam_role_arn": f"arn:aws:iam::{ACCOUNT}:role/redshift-copy"},
        "provisioned": {"cluster_identifier": "warehouse", "db_user": "clickstream"},
    }[mode]  # fmt: skip
    return {"mode": mode, "data_range_minutes": 1440 * 180, mode: settings}

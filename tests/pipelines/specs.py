"""Valid specs to start each test from; a test changes one thing and looks for its problem."""

from __future__ import annotations

from typing import Any

from pipelines.spec import default_spec

ACCOUNT = "123456789012"
ACCOUNT_UUID = "5b0e3c1e-0000-4000-8000-000000000001"


def aws_spec(**changes: Any) -> dict[str, Any]:
    spec = default_spec(provider="aws", project_id="shop")
    spec["network"] = {
        "vpc_id": "vpc-0a1b2c",
        "public_subnet_ids": ["subnet-0a", "subnet-0b"],
        "private_subnet_ids": ["subnet-1a", "subnet-1b"],
        "type": "General",
    }
    spec["aws"]["account"] = ACCOUNT_UUID
    spec["bucket"] = {"name": "shop-data", "prefix": ""}
    spec["ingestion"]["domain_name"] = "collect.example.com"
    spec["ingestion"]["certificate_arn"] = f"arn:aws:acm:us-east-1:{ACCOUNT}:certificate/abc-123"
    for path, value in changes.items():
        set_path(spec, path, value)
    return spec


def local_spec(**changes: Any) -> dict[str, Any]:
    spec = default_spec(provider="local", project_id="shop")
    for path, value in changes.items():
        set_path(spec, path, value)
    return spec


def set_path(spec: dict[str, Any], path: str, value: Any) -> None:
    """`set_path(spec, "ingestion__server_max", 1)`: keyword-friendly dotted paths (`__` for `.`)."""
    keys = path.replace("__", ".").split(".")
    node = spec
    for key in keys[:-1]:
        node = node[int(key)] if isinstance(node, list) else node.setdefault(key, {})
    node[keys[-1]] = value


def redshift_serverless(rpu: int = 16) -> dict[str, Any]:
    return {
        "mode": "new_serverless",
        "data_range_minutes": 259200,
        "new_serverless": {
            "base_rpu": rpu,
            "vpc_id": "vpc-0a1b2c",
            "subnet_ids": ["subnet-1a", "subnet-1b", "subnet-1c"],
            "security_group_ids": ["sg-0a"],
        },
    }

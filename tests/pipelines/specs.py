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


def moto_world(region: str = "us-east-1") -> dict[str, Any]:
    """In moto: a VPC with two public subnets (internet gateway) and two private ones (NAT) in two zones, the
    data bucket and an issued certificate. Returns `spec(**changes)`, an aws spec that uses them."""
    import datetime

    import boto3
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    ec2 = boto3.client("ec2", region_name=region)
    vpc = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    ec2.create_tags(Resources=[vpc], Tags=[{"Key": "Name", "Value": "shop-vpc"}])
    subnets = {}
    for name, cidr, az in [("public-a", "10.1.0.0/24", "a"), ("public-b", "10.1.1.0/24", "b"),
                           ("private-a", "10.1.10.0/24", "a"), ("private-b", "10.1.11.0/24", "b")]:  # fmt: skip
        subnets[name] = ec2.create_subnet(VpcId=vpc, CidrBlock=cidr, AvailabilityZone=region + az)["Subnet"][
            "SubnetId"
        ]
        ec2.create_tags(Resources=[subnets[name]], Tags=[{"Key": "Name", "Value": name}])
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    public = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=public, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    nat = ec2.create_nat_gateway(
        SubnetId=subnets["public-a"], AllocationId=ec2.allocate_address(Domain="vpc")["AllocationId"]
    )
    private = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.create_route(
        RouteTableId=private, DestinationCidrBlock="0.0.0.0/0", NatGatewayId=nat["NatGateway"]["NatGatewayId"]
    )
    for name, subnet in subnets.items():
        ec2.associate_route_table(
            RouteTableId=public if name.startswith("public") else private, SubnetId=subnet
        )
    boto3.client("s3", region_name=region).create_bucket(Bucket="shop-data")
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "collect.example.com")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(7).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=30)).sign(key, hashes.SHA256()))  # fmt: skip
    certificate = boto3.client("acm", region_name=region).import_certificate(
        Certificate=cert.public_bytes(serialization.Encoding.PEM),
        PrivateKey=key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
    )["CertificateArn"]  # fmt: skip

    def spec(**changes: Any) -> dict[str, Any]:
        base = {
            "aws__region": region, "network__vpc_id": vpc,
            "network__public_subnet_ids": [subnets["public-a"], subnets["public-b"]],
            "network__private_subnet_ids": [subnets["private-a"], subnets["private-b"]],
            "ingestion__certificate_arn": certificate,
        }  # fmt: skip
        return aws_spec(**{**base, **changes})

    return {"vpc": vpc, "subnets": subnets, "certificate": certificate, "spec": spec}

"""Look-ups in the organization's AWS account (the original's `/env` helpers, spec/control-plane.md §2.7,
and its account checks, §3.14), so people choose real resources and a spec is checked against them.

Each function takes a boto3 `Session` (from `portal.aws.aws_session`) and a region, makes read-only calls,
and returns plain dicts. A failing call raises `LookupFailed` naming the call and AWS's reason, so a page
can say what went wrong and stay usable.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import wraps
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from pipelines.spec import AUTH_SECRET_KEYS, PIPELINE_REGIONS, Problem, get
from portal.aws import error_reason

# Services a module needs from isolated private subnets, as VPC endpoints (§3.14).
ENDPOINTS_ALWAYS = ("s3", "logs")
ENDPOINTS_BY_MODULE = {
    "ingestion": ("ecr.dkr", "ecr.api", "ecs", "ecs-agent", "ecs-telemetry"),
    "kinesis": ("kinesis-streams",),
    "processing": ("emr-serverless", "glue"),
    "modeling": ("redshift-data", "states", "sts", "dynamodb"),
}
GATEWAY_SERVICES = ("s3", "dynamodb")
SERVICE_TYPES = {
    "emr-serverless": "AWS::EMRServerless::Application", "msk": "AWS::KafkaConnect::Connector",
    "redshift-serverless": "AWS::RedshiftServerless::Workgroup", "quicksight": "AWS::QuickSight::Dashboard",
    "athena": "AWS::Athena::WorkGroup", "global-accelerator": "AWS::GlobalAccelerator::Accelerator",
    "flink": "AWS::KinesisAnalyticsV2::Application",
}  # fmt: skip
# The regional Elastic Load Balancing accounts that write access logs (regions before 2022 use these).
ELB_ACCOUNTS = {
    "us-east-1": "127311923021", "us-east-2": "033677994240", "us-west-1": "027434742980",
    "us-west-2": "797873946194", "af-south-1": "098369216593", "ca-central-1": "985666609251",
    "eu-central-1": "054676820928", "eu-west-1": "156460612806", "eu-west-2": "652711504416",
    "eu-south-1": "635631232127", "eu-west-3": "009996457667", "eu-north-1": "897822967062",
    "ap-east-1": "754344448648", "ap-northeast-1": "582318560864", "ap-northeast-2": "600734575887",
    "ap-northeast-3": "383597477331", "ap-southeast-1": "114774131450", "ap-southeast-2": "783225319266",
    "ap-south-1": "718504428378", "me-south-1": "076674570225", "sa-east-1": "507241528517",
    "cn-north-1": "638102146993", "cn-northwest-1": "037604701340",
}  # fmt: skip


class LookupFailed(Exception):
    """An AWS call of a look-up failed; `call` is e.g. `ec2:DescribeVpcs`, `reason` what AWS said."""

    def __init__(self, call: str, reason: str) -> None:
        super().__init__(f"{call} failed: {reason}")
        self.call = call
        self.reason = reason


def calls(call: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Turns AWS errors inside a look-up into `LookupFailed(call, reason)`."""

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(fn)
        def run(*args: Any, **kwargs: Any) -> Any:
            try:
                return fn(*args, **kwargs)
            except LookupFailed:
                raise
            except (ClientError, BotoCoreError) as exc:
                raise LookupFailed(_op(call, exc), error_reason(exc)) from exc

        return run

    return decorate


def _op(call: str, exc: Exception) -> str:
    """The call that failed: botocore names the operation of a ClientError; otherwise the look-up's own."""
    operation = getattr(exc, "operation_name", "")
    return f"{call.split(':')[0]}:{operation}" if operation else call


def _client(session: boto3.Session, service: str, region: str) -> Any:
    from portal.aws import aws_client

    return aws_client(session, service, region=region)


def _pages(client: Any, operation: str, key: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
    for page in client.get_paginator(operation).paginate(**kwargs):
        yield from page.get(key, [])


def _name(tags: list[dict[str, str]] | None) -> str:
    return next((t["Value"] for t in tags or [] if t.get("Key") == "Name"), "")


# --- network --------------------------------------------------------------------------------------------


@calls("ec2:DescribeRegions")
def regions(session: boto3.Session, region: str) -> list[dict[str, Any]]:
    found = _client(session, "ec2", region).describe_regions()["Regions"]
    return [
        {"id": r["RegionName"]}
        for r in sorted(found, key=lambda r: r["RegionName"])
        if r["RegionName"] in PIPELINE_REGIONS
    ]


@calls("ec2:DescribeVpcs")
def vpcs(session: boto3.Session, region: str) -> list[dict[str, Any]]:
    ec2 = _client(session, "ec2", region)
    return [
        {
            "id": v["VpcId"],
            "name": _name(v.get("Tags")),
            "cidr": v["CidrBlock"],
            "is_default": v.get("IsDefault", False),
        }
        for v in _pages(ec2, "describe_vpcs", "Vpcs")
    ]


@calls("ec2:DescribeSubnets")
def subnets(session: boto3.Session, region: str, *, vpc_id: str) -> list[dict[str, Any]]:
    """Subnets with their zone and kind: public (a route to an internet gateway), private (a default route,
    e.g. through NAT) or isolated (neither), from the subnet's own route table or else the VPC's main one."""
    ec2 = _client(session, "ec2", region)
    tables = list(
        _pages(ec2, "describe_route_tables", "RouteTables", Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])
    )
    found = []
    for s in _pages(ec2, "describe_subnets", "Subnets", Filters=[{"Name": "vpc-id", "Values": [vpc_id]}]):
        table = _route_table_of(s["SubnetId"], tables)
        found.append({
            "id": s["SubnetId"], "name": _name(s.get("Tags")), "cidr": s["CidrBlock"],
            "availability_zone": s["AvailabilityZone"], "type": _subnet_type(table),
            "route_table": table.get("RouteTableId", "") if table else "",
        })  # fmt: skip
    return sorted(found, key=lambda s: (s["name"].lower(), s["id"]))


def _route_table_of(subnet_id: str, tables: list[dict[str, Any]]) -> dict[str, Any] | None:
    for table in tables:
        if any(a.get("SubnetId") == subnet_id for a in table.get("Associations", [])):
            return table
    return next((t for t in tables if any(a.get("Main") for a in t.get("Associations", []))), None)


def _subnet_type(table: dict[str, Any] | None) -> str:
    routes = table.get("Routes", []) if table else []
    if any(str(r.get("GatewayId", "")).startswith("igw-") for r in routes):
        return "public"
    if any(r.get("DestinationCidrBlock") == "0.0.0.0/0" for r in routes):
        return "private"
    return "isolated"


@calls("ec2:DescribeSecurityGroups")
def security_groups(session: boto3.Session, region: str, *, vpc_id: str) -> list[dict[str, Any]]:
    ec2 = _client(session, "ec2", region)
    groups = _pages(
        ec2, "describe_security_groups", "SecurityGroups", Filters=[{"Name": "vpc-id", "Values": [vpc_id]}]
    )
    return [
        {"id": g["GroupId"], "name": g["GroupName"], "description": g.get("Description", "")} for g in groups
    ]


def required_endpoints(spec: dict[str, Any], region: str) -> list[str]:
    """The VPC endpoint services isolated subnets need for the modules the spec enables."""
    names = list(ENDPOINTS_ALWAYS) + list(ENDPOINTS_BY_MODULE["ingestion"])
    if get(spec, "ingestion.sink.type") == "kinesis":
        names += ENDPOINTS_BY_MODULE["kinesis"]
    if spec.get("processing"):
        names += ENDPOINTS_BY_MODULE["processing"]
    if get(spec, "modeling.redshift"):
        names += ENDPOINTS_BY_MODULE["modeling"]
    prefix = "cn.com.amazonaws" if region.startswith("cn-") else "com.amazonaws"
    return [f"{prefix}.{region}.{n}" for n in names]


@calls("ec2:DescribeVpcEndpoints")
def subnet_reachability(session: boto3.Session, region: str, *, vpc_id: str, subnet_ids: list[str],
                        spec: dict[str, Any]) -> dict[str, list[dict[str, str]]]:  # fmt: skip
    """Per private subnet, the services it cannot reach: isolated subnets need a gateway endpoint in their
    route table or an interface endpoint in their zone whose security groups allow HTTPS from the subnet;
    subnets routed through NAT need the NAT gateway to sit in a public subnet. Empty lists = all reachable."""
    ec2 = _client(session, "ec2", region)
    known = {s["id"]: s for s in subnets(session, region, vpc_id=vpc_id)}
    endpoints = list(
        _pages(
            ec2, "describe_vpc_endpoints", "VpcEndpoints", Filters=[{"Name": "vpc-id", "Values": [vpc_id]}]
        )
    )
    out: dict[str, list[dict[str, str]]] = {}
    for subnet_id in subnet_ids:
        subnet = known.get(subnet_id)
        if subnet is None:
            out[subnet_id] = [{"service": "*", "reason": f"the subnet is not in {vpc_id}"}]
        elif subnet["type"] == "isolated":
            out[subnet_id] = _missing_endpoints(ec2, subnet, endpoints, required_endpoints(spec, region))
        elif subnet["type"] == "private":
            out[subnet_id] = _nat_problems(ec2, subnet, known)
        else:
            out[subnet_id] = []
    return out


def _missing_endpoints(
    ec2: Any, subnet: dict[str, Any], endpoints: list[dict[str, Any]], needed: list[str]
) -> list[dict[str, str]]:
    missing = []
    for service in needed:
        matching = [
            e
            for e in endpoints
            if e["ServiceName"] == service and e.get("State", "available").lower() == "available"
        ]
        if not matching:
            missing.append({"service": service, "reason": "no VPC endpoint"})
        elif service.rsplit(".", 1)[1] in GATEWAY_SERVICES and any(
            e.get("VpcEndpointType") == "Gateway" for e in matching
        ):
            if not any(subnet["route_table"] in e.get("RouteTableIds", []) for e in matching):
                missing.append(
                    {
                        "service": service,
                        "reason": f"the gateway endpoint is not in route table {subnet['route_table']}",
                    }
                )
        else:
            reason = _interface_problem(ec2, subnet, matching)
            if reason:
                missing.append({"service": service, "reason": reason})
    return missing


def _interface_problem(ec2: Any, subnet: dict[str, Any], endpoints: list[dict[str, Any]]) -> str:
    zones = {}
    for endpoint in endpoints:
        for sid in endpoint.get("SubnetIds", []):
            zones[sid] = endpoint
    in_zone = [e for sid, e in zones.items() if _zone_of(ec2, sid) == subnet["availability_zone"]]
    if not in_zone:
        return f"no interface endpoint in {subnet['availability_zone']}"
    groups = [g["GroupId"] for e in in_zone for g in e.get("Groups", [])]
    if not groups or not _allows_https_from(ec2, groups, subnet["cidr"]):
        return f"the endpoint's security groups do not allow TCP 443 from {subnet['cidr']}"
    return ""


def _zone_of(ec2: Any, subnet_id: str) -> str:
    found = ec2.describe_subnets(SubnetIds=[subnet_id])["Subnets"]
    return found[0]["AvailabilityZone"] if found else ""


def _allows_https_from(ec2: Any, group_ids: list[str], cidr: str) -> bool:
    network = ipaddress.IPv4Network(cidr)
    for group in ec2.describe_security_groups(GroupIds=group_ids)["SecurityGroups"]:
        for rule in group.get("IpPermissions", []):
            protocol = str(rule.get("IpProtocol"))
            ports_ok = protocol == "-1" or (
                protocol == "tcp" and rule.get("FromPort", 0) <= 443 <= rule.get("ToPort", 0)
            )
            if ports_ok and any(
                network.subnet_of(ipaddress.IPv4Network(r["CidrIp"])) for r in rule.get("IpRanges", [])
            ):
                return True
    return False


def _nat_problems(ec2: Any, subnet: dict[str, Any], known: dict[str, dict[str, Any]]) -> list[dict[str, str]]:
    table = (
        ec2.describe_route_tables(RouteTableIds=[subnet["route_table"]])["RouteTables"][0]
        if subnet["route_table"]
        else {}
    )
    nat_ids = [r["NatGatewayId"] for r in table.get("Routes", []) if r.get("NatGatewayId")]
    if not nat_ids:
        return []  # a default route through something else (a firewall, a transit gateway): trusted
    problems = []
    for nat in ec2.describe_nat_gateways(NatGatewayIds=nat_ids)["NatGateways"]:
        home = known.get(nat["SubnetId"])
        if home is None or home["type"] != "public":
            problems.append(
                {"service": "*", "reason": f"NAT gateway {nat['NatGatewayId']} is not in a public subnet"}
            )
    return problems


# --- storage, streams, warehouses -----------------------------------------------------------------------


@calls("s3:ListBuckets")
def buckets(session: boto3.Session, region: str) -> list[dict[str, Any]]:
    s3 = _client(session, "s3", region)
    names = [b["Name"] for b in s3.list_buckets().get("Buckets", [])]

    def location(name: str) -> dict[str, Any]:
        try:
            where = s3.get_bucket_location(Bucket=name).get("LocationConstraint") or "us-east-1"
        except ClientError:
            where = ""  # not ours to read: listed without a region, never offered for this one
        return {"name": name, "region": where}

    with ThreadPoolExecutor(max_workers=20) as pool:
        found = list(pool.map(location, names))
    return [b for b in found if b["region"] == region]


@calls("s3:HeadBucket")
def bucket_problems(session: boto3.Session, region: str, *, name: str, account_id: str,
                    access_logs: bool) -> list[str]:  # fmt: skip
    """Why a bucket cannot hold the pipeline's data: missing, elsewhere, not the account's, or (with access
    logs on) a policy that does not let the load balancer write its logs."""
    s3 = _client(session, "s3", region)
    try:
        head = s3.head_bucket(Bucket=name, ExpectedBucketOwner=account_id)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code")
        if code in ("404", "NoSuchBucket"):
            return [f"Bucket {name} not found."]
        if code in ("403", "AccessDenied"):
            return [
                f"Bucket {name} is not owned by account {account_id}, or the portal's role may not read it."
            ]
        raise
    where = head.get("BucketRegion") or head.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get(
        "x-amz-bucket-region"
    )
    if where and where != region:
        return [f"Bucket {name} is in {where}, not in the pipeline's region {region}."]
    if access_logs and not _allows_elb_logs(s3, name, region):
        return [
            f"Bucket {name}'s policy does not let Elastic Load Balancing write access logs under clickstream/."
        ]
    return []


def _allows_elb_logs(s3: Any, bucket: str, region: str) -> bool:
    try:
        policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    except ClientError:
        return False
    account = ELB_ACCOUNTS.get(region, "")
    for statement in policy.get("Statement", []):
        principal = json.dumps(statement.get("Principal", ""))
        actions = statement.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        writes = any(a in ("s3:PutObject", "s3:*", "*") for a in actions)
        who = (
            account and f"iam::{account}:root" in principal
        ) or "logdelivery.elasticloadbalancing.amazonaws.com" in principal
        if statement.get("Effect") == "Allow" and writes and who:
            return True
    return False


@calls("kafka:ListClustersV2")
def msk_clusters(session: boto3.Session, region: str, *, vpc_id: str) -> list[dict[str, Any]]:
    kafka, ec2 = _client(session, "kafka", region), _client(session, "ec2", region)
    found = []
    for c in _pages(kafka, "list_clusters_v2", "ClusterInfoList"):
        provisioned = c.get("Provisioned") or {}
        serverless = (c.get("Serverless") or {}).get("VpcConfigs") or [{}]
        info = provisioned.get("BrokerNodeGroupInfo") or {}
        client_subnets = info.get("ClientSubnets") or serverless[0].get("SubnetIds") or []
        groups = info.get("SecurityGroups") or serverless[0].get("SecurityGroupIds") or []
        if (
            not client_subnets
            or ec2.describe_subnets(SubnetIds=client_subnets[:1])["Subnets"][0]["VpcId"] != vpc_id
        ):
            continue
        found.append({"name": c["ClusterName"], "arn": c["ClusterArn"], "type": c.get("ClusterType", ""),
                      "state": c.get("State", ""), "security_group_id": groups[0] if groups else ""})  # fmt: skip
    return found


@calls("kafka:ListNodes")
def msk_brokers(session: boto3.Session, region: str, *, cluster_arn: str) -> list[str]:
    """The brokers' endpoints on the plaintext port, as the original passes them to the stack."""
    kafka = _client(session, "kafka", region)
    nodes = _pages(kafka, "list_nodes", "NodeInfoList", ClusterArn=cluster_arn)
    return [f"{e}:9092" for n in nodes for e in (n.get("BrokerNodeInfo") or {}).get("Endpoints", [])]


@calls("redshift:DescribeClusters")
def redshift_clusters(session: boto3.Session, region: str, *, vpc_id: str = "") -> list[dict[str, Any]]:
    redshift = _client(session, "redshift", region)
    groups = {
        g["ClusterSubnetGroupName"]: g.get("VpcId", "")
        for g in _pages(redshift, "describe_cluster_subnet_groups", "ClusterSubnetGroups")
    }
    found = []
    for c in _pages(redshift, "describe_clusters", "Clusters"):
        cluster_vpc = c.get("VpcId") or groups.get(c.get("ClusterSubnetGroupName", ""), "")
        if vpc_id and cluster_vpc != vpc_id:
            continue
        found.append({"name": c["ClusterIdentifier"], "node_type": c.get("NodeType", ""), "status": c.get("ClusterStatus", ""),
                      "endpoint": c.get("Endpoint", {}), "master_username": c.get("MasterUsername", ""),
                      "vpc_id": cluster_vpc,
                      "security_groups": [g["VpcSecurityGroupId"] for g in c.get("VpcSecurityGroups", [])]})  # fmt: skip
    return found


@calls("redshift-serverless:ListWorkgroups")
def redshift_workgroups(session: boto3.Session, region: str) -> list[dict[str, Any]]:
    client = _client(session, "redshift-serverless", region)
    return [
        {"id": w["workgroupId"], "arn": w["workgroupArn"], "name": w["workgroupName"],
         "namespace": w.get("namespaceName", ""), "status": w.get("status", "")}
        for w in _pages(client, "list_workgroups", "workgroups")
    ]  # fmt: skip


# --- reporting, certificates, secrets, services ---------------------------------------------------------


@calls("quicksight:ListUsers")
def quicksight_users(session: boto3.Session, region: str, *, account_id: str) -> list[dict[str, Any]]:
    client = _client(session, "quicksight", region)
    users = _pages(client, "list_users", "UserList", AwsAccountId=account_id, Namespace="default")
    return [{"arn": u["Arn"], "name": u["UserName"], "email": u.get("Email", ""), "role": u.get("Role", ""),
             "active": u.get("Active", False)} for u in users]  # fmt: skip


@calls("acm:ListCertificates")
def certificates(session: boto3.Session, region: str) -> list[dict[str, Any]]:
    acm = _client(session, "acm", region)
    usable = ["RSA_1024", "RSA_2048", "RSA_3072", "RSA_4096", "EC_prime256v1", "EC_secp384r1"]
    found = _pages(acm, "list_certificates", "CertificateSummaryList", CertificateStatuses=["ISSUED"],
                   Includes={"keyTypes": usable})  # fmt: skip
    return [
        {"arn": c["CertificateArn"], "domain": c.get("DomainName", ""), "status": c.get("Status", "ISSUED")}
        for c in found
    ]


@calls("secretsmanager:ListSecrets")
def secrets(session: boto3.Session, region: str) -> list[dict[str, Any]]:
    client = _client(session, "secretsmanager", region)
    return [{"name": s["Name"], "arn": s["ARN"]} for s in _pages(client, "list_secrets", "SecretList")]


@calls("secretsmanager:GetSecretValue")
def secret_problems(session: boto3.Session, region: str, *, arn: str) -> list[str]:
    """The keys the authentication needs that the secret lacks; the value is read, checked and dropped."""
    value = (
        _client(session, "secretsmanager", region).get_secret_value(SecretId=arn).get("SecretString") or ""
    )
    try:
        data = json.loads(value)
    except ValueError:
        return ["The secret is not JSON: it must hold " + ", ".join(AUTH_SECRET_KEYS) + "."]
    missing = [k for k in AUTH_SECRET_KEYS if not isinstance(data, dict) or not data.get(k)]
    return [f"The secret lacks {', '.join(missing)}."] if missing else []


@calls("cloudformation:DescribeType")
def services_available(session: boto3.Session, region: str, *, services: list[str]) -> list[dict[str, Any]]:
    """Whether the region offers each service, as the original asks CloudFormation for its resource type."""
    cfn = _client(session, "cloudformation", region)

    def available(service: str) -> bool:
        if service not in SERVICE_TYPES:
            return False
        try:
            return bool(cfn.describe_type(Type="RESOURCE", TypeName=SERVICE_TYPES[service]).get("Arn"))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("TypeNotFoundException", "CFNRegistryException"):
                return False
            raise

    return [{"service": s, "available": available(s)} for s in services]


# --- a spec against the account -------------------------------------------------------------------------


@dataclass(frozen=True)
class AccountCheck:
    problems: list[Problem]
    subnet_azs: dict[str, str]
    failed: list[str]  # look-ups that could not run, as "call failed: reason"


def account_check(session: boto3.Session, *, spec: dict[str, Any], account_id: str) -> AccountCheck:
    """The spec's resources against the account: subnets exist in the VPC and reach what they must, the
    bucket is usable, the certificate is issued, the secret has its keys, the chosen Redshift and MSK
    exist. A look-up that fails is reported, and the rest still run."""
    region = str(get(spec, "aws.region", ""))
    problems: list[Problem] = []
    failed: list[str] = []
    azs: dict[str, str] = {}

    def attempt(fn: Callable[[], None]) -> None:
        try:
            fn()
        except LookupFailed as exc:
            failed.append(str(exc))

    vpc_id = str(get(spec, "network.vpc_id", ""))

    def network() -> None:
        found = {s["id"]: s for s in subnets(session, region, vpc_id=vpc_id)}
        azs.update({k: s["availability_zone"] for k, s in found.items()})
        for key in ("public_subnet_ids", "private_subnet_ids"):
            absent = [s for s in get(spec, f"network.{key}") or [] if s not in found]
            if absent:
                problems.append(
                    Problem(f"network.{key}", f"Not subnets of {vpc_id} in {region}: {', '.join(absent)}.")
                )
        private = [s for s in get(spec, "network.private_subnet_ids") or [] if s in found]
        for subnet_id, missing in subnet_reachability(
            session, region, vpc_id=vpc_id, subnet_ids=private, spec=spec
        ).items():
            if missing:
                text = "; ".join(f"{m['service']}: {m['reason']}" for m in missing)
                problems.append(Problem("network.private_subnet_ids", f"{subnet_id} cannot reach {text}."))

    def bucket() -> None:
        for message in bucket_problems(session, region, name=str(get(spec, "bucket.name")), account_id=account_id,
                                       access_logs=bool(get(spec, "ingestion.access_logs"))):  # fmt: skip
            problems.append(Problem("bucket.name", message))

    def certificate() -> None:
        arn = get(spec, "ingestion.certificate_arn")
        if arn and arn not in {c["arn"] for c in certificates(session, region)}:
            problems.append(
                Problem("ingestion.certificate_arn", "No issued ACM certificate with this ARN in the region.")
            )

    def secret() -> None:
        arn = get(spec, "ingestion.authentication_secret_arn")
        if arn:
            problems.extend(
                Problem("ingestion.authentication_secret_arn", m)
                for m in secret_problems(session, region, arn=arn)
            )

    def redshift() -> None:
        mode = get(spec, "modeling.redshift.mode")
        if mode == "provisioned":
            name = get(spec, "modeling.redshift.provisioned.cluster_identifier")
            if name not in {c["name"] for c in redshift_clusters(session, region)}:
                problems.append(
                    Problem(
                        "modeling.redshift.provisioned.cluster_identifier",
                        f"No Redshift cluster {name} in {region}.",
                    )
                )
        elif mode == "existing_serverless":
            name = get(spec, "modeling.redshift.existing_serverless.workgroup_name")
            if name not in {w["name"] for w in redshift_workgroups(session, region)}:
                problems.append(
                    Problem(
                        "modeling.redshift.existing_serverless.workgroup_name",
                        f"No workgroup {name} in {region}.",
                    )
                )
        elif mode == "new_serverless":
            rs_vpc = str(get(spec, "modeling.redshift.new_serverless.vpc_id"))
            found = {s["id"]: s["availability_zone"] for s in subnets(session, region, vpc_id=rs_vpc)}
            azs.update(found)
            absent = [
                s for s in get(spec, "modeling.redshift.new_serverless.subnet_ids") or [] if s not in found
            ]
            if absent:
                problems.append(
                    Problem(
                        "modeling.redshift.new_serverless.subnet_ids",
                        f"Not subnets of {rs_vpc}: {', '.join(absent)}.",
                    )
                )

    def msk() -> None:
        arn = get(spec, "ingestion.sink.kafka.msk_cluster_arn")
        if get(spec, "ingestion.sink.type") != "kafka" or not arn:
            return
        if arn not in {c["arn"] for c in msk_clusters(session, region, vpc_id=vpc_id)}:
            path = "ingestion.sink.kafka.msk_cluster_arn"
            problems.append(Problem(path, f"No MSK cluster with this ARN in {vpc_id}."))

    for step in (network, bucket, certificate, secret, redshift, msk):
        attempt(step)
    return AccountCheck(problems=problems, subnet_azs=azs, failed=failed)


# --- by name, for the API and the wizard's pickers ------------------------------------------------------

LOOKUPS: dict[str, tuple[Callable[..., Any], tuple[str, ...]]] = {
    "regions": (regions, ()), "vpcs": (vpcs, ()), "subnets": (subnets, ("vpc_id",)),
    "security_groups": (security_groups, ("vpc_id",)), "buckets": (buckets, ()),
    "msk_clusters": (msk_clusters, ("vpc_id",)), "msk_brokers": (msk_brokers, ("cluster_arn",)),
    "redshift_clusters": (redshift_clusters, ()), "redshift_workgroups": (redshift_workgroups, ()),
    "quicksight_users": (quicksight_users, ("account_id",)), "certificates": (certificates, ()),
    "secrets": (secrets, ()), "services": (services_available, ("services",)),
}  # fmt: skip


class MissingParameter(ValueError):
    pass


def lookup(session: boto3.Session, region: str, kind: str, params: dict[str, Any]) -> list[Any]:
    """Run the look-up `kind` with the parameters it needs (others are ignored)."""
    fn, needed = LOOKUPS[kind]
    missing = [p for p in needed if not params.get(p)]
    if missing:
        raise MissingParameter(f"The {kind} look-up needs {', '.join(missing)}.")
    kwargs = {p: params[p] for p in needed}
    if kind == "redshift_clusters" and params.get("vpc_id"):
        kwargs["vpc_id"] = params["vpc_id"]
    return fn(session, region, **kwargs)

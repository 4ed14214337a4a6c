"""Look-ups against moto-created resources; Stubber (AWS-shaped responses) where moto does not model the
service: Redshift Serverless ListWorkgroups, QuickSight ListUsers, Kafka ListNodes, CloudFormation DescribeType."""

from __future__ import annotations

import datetime
import json

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from pipelines import lookups
from tests.pipelines.specs import ACCOUNT, aws_spec

REGION = "us-east-1"


@pytest.fixture
def session():
    with mock_aws():
        yield boto3.Session(region_name=REGION)


@pytest.fixture
def network(session):
    """A VPC with public subnets (internet gateway), private ones (NAT) and isolated ones (endpoints)."""
    ec2 = session.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    ids = {}
    for name, cidr, az in [("pub-a", "10.0.0.0/24", "a"), ("pub-b", "10.0.1.0/24", "b"),
                           ("priv-a", "10.0.10.0/24", "a"), ("priv-b", "10.0.11.0/24", "b"),
                           ("iso-a", "10.0.20.0/24", "a"), ("iso-b", "10.0.21.0/24", "b")]:  # fmt: skip
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock=cidr, AvailabilityZone=f"{REGION}{az}")["Subnet"][
            "SubnetId"
        ]
        ec2.create_tags(Resources=[subnet], Tags=[{"Key": "Name", "Value": name}])
        ids[name] = subnet
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    public_rt = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=public_rt, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    eip = ec2.allocate_address(Domain="vpc")["AllocationId"]
    nat = ec2.create_nat_gateway(SubnetId=ids["pub-a"], AllocationId=eip)["NatGateway"]["NatGatewayId"]
    private_rt = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=private_rt, DestinationCidrBlock="0.0.0.0/0", NatGatewayId=nat)
    isolated_rt = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    for name, table in [("pub-a", public_rt), ("pub-b", public_rt), ("priv-a", private_rt), ("priv-b", private_rt),
                        ("iso-a", isolated_rt), ("iso-b", isolated_rt)]:  # fmt: skip
        ec2.associate_route_table(RouteTableId=table, SubnetId=ids[name])
    sg = ec2.create_security_group(GroupName="endpoints", Description="HTTPS from the VPC", VpcId=vpc)[
        "GroupId"
    ]
    ec2.authorize_security_group_ingress(GroupId=sg, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "10.0.0.0/16"}]}])  # fmt: skip
    return {"vpc": vpc, "ec2": ec2, "sg": sg, "isolated_rt": isolated_rt, **ids}


def test_regions_are_the_pipeline_regions_the_account_has(session):
    found = [r["id"] for r in lookups.regions(session, REGION)]
    assert "us-east-1" in found and "eu-west-1" in found
    assert "il-central-1" not in found  # enabled in the account, but not a pipeline region


def test_vpcs_and_security_groups(session, network):
    assert network["vpc"] in {v["id"] for v in lookups.vpcs(session, REGION)}
    groups = lookups.security_groups(session, REGION, vpc_id=network["vpc"])
    assert {"id": network["sg"], "name": "endpoints", "description": "HTTPS from the VPC"} in groups


def test_subnets_have_zone_and_kind_from_their_route_table(session, network):
    found = {
        s["name"]: (s["availability_zone"], s["type"])
        for s in lookups.subnets(session, REGION, vpc_id=network["vpc"])
    }
    assert found["pub-a"] == ("us-east-1a", "public")
    assert found["priv-b"] == ("us-east-1b", "private")
    assert found["iso-a"] == ("us-east-1a", "isolated")


def test_isolated_subnets_must_reach_each_service_through_endpoints(session, network):
    spec = aws_spec()
    missing = lookups.subnet_reachability(
        session, REGION, vpc_id=network["vpc"], subnet_ids=[network["iso-a"]], spec=spec
    )
    services = {m["service"] for m in missing[network["iso-a"]]}
    assert {"com.amazonaws.us-east-1.s3", "com.amazonaws.us-east-1.ecr.dkr", "com.amazonaws.us-east-1.kinesis-streams",
            "com.amazonaws.us-east-1.emr-serverless"} <= services  # fmt: skip
    ec2 = network["ec2"]
    ec2.create_vpc_endpoint(VpcId=network["vpc"], ServiceName="com.amazonaws.us-east-1.s3", VpcEndpointType="Gateway",
                            RouteTableIds=[network["isolated_rt"]])  # fmt: skip
    for service in lookups.required_endpoints(spec, REGION):
        if not service.endswith(".s3"):
            ec2.create_vpc_endpoint(VpcId=network["vpc"], ServiceName=service, VpcEndpointType="Interface",
                                    SubnetIds=[network["iso-a"]], SecurityGroupIds=[network["sg"]])  # fmt: skip
    after = lookups.subnet_reachability(
        session, REGION, vpc_id=network["vpc"], subnet_ids=[network["iso-a"], network["iso-b"]], spec=spec
    )
    assert after[network["iso-a"]] == []
    assert {m["reason"] for m in after[network["iso-b"]]} == {"no interface endpoint in us-east-1b"}


def test_interface_endpoint_whose_group_refuses_https_is_reported(session, network):
    ec2 = network["ec2"]
    closed = ec2.create_security_group(GroupName="closed", Description="nothing in", VpcId=network["vpc"])[
        "GroupId"
    ]
    ec2.create_vpc_endpoint(VpcId=network["vpc"], ServiceName="com.amazonaws.us-east-1.logs", VpcEndpointType="Interface",
                            SubnetIds=[network["iso-a"]], SecurityGroupIds=[closed])  # fmt: skip
    missing = lookups.subnet_reachability(
        session, REGION, vpc_id=network["vpc"], subnet_ids=[network["iso-a"]], spec=aws_spec()
    )
    assert {
        "service": "com.amazonaws.us-east-1.logs",
        "reason": "the endpoint's security groups do not allow TCP 443 from 10.0.20.0/24",
    } in missing[network["iso-a"]]


def test_private_subnets_through_a_nat_in_a_public_subnet_reach_everything(session, network):
    found = lookups.subnet_reachability(
        session, REGION, vpc_id=network["vpc"], subnet_ids=[network["priv-a"]], spec=aws_spec()
    )
    assert found == {network["priv-a"]: []}


def test_buckets_of_the_region_and_their_problems(session):
    s3 = session.client("s3")
    s3.create_bucket(Bucket="shop-data")
    s3.create_bucket(Bucket="elsewhere", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    assert lookups.buckets(session, REGION) == [{"name": "shop-data", "region": "us-east-1"}]
    assert (
        lookups.bucket_problems(session, REGION, name="shop-data", account_id=ACCOUNT, access_logs=False)
        == []
    )
    assert (
        "not found"
        in lookups.bucket_problems(session, REGION, name="nope", account_id=ACCOUNT, access_logs=False)[0]
    )
    assert (
        "is in eu-west-1"
        in lookups.bucket_problems(session, REGION, name="elsewhere", account_id=ACCOUNT, access_logs=False)[
            0
        ]
    )
    assert (
        "access logs"
        in lookups.bucket_problems(session, REGION, name="shop-data", account_id=ACCOUNT, access_logs=True)[0]
    )
    s3.put_bucket_policy(Bucket="shop-data", Policy=json.dumps({"Statement": [{
        "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::127311923021:root"}, "Action": "s3:PutObject",
        "Resource": "arn:aws:s3:::shop-data/clickstream/*"}]}))  # fmt: skip
    assert (
        lookups.bucket_problems(session, REGION, name="shop-data", account_id=ACCOUNT, access_logs=True) == []
    )


def test_redshift_clusters_in_a_vpc(session, network):
    redshift = session.client("redshift")
    redshift.create_cluster_subnet_group(ClusterSubnetGroupName="rs", Description="rs",
                                         SubnetIds=[network["priv-a"], network["priv-b"]])  # fmt: skip
    redshift.create_cluster(ClusterIdentifier="warehouse", NodeType="ra3.xlplus", MasterUsername="admin",
                            MasterUserPassword="Secret123!", ClusterSubnetGroupName="rs")  # fmt: skip
    found = lookups.redshift_clusters(session, REGION, vpc_id=network["vpc"])
    assert [(c["name"], c["master_username"]) for c in found] == [("warehouse", "admin")]
    assert lookups.redshift_clusters(session, REGION, vpc_id="vpc-0other") == []


def test_msk_clusters_of_the_vpc(session, network):
    kafka = session.client("kafka")
    arn = kafka.create_cluster_v2(ClusterName="events", Provisioned={
        "BrokerNodeGroupInfo": {"InstanceType": "kafka.m5.large", "ClientSubnets": [network["priv-a"], network["priv-b"]],
                                "SecurityGroups": [network["sg"]]},
        "KafkaVersion": "3.6.0", "NumberOfBrokerNodes": 2})["ClusterArn"]  # fmt: skip
    found = lookups.msk_clusters(session, REGION, vpc_id=network["vpc"])
    assert [(c["name"], c["arn"], c["security_group_id"]) for c in found] == [("events", arn, network["sg"])]


def test_certificates_issued(session):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "collect.example.com")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=30))
            .sign(key, hashes.SHA256()))  # fmt: skip
    arn = session.client("acm").import_certificate(
        Certificate=cert.public_bytes(serialization.Encoding.PEM),
        PrivateKey=key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                     serialization.NoEncryption()),
    )["CertificateArn"]  # fmt: skip
    assert {"arn": arn, "domain": "collect.example.com", "status": "ISSUED"} in lookups.certificates(
        session, REGION
    )


def test_secrets_and_the_keys_authentication_needs(session):
    client = session.client("secretsmanager")
    good = client.create_secret(
        Name="oidc", SecretString=json.dumps({k: "x" for k in lookups.AUTH_SECRET_KEYS})
    )["ARN"]
    bad = client.create_secret(Name="half", SecretString=json.dumps({"issuer": "https://id.example.com"}))[
        "ARN"
    ]
    assert {s["name"] for s in lookups.secrets(session, REGION)} == {"oidc", "half"}
    assert lookups.secret_problems(session, REGION, arn=good) == []
    assert "lacks userEndpoint" in lookups.secret_problems(session, REGION, arn=bad)[0]


def _stubbed(session, service, monkeypatch):
    client = session.client(service, region_name=REGION)
    monkeypatch.setattr(lookups, "_client", lambda s, name, region: client)
    return Stubber(client)


def test_redshift_serverless_workgroups_stubbed(session, monkeypatch):
    stub = _stubbed(session, "redshift-serverless", monkeypatch)
    stub.add_response("list_workgroups", {"workgroups": [{
        "workgroupId": "0b1c", "workgroupArn": f"arn:aws:redshift-serverless:{REGION}:{ACCOUNT}:workgroup/0b1c",
        "workgroupName": "analytics", "namespaceName": "shop", "status": "AVAILABLE"}]})  # fmt: skip
    with stub:
        assert lookups.redshift_workgroups(session, REGION)[0]["name"] == "analytics"


def test_quicksight_users_stubbed(session, monkeypatch):
    stub = _stubbed(session, "quicksight", monkeypatch)
    arn = f"arn:aws:quicksight:{REGION}:{ACCOUNT}:user/default/ana"
    stub.add_response("list_users", {"UserList": [{"Arn": arn, "UserName": "ana", "Email": "ana@example.com",
                                                   "Role": "ADMIN", "Active": True}], "Status": 200},
                      {"AwsAccountId": ACCOUNT, "Namespace": "default"})  # fmt: skip
    with stub:
        assert lookups.quicksight_users(session, REGION, account_id=ACCOUNT) == [
            {"arn": arn, "name": "ana", "email": "ana@example.com", "role": "ADMIN", "active": True}
        ]


def test_msk_brokers_stubbed(session, monkeypatch):
    stub = _stubbed(session, "kafka", monkeypatch)
    arn = f"arn:aws:kafka:{REGION}:{ACCOUNT}:cluster/events/1"
    stub.add_response("list_nodes", {"NodeInfoList": [
        {"BrokerNodeInfo": {"Endpoints": ["b-1.events.kafka.us-east-1.amazonaws.com"]}},
        {"BrokerNodeInfo": {"Endpoints": ["b-2.events.kafka.us-east-1.amazonaws.com"]}}]}, {"ClusterArn": arn})  # fmt: skip
    with stub:
        assert lookups.msk_brokers(session, REGION, cluster_arn=arn) == [
            "b-1.events.kafka.us-east-1.amazonaws.com:9092",
            "b-2.events.kafka.us-east-1.amazonaws.com:9092",
        ]


def test_services_offered_in_the_region_stubbed(session, monkeypatch):
    stub = _stubbed(session, "cloudformation", monkeypatch)
    stub.add_response("describe_type", {"Arn": f"arn:aws:cloudformation:{REGION}::type/resource/AWS-EMRServerless-Application"},
                      {"Type": "RESOURCE", "TypeName": "AWS::EMRServerless::Application"})  # fmt: skip
    stub.add_client_error("describe_type", "TypeNotFoundException", "not found", 404)
    with stub:
        assert lookups.services_available(session, REGION, services=["emr-serverless", "flink", "unknown"]) == [
            {"service": "emr-serverless", "available": True}, {"service": "flink", "available": False},
            {"service": "unknown", "available": False}]  # fmt: skip


def test_a_failing_call_says_which_and_why(session, monkeypatch):
    stub = _stubbed(session, "ec2", monkeypatch)
    stub.add_client_error(
        "describe_vpcs", "UnauthorizedOperation", "You are not authorized to perform this operation.", 403
    )
    with stub, pytest.raises(lookups.LookupFailed) as error:
        lookups.vpcs(session, REGION)
    assert error.value.call == "ec2:DescribeVpcs"
    assert error.value.reason == "UnauthorizedOperation: You are not authorized to perform this operation."


def test_account_check_of_a_spec(session, network):
    session.client("s3").create_bucket(Bucket="shop-data")
    spec = aws_spec(network__vpc_id=network["vpc"], network__public_subnet_ids=[network["pub-a"], network["pub-b"]],
                    network__private_subnet_ids=[network["iso-a"], "subnet-0missing"])  # fmt: skip
    check = lookups.account_check(session, spec=spec, account_id=ACCOUNT)
    found = {(p.path, p.message.split(":")[0]) for p in check.problems}
    assert ("network.private_subnet_ids", f"Not subnets of {network['vpc']} in us-east-1") in found
    assert any(
        p.message.startswith(f"{network['iso-a']} cannot reach com.amazonaws.us-east-1.s3")
        for p in check.problems
    )
    assert ("ingestion.certificate_arn", "No issued ACM certificate with this ARN in the region.") in {
        (p.path, p.message) for p in check.problems
    }
    assert check.subnet_azs[network["pub-a"]] == "us-east-1a" and check.failed == []

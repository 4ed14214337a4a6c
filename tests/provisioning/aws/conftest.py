"""An organization's AWS account under moto: the connection, a VPC with subnets in two zones, the bucket, and
an aws pipeline spec over them. `moto` unsets `AWS_ENDPOINT_URL` so every client goes to the in-process moto;
`moto_server` sets it to a `moto_server` so every client goes to it over HTTP."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from provisioning import reconciler

REGION = "us-east-1"
ROLE_ARN = "arn:aws:iam::123456789012:role/clickstream-portal"
BUCKET = "shop-lake"


@pytest.fixture
def aws_env(monkeypatch):  # type: ignore[no-untyped-def]
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": REGION}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    from portal.aws import clear_credentials_cache

    clear_credentials_cache()
    monkeypatch.setattr("provisioning.providers.aws.POLL_SECONDS", 0)
    yield
    clear_credentials_cache()


@pytest.fixture
def moto(aws_env):  # type: ignore[no-untyped-def]
    from moto import mock_aws

    with mock_aws():
        yield


@pytest.fixture
def account(cast):  # type: ignore[no-untyped-def]
    """Organization A's connected account. (STS in moto ignores the external id: the assume-role itself is
    tested in tests/portal; here it only hands the provider credentials.)"""
    from portal.models.aws import AwsAccount

    return AwsAccount.objects.unscoped().create(
        organization=cast.org_a, name="Prod", role_arn=ROLE_ARN, region=REGION
    )


def make_network() -> dict[str, Any]:
    """A VPC with a public and a private subnet in each of two zones, the pipeline bucket and a certificate,
    in whichever moto the environment points at (in-process, or the server of `AWS_ENDPOINT_URL`)."""
    ec2 = boto3.client("ec2", region_name=REGION)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets: dict[str, list[str]] = {}
    for i, (kind, zone) in enumerate([("public", "a"), ("public", "b"), ("private", "a"), ("private", "b")]):
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"{REGION}{zone}")
        subnets.setdefault(kind, []).append(subnet["Subnet"]["SubnetId"])
    boto3.client("s3", region_name=REGION).create_bucket(Bucket=BUCKET)
    acm = boto3.client("acm", region_name=REGION)
    certificate = acm.request_certificate(DomainName="collect.example.com")["CertificateArn"]
    return {"vpc_id": vpc, "certificate_arn": certificate, **subnets}


@pytest.fixture
def network(moto):  # type: ignore[no-untyped-def]
    return make_network()


@pytest.fixture
def moto_server(aws_env, monkeypatch):  # type: ignore[no-untyped-def]
    """`moto_server` on a free port of this machine, with `AWS_ENDPOINT_URL` pointing at it, so every client
    (the portal's session factory's, STS's included) speaks HTTP to it. It runs in threads of this process,
    so the patches of moto's classes below apply to it too. Yields the requests it served, as (service of
    the request's signature, user agent), for the test to see they went over HTTP."""
    import urllib.request

    from moto.moto_server import threaded_moto_server
    from moto.server import ThreadedMotoServer

    served: list[tuple[str, str]] = []
    real_make_server = threaded_moto_server.make_server

    def make_server(host, port, app, *args, **kwargs):  # type: ignore[no-untyped-def]
        def recording(environ, start_response):  # type: ignore[no-untyped-def]
            scope = environ.get("HTTP_AUTHORIZATION", "").split("Credential=")[-1].split(",")[0].split("/")
            served.append((scope[3] if len(scope) > 3 else "", environ.get("HTTP_USER_AGENT", "")))
            return app(environ, start_response)

        return real_make_server(host, port, recording, *args, **kwargs)

    monkeypatch.setattr(threaded_moto_server, "make_server", make_server)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", url)
    reset = urllib.request.Request(f"{url}/moto-api/reset", method="POST")
    urllib.request.urlopen(reset).close()  # the backends are this process's, shared with in-process moto
    try:
        yield served
    finally:
        urllib.request.urlopen(reset).close()
        server.stop()


@pytest.fixture
def server_network(moto_server):  # type: ignore[no-untyped-def]
    return make_network()


def moto_spec(account: Any, network: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """An aws spec moto's CloudFormation can run: S3 sink, no processing (moto refuses the DataProcessing
    template: `Fn::GetAtt` of `AWS::EMRServerless::Application`, a type it does not model)."""
    from pipelines.spec import default_sink
    from tests.pipelines.specs import aws_spec

    spec = aws_spec(**changes)
    spec["ingestion"]["sink"] = default_sink("s3", project_id="shop")
    spec["aws"] = {"account": str(account.uuid), "region": REGION}
    spec["network"].update(vpc_id=network["vpc_id"], public_subnet_ids=network["public"],
                           private_subnet_ids=network["private"])  # fmt: skip
    spec["bucket"] = {"name": BUCKET, "prefix": ""}
    spec["ingestion"]["certificate_arn"] = network["certificate_arn"]
    spec["processing"] = None
    spec["modeling"] = None
    spec["reporting"] = None
    spec["streaming"] = None
    return spec


@pytest.fixture
def no_crash():  # type: ignore[no-untyped-def]
    yield
    reconciler.CRASH_HOOK = None


@pytest.fixture(autouse=True)
def moto_termination_protection(monkeypatch):  # type: ignore[no-untyped-def]
    """moto does not implement UpdateTerminationProtection, nor refuse to delete a protected stack; this adds
    both as AWS behaves, so the tests see protection turned on at create and off only by delete."""
    from moto.cloudformation.exceptions import ValidationError
    from moto.cloudformation.responses import CloudFormationResponse
    from moto.core.responses import ActionResult

    def update_termination_protection(self):  # type: ignore[no-untyped-def]
        stack = self.cloudformation_backend.get_stack(self._get_param("StackName"))
        stack.enable_termination_protection = self._get_param("EnableTerminationProtection") in (True, "true")
        return ActionResult({"StackId": stack.stack_id})

    original = CloudFormationResponse.delete_stack

    def delete_stack(self):  # type: ignore[no-untyped-def]
        name = self._get_param("StackName")
        stacks = [s for s in self.cloudformation_backend.stacks.values() if name in (s.name, s.stack_id)]
        if any(s.enable_termination_protection and s.status != "DELETE_COMPLETE" for s in stacks):
            raise ValidationError(
                message=f"Stack [{name}] cannot be deleted while TerminationProtection is enabled"
            )
        return original(self)

    monkeypatch.setattr(CloudFormationResponse, "update_termination_protection",
                        update_termination_protection, raising=False)  # fmt: skip
    monkeypatch.setattr(CloudFormationResponse, "delete_stack", delete_stack)


@pytest.fixture(autouse=True)
def moto_ecr_names(monkeypatch):  # type: ignore[no-untyped-def]
    """moto names a repository without `RepositoryName` from the stack and logical id in mixed case, which
    its own ECR then refuses; CloudFormation generates a lowercase name. This lowercases it as AWS does."""
    from moto.ecr.models import Repository

    original = Repository.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    def create(cls, resource_name, *args, **kwargs):  # type: ignore[no-untyped-def]
        return original(cls, resource_name.lower(), *args, **kwargs)

    monkeypatch.setattr(Repository, "create_from_cloudformation_json", classmethod(create))

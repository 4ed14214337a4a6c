"""AWS account connections: the role ARN, the external id, the role template, the console link, the test.

moto ignores external ids and trust policies, so what we send is checked on the request itself (botocore's
`before-call` event); AccessDenied, which moto never answers for AssumeRole, comes from botocore's Stubber
with the error AWS returns.
"""

from __future__ import annotations

import json
import re
import socket
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import cfn_flip
import cfnlint.api
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from portal import aws, aws_accounts
from portal.models import AwsAccount

ROLE = "arn:aws:iam::123456789012:role/ClickstreamPortalAccess"
PRINCIPAL = "arn:aws:iam::111111111111:role/ClickstreamPortal"


@pytest.fixture(autouse=True)
def our_principal(aws_credentials: None, settings: Any) -> None:
    settings.CLICKSTREAM_AWS_PRINCIPAL_ARN = PRINCIPAL
    settings.CLICKSTREAM_AWS_TEMPLATE_BUCKET = ""
    aws_accounts._template_urls.clear()


@pytest.fixture
def account(cast: Any) -> AwsAccount:
    return AwsAccount.objects.unscoped().create(
        organization=cast.org_a, name="Production", role_arn=ROLE, region="eu-west-1", created_by=cast.alice
    )


# --- the model -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arn", "error"),
    [
        ("arn:aws:iam::12345:role/X", "Give an IAM role ARN"),
        ("arn:aws:iam::123456789012:user/X", "Give an IAM role ARN"),
        ("arn:aws:s3:::bucket", "Give an IAM role ARN"),
        ("arn:aws:iam::123456789012:role/Clickstream-Portal", "could change its own permissions"),
    ],
)
@pytest.mark.django_db
def test_a_role_arn_is_validated(cast, api, arn, error):
    response = api(cast.alice, cast.org_a).post(
        "/api/v1/organizations/org-a/aws-accounts/", {"name": "X", "role_arn": arn}, format="json"
    )
    assert response.status_code == 400
    assert error in response.json()["role_arn"][0]


@pytest.mark.django_db
def test_the_region_must_belong_to_the_roles_partition(cast, api):
    client = api(cast.alice, cast.org_a)
    china = {"name": "China", "role_arn": "arn:aws-cn:iam::123456789012:role/Portal", "region": "us-east-1"}
    response = client.post("/api/v1/organizations/org-a/aws-accounts/", china, format="json")
    assert response.status_code == 400
    assert "not a region of the aws-cn partition" in response.json()["region"][0]
    response = client.post(
        "/api/v1/organizations/org-a/aws-accounts/", {**china, "region": "cn-north-1"}, format="json"
    )
    assert response.status_code == 201, response.content


@pytest.mark.django_db
def test_the_external_id_is_ours_and_unguessable(cast, api, account):
    client = api(cast.alice, cast.org_a)
    body = {
        "name": "Staging",
        "role_arn": "arn:aws:iam::210987654321:role/Portal/With/Path",
        "external_id": "x",
    }
    created = client.post("/api/v1/organizations/org-a/aws-accounts/", body, format="json").json()
    assert created["external_id"] != "x" and len(created["external_id"]) >= 43
    assert created["external_id"] != account.external_id
    assert created["account_id"] == "210987654321"
    assert created["created_by"] == "alice@example.com"
    staged = AwsAccount.objects.for_organization(cast.org_a).get(name="Staging")
    assert (staged.role_path, staged.role_name) == ("/Portal/With/", "Path")


@pytest.mark.django_db
def test_a_name_is_unique_per_organization(cast, api, account):
    body = {"name": "Production", "role_arn": "arn:aws:iam::210987654321:role/Other"}
    response = api(cast.alice, cast.org_a).post(
        "/api/v1/organizations/org-a/aws-accounts/", body, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"name": ["An AWS account with this name is already connected."]}
    # Another organization may use the same name and the same role: its external id differs.
    other = api(cast.carol, cast.org_b).post(
        "/api/v1/organizations/org-b/aws-accounts/", {**body, "role_arn": ROLE}, format="json"
    )
    assert other.status_code == 201
    assert other.json()["external_id"] != account.external_id


# --- the role template -----------------------------------------------------------------------------------


def _template() -> dict[str, Any]:
    return json.loads(aws_accounts.role_template(principal_arn=PRINCIPAL).to_json())


def test_the_role_template_passes_cfn_lint():
    body = aws_accounts.role_template(principal_arn=PRINCIPAL).to_json()
    assert cfnlint.api.lint(body, regions=["us-east-1", "cn-north-1", "us-gov-west-1"]) == []
    # …and cfn-lint would see a mistake in it: an action that does not exist.
    broken = body.replace('"s3:GetObject"', '"s3:GetObjekt"')
    assert any("getobjekt" in str(m) for m in cfnlint.api.lint(broken, regions=["us-east-1"]))


def test_the_role_trusts_only_our_principal_with_the_external_id():
    role = _template()["Resources"]["PortalRole"]["Properties"]
    [statement] = role["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"AWS": {"Ref": "TrustedPrincipal"}}
    assert statement["Condition"] == {"StringEquals": {"sts:ExternalId": {"Ref": "ExternalId"}}}
    assert _template()["Parameters"]["TrustedPrincipal"]["Default"] == PRINCIPAL


def _statements() -> list[dict[str, Any]]:
    resources = _template()["Resources"].values()
    return [
        s
        for r in resources
        if r["Type"] == "AWS::IAM::ManagedPolicy"
        for s in r["Properties"]["PolicyDocument"]["Statement"]
    ]


READ_ONLY = re.compile(r":(List|Describe|Get|Validate)\w*$")
UNSCOPED_WRITES_WITH_A_REASON = {
    "ecs:RegisterTaskDefinition",  # task definitions take no resource ARN
    "ecs:DeregisterTaskDefinition",
    "cloudwatch:PutMetricData",  # limited to the Clickstream/* namespaces by a condition
    "redshift-data:ExecuteStatement",  # limited to this account by a condition
    "redshift-data:BatchExecuteStatement",
    "redshift-data:CancelStatement",
}


def test_only_reads_are_allowed_on_every_resource():
    for statement in _statements():
        if statement["Resource"] == "*":
            writes = [
                a
                for a in statement["Action"]
                if not READ_ONLY.search(a) and a not in UNSCOPED_WRITES_WITH_A_REASON
            ]
            assert writes == [], statement["Sid"]


def test_writes_are_scoped_to_our_names_and_the_role_cannot_edit_itself():
    for statement in _statements():
        if statement["Resource"] == "*":
            continue
        for resource in (
            statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        ):
            text = resource["Fn::Sub"] if isinstance(resource, dict) else resource
            assert "${AWS::AccountId}" in text or ":s3:::" in text or ":iam::aws:" in text, text
            if text.startswith("arn:${AWS::Partition}:iam::${AWS::AccountId}:role/"):
                assert text.endswith(("role/Clickstream-*", "role/aws-service-role/*"))
    assert not aws_accounts.DEFAULT_ROLE_NAME.startswith("Clickstream-")


def test_each_policy_fits_iams_size_limit():
    for resource in _template()["Resources"].values():
        if resource["Type"] == "AWS::IAM::ManagedPolicy":
            text = json.dumps(resource["Properties"]["PolicyDocument"], separators=(",", ":"))
            resolved = text.replace("${AWS::Partition}", "aws-us-gov").replace("${AWS::AccountId}", "1" * 12)
            assert len(resolved) < 6144


@pytest.mark.django_db
def test_the_downloaded_template_has_the_connections_values(cast, client, account):
    client.force_login(cast.alice)
    response = client.get(f"/o/org-a/aws-accounts/{account.uuid}/template/")
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="ClickstreamPortalAccess.yaml"'
    parameters = json.loads(cfn_flip.to_json(response.content.decode()))["Parameters"]
    assert parameters["ExternalId"]["Default"] == account.external_id
    assert parameters["RoleName"]["Default"] == "ClickstreamPortalAccess"
    assert parameters["TrustedPrincipal"]["Default"] == PRINCIPAL


@pytest.mark.django_db
def test_the_quick_create_link_opens_the_stack_with_its_parameters(cast, client, account, settings):
    settings.CLICKSTREAM_AWS_TEMPLATE_BUCKET = "portal-templates"
    with mock_aws():
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="portal-templates")
        client.force_login(cast.alice)
        page = client.get(f"/o/org-a/aws-accounts/{account.uuid}/").content.decode()
        link = re.search(r'href="(https://console[^"]+)"[^>]*id="quick-create"', page)
        assert link and link.group(1), page
        url = link.group(1).replace("&amp;", "&")
        stored = boto3.client("s3", region_name="us-east-1").list_objects_v2(Bucket="portal-templates")
        [template_object] = stored["Contents"]
    assert url.startswith(
        "https://console.aws.amazon.com/cloudformation/home?region=eu-west-1#/stacks/quickcreate?"
    )
    query = parse_qs(urlsplit(url).fragment.partition("?")[2])
    assert query["param_ExternalId"] == [account.external_id]
    assert query["param_RoleName"] == ["ClickstreamPortalAccess"]
    assert query["param_TrustedPrincipal"] == [PRINCIPAL]
    assert query["stackName"] == ["ClickstreamPortalAccess"]
    template_url = query["templateURL"][0]
    assert "portal-templates" in template_url and template_object["Key"] in template_url
    assert "Signature" in template_url or "X-Amz-Signature" in template_url


@pytest.mark.django_db
def test_without_a_template_bucket_the_page_offers_the_download(cast, client, account):
    client.force_login(cast.olivia)  # an operator may look
    page = client.get(f"/o/org-a/aws-accounts/{account.uuid}/").content.decode()
    assert 'id="quick-create"' not in page and 'id="template-download"' in page
    assert account.external_id in page and "Upload a template file" in page


def test_our_principal_is_found_and_an_assumed_role_becomes_its_role(settings, monkeypatch):
    settings.CLICKSTREAM_AWS_PRINCIPAL_ARN = ""
    monkeypatch.setattr(aws_accounts, "_principal", None)
    with mock_aws():
        assert aws_accounts.principal_arn().endswith(":123456789012:user/moto")  # moto's own user
        credentials = boto3.client("sts", region_name="us-east-1").assume_role(
            RoleArn="arn:aws:iam::123456789012:role/PortalTask", RoleSessionName="task"
        )["Credentials"]
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", credentials["AccessKeyId"])
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", credentials["SecretAccessKey"])
        monkeypatch.setenv("AWS_SESSION_TOKEN", credentials["SessionToken"])
        monkeypatch.setattr(aws_accounts, "_principal", None)
        assert aws_accounts.principal_arn() == "arn:aws:iam::123456789012:role/PortalTask"


# --- the connection test ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_connection_test_assumes_the_role_and_shows_the_account(cast, account, assume_role_calls):
    with mock_aws():
        result = aws_accounts.aws_account_test(account=account)
    assert result.ok and result.account_id == "123456789012"
    assert "Connected to account 123456789012" in result.message
    assert (
        assume_role_calls[0]["ExternalId"] == account.external_id and assume_role_calls[0]["RoleArn"] == ROLE
    )
    account.refresh_from_db()
    assert account.last_test_ok is True and account.last_tested_at is not None


@pytest.mark.django_db
def test_a_refused_assume_role_says_what_to_fix(cast, account, monkeypatch):
    original = aws.base_session

    def refusing(**kwargs: Any) -> Any:
        session = original(**kwargs)
        client = session.client("sts")
        stubber = Stubber(client)
        stubber.add_client_error(
            "assume_role",
            service_error_code="AccessDenied",
            service_message=f"User: {PRINCIPAL} is not authorized to perform: sts:AssumeRole on resource: {ROLE}",
            http_status_code=403,
        )
        stubber.activate()
        monkeypatch.setattr(session, "client", lambda *a, **k: client)
        return session

    monkeypatch.setattr(aws, "base_session", refusing)
    result = aws_accounts.aws_account_test(account=account)
    assert not result.ok and result.failed_call == "sts:AssumeRole"
    assert "does not trust our principal" in result.message and "external id does not match" in result.message
    assert PRINCIPAL in result.message
    account.refresh_from_db()
    assert account.last_test_ok is False and "external id" in account.last_test_message


@pytest.mark.django_db
def test_a_portal_without_credentials_says_so(cast, account, monkeypatch, tmp_path):
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    result = aws_accounts.aws_account_test(account=account)
    assert not result.ok and "no AWS credentials of its own" in result.message


@pytest.mark.django_db
def test_an_unreachable_sts_says_so(cast, account, monkeypatch, settings):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once we leave: nothing listens there
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    settings.CLICKSTREAM_AWS_MAX_ATTEMPTS = 1
    result = aws_accounts.aws_account_test(account=account)
    assert not result.ok and result.message.startswith("Could not reach AWS STS in eu-west-1")


@pytest.mark.django_db
def test_test_connection_from_the_page_and_the_api(cast, client, api, account):
    with mock_aws():
        client.force_login(cast.olivia)  # operators test; only admins change
        response = client.post(f"/o/org-a/aws-accounts/{account.uuid}/", follow=True)
        assert response.status_code == 200
        assert "Connected to account 123456789012" in response.content.decode()
        answer = api(cast.olivia, cast.org_a, read_only=False).post(
            f"/api/v1/organizations/org-a/aws-accounts/{account.uuid}/test/"
        )
    assert answer.status_code == 200
    assert answer.json()["ok"] is True and answer.json()["account_id"] == "123456789012"
    denied = api(cast.olivia, cast.org_a, read_only=False).patch(
        f"/api/v1/organizations/org-a/aws-accounts/{account.uuid}/", {"name": "Renamed"}, format="json"
    )
    assert denied.status_code == 403


@pytest.mark.django_db
def test_an_admin_connects_an_account_in_the_ui(cast, client):
    client.force_login(cast.alice)
    response = client.post(
        "/o/org-a/aws-accounts/add/", {"name": "Production", "role_arn": ROLE, "region": "eu-west-1"}
    )
    assert response.status_code == 302
    account = AwsAccount.objects.for_organization(cast.org_a).get()
    assert response["Location"] == account.get_absolute_url()
    assert account.created_by == cast.alice and account.account_id == "123456789012"
    refused = client.post(
        "/o/org-a/aws-accounts/add/", {"name": "Bad", "role_arn": "nope", "region": "eu-west-1"}
    )
    assert refused.status_code == 200 and "Give an IAM role ARN" in refused.content.decode()
    client.force_login(cast.olivia)
    assert client.get("/o/org-a/aws-accounts/add/").status_code == 403
    assert client.get("/o/org-a/aws-accounts/").status_code == 200

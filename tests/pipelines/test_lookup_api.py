"""Look-ups through the API and the wizard's htmx pickers, against moto_server over HTTP (AWS_ENDPOINT_URL)."""

from __future__ import annotations

import pytest

from tests.pipelines.specs import moto_world


@pytest.fixture(scope="module", autouse=True)
def world(moto_endpoint):
    return moto_world()


def lookup_url(cast, kind, org="org-a"):
    return f"/api/v1/organizations/{org}/aws-accounts/{cast.aws_account.uuid}/lookups/{kind}/"


def test_subnets_of_a_vpc(api, cast, world):
    response = api(cast.olivia, cast.org_a).get(lookup_url(cast, "subnets"), {"vpc_id": world["vpc"]})
    assert response.status_code == 200, response.json()
    kinds = {s["name"]: (s["type"], s["availability_zone"]) for s in response.json()["items"]}
    assert kinds["public-a"] == ("public", "us-east-1a") and kinds["private-b"] == ("private", "us-east-1b")


def test_a_missing_parameter_is_400_and_an_unknown_kind_404(api, cast):
    client = api(cast.alice, cast.org_a)
    assert "needs vpc_id" in client.get(lookup_url(cast, "subnets")).json()["detail"]
    assert client.get(lookup_url(cast, "nothing")).status_code == 404
    assert client.get(lookup_url(cast, "vpcs"), {"region": "mars-1"}).status_code == 400


def test_a_refused_call_is_502_naming_it(api, cast, world):
    # moto answers DescribeSubnets for an unknown VPC with nothing, but a malformed id is AWS's own refusal:
    response = api(cast.alice, cast.org_a).get(lookup_url(cast, "msk_brokers"), {"cluster_arn": "not-an-arn"})
    assert response.status_code == 502
    assert response.json()["call"] == "kafka:ListNodes" and response.json()["reason"]


def test_readers_and_outsiders(api, cast):
    assert api(cast.ann, cast.org_a).get(lookup_url(cast, "vpcs")).status_code == 403
    assert (
        api(cast.carol, cast.org_b).get(lookup_url(cast, "vpcs", org="org-b")).status_code == 404
    )  # not B's account


def test_picker_fragment_offers_the_accounts_subnets(login, cast, world):
    page = login(cast.alice).get(
        "/o/org-a/projects/shop/pipeline/lookups/subnets/",
        {"field": "private_subnet_ids", "aws_account": str(cast.aws_account.uuid), "region": "us-east-1",
         "vpc_id": world["vpc"], "private_subnet_ids": world["subnets"]["private-a"]},
        HTTP_HX_REQUEST="true",
    ).content.decode()  # fmt: skip
    assert '<select class="form-select" name="private_subnet_ids" id="id_private_subnet_ids" multiple' in page
    assert f'<option value="{world["subnets"]["private-a"]}" selected>private-a' in page


def test_picker_says_what_is_missing_and_keeps_the_field(login, cast):
    page = login(cast.alice).get("/o/org-a/projects/shop/pipeline/lookups/subnets/",
                                 {"field": "private_subnet_ids", "aws_account": str(cast.aws_account.uuid),
                                  "region": "us-east-1"}).content.decode()  # fmt: skip
    assert "needs a VPC" in page and 'name="private_subnet_ids"' in page
    page = (
        login(cast.alice)
        .get("/o/org-a/projects/shop/pipeline/lookups/vpcs/", {"field": "vpc_id"})
        .content.decode()
    )
    assert "Choose a connected AWS account and a region first." in page and 'name="vpc_id"' in page


def test_validate_runs_the_account_checks(api, cast, world):
    spec = world["spec"](bucket__name="no-such-bucket")
    body = api(cast.alice, cast.org_a).post("/api/v1/organizations/org-a/projects/shop/pipeline/validate/",
                                            {"spec": spec}, format="json").json()  # fmt: skip
    assert {"path": "bucket.name", "message": "Bucket no-such-bucket not found."} in body["problems"]
    assert body["lookup_failures"] == []
    good = api(cast.alice, cast.org_a).post("/api/v1/organizations/org-a/projects/shop/pipeline/validate/",
                                            {"spec": world["spec"]()}, format="json").json()  # fmt: skip
    assert good["valid"], good["problems"]


def test_plugins_api_lists_built_ins(api, cast):
    body = api(cast.ann, cast.org_a).get("/api/v1/organizations/org-a/plugins/").json()
    assert {(p["name"], p["kind"]) for p in body} >= {("clickstream", "transformer"), ("geo", "enricher")}

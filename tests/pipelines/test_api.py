"""The pipeline API: the same rules as the form, field errors on spec paths, 409 on a stale version."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from pipelines.models import Pipeline
from tests.pipelines.specs import aws_spec, local_spec
from tests.pipelines.test_spec import RULES


def url(org="org-a", project="shop", tail=""):
    return f"/api/v1/organizations/{org}/projects/{project}/pipeline/{tail}"


@pytest.fixture
def alice(api, cast):
    return api(cast.alice, cast.org_a)


def test_put_creates_then_get_reads_it(alice):
    response = alice.put(url(), {"version": 0, "spec": local_spec()}, format="json")
    assert response.status_code == 201, response.json()
    body = alice.get(url()).json()
    assert (body["version"], body["provider"], body["spec"]["processing"]["schedule"]) == (
        1,
        "local",
        "rate(1 hour)",
    )


def test_no_pipeline_is_404_with_what_to_do(alice):
    response = alice.get(url())
    assert response.status_code == 404 and "PUT one with version 0" in response.json()["detail"]


def test_bad_spec_is_400_with_every_field(alice):
    spec = aws_spec(ingestion__server_max=1, processing__schedule="rate(1 minute)")
    response = alice.put(url(), {"version": 0, "spec": spec}, format="json")
    assert response.status_code == 400
    errors = response.json()["spec"]
    assert "from 2" in errors["ingestion.server_max"][0] and "6 minutes" in errors["processing.schedule"][0]
    assert not Pipeline.objects.unscoped().exists()


@pytest.mark.parametrize(("changes", "path", "words"), RULES, ids=[r[1] for r in RULES])
def test_each_rule_is_a_400_on_its_field(alice, changes, path, words):
    response = alice.put(url(), {"version": 0, "spec": aws_spec(**changes)}, format="json")
    assert response.status_code == 400
    assert any(words in m for m in response.json()["spec"][path])


def test_stale_version_is_409(alice):
    alice.put(url(), {"version": 0, "spec": aws_spec()}, format="json")
    assert (
        alice.put(url(), {"version": 1, "spec": aws_spec(ingestion__server_max=8)}, format="json").status_code
        == 200
    )
    response = alice.put(url(), {"version": 1, "spec": aws_spec(ingestion__server_max=6)}, format="json")
    assert response.status_code == 409 and "Someone else saved" in response.json()["detail"]


def test_immutable_field_is_400_naming_it(alice):
    alice.put(url(), {"version": 0, "spec": aws_spec()}, format="json")
    response = alice.put(url(), {"version": 1, "spec": aws_spec(network__vpc_id="vpc-0ff")}, format="json")
    assert response.status_code == 400
    assert "Cannot change after creation" in response.json()["spec"]["network.vpc_id"][0]


def test_validate_reports_problems_or_the_plan(alice):
    bad = alice.post(url(tail="validate/"), {"spec": aws_spec(bucket__name="X")}, format="json").json()
    assert bad["valid"] is False and bad["problems"][0]["path"] == "bucket.name"
    good = alice.post(url(tail="validate/"), {"spec": aws_spec()}, format="json").json()
    assert good["valid"] and {i["action"] for i in good["plan"]} == {"create"}
    alice.put(url(), {"version": 0, "spec": aws_spec()}, format="json")
    change = alice.post(
        url(tail="validate/"), {"spec": aws_spec(ingestion__server_max=9)}, format="json"
    ).json()
    actions = {i["kind"]: (i["action"], i["changed"]) for i in change["plan"]}
    assert actions["Ingestion"] == ("update", [{"key": "ServerMax", "old": "4", "new": "9"}])
    assert actions["Metrics"] == ("unchanged", [])


def test_versions_list_and_detail_with_diff(alice, cast):
    alice.put(url(), {"version": 0, "spec": aws_spec()}, format="json")
    alice.put(
        url(),
        {"version": 1, "spec": aws_spec(ingestion__server_max=8), "summary": "More servers"},
        format="json",
    )
    listed = alice.get(url(tail="versions/")).json()["results"]
    assert [(v["number"], v["author"], v["summary"]) for v in listed] == [
        (2, "alice@example.com", "More servers"),
        (1, "alice@example.com", "Created."),
    ]
    detail = alice.get(url(tail="versions/2/")).json()
    assert detail["changes"] == [{"path": "ingestion.server_max", "old": 4, "new": 8}]
    assert alice.get(url(tail="versions/9/")).status_code == 404


def test_delete_requests_deletion(alice):
    alice.put(url(), {"version": 0, "spec": local_spec()}, format="json")
    response = alice.delete(url())
    assert response.status_code == 202 and response.json()["delete_requested"]


def test_other_organizations_pipeline_is_invisible(api, cast, alice):
    alice.put(url(), {"version": 0, "spec": local_spec()}, format="json")
    carol = api(cast.carol, cast.org_b)
    assert carol.get(url(org="org-b")).status_code == 404  # org B's own project has none
    assert carol.get(url()).status_code == 404
    assert carol.put(url(), {"version": 1, "spec": local_spec()}, format="json").status_code == 404
    assert carol.get(url(org="org-b", project="nope")).status_code == 404


def test_read_only_token_cannot_save(api, cast):
    reader = api(cast.alice, cast.org_a, read_only=True)
    assert reader.put(url(), {"version": 0, "spec": local_spec()}, format="json").status_code == 403


@pytest.mark.django_db(transaction=True)
def test_concurrent_saves_one_wins_the_other_gets_409(api, cast):
    """Two real requests on two database connections, both starting from version 1."""
    alice, olivia = api(cast.alice, cast.org_a), api(cast.olivia, cast.org_a)
    alice.put(url(), {"version": 0, "spec": aws_spec()}, format="json")
    barrier, codes = threading.Barrier(2), []

    def save(client, servers):
        barrier.wait()
        codes.append(
            client.put(
                url(), {"version": 1, "spec": aws_spec(ingestion__server_max=servers)}, format="json"
            ).status_code
        )
        connection.close()

    threads = [threading.Thread(target=save, args=(c, n)) for c, n in ((alice, 6), (olivia, 8))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes) == [200, 409]
    assert Pipeline.objects.unscoped().get().version_number == 2

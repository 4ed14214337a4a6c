"""The OpenAPI schema is valid, documents its errors, and the API keeps its word under generated input.

schemathesis runs every operation of the schema as an admin of an organization with data, with the path
parameters set to real objects so that generated bodies and queries reach the handlers instead of stopping
at 404. Each generated request runs in a savepoint that is rolled back, so a DELETE does not take the object
away from the requests after it. No request may end in a server error.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from types import SimpleNamespace

import pytest
import schemathesis
import yaml
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, settings
from moto import mock_aws
from rest_framework.test import APIClient
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from pipelines.services import pipeline_save
from portal import services
from portal.models import AuditLogEntry, AwsAccount, GroupMapping, Invitation, Job
from tests.pipelines.specs import local_spec

ERRORS = {"400", "401", "403", "404", "409"}


@pytest.fixture
def schema_file(db, tmp_path) -> dict:
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
    return yaml.safe_load((tmp_path / "schema.yaml").read_text())


def test_schema_generates_without_warnings(schema_file: dict) -> None:
    assert "/api/v1/organizations/{org}/projects/{project}/apps/" in schema_file["paths"]
    assert "/api/v1/health" in schema_file["paths"]
    assert "bearerAuth" in schema_file["components"]["securitySchemes"]
    # A project with a pipeline is deleted after it: the delete is accepted (202, the project deleting).
    delete = schema_file["paths"]["/api/v1/organizations/{org}/projects/{project}/"]["delete"]
    assert {"202", "204", "409"} <= set(delete["responses"])
    assert delete["responses"]["202"]["content"]["application/json"]["schema"]["$ref"].endswith("/Project")
    project = schema_file["components"]["schemas"]["Project"]["properties"]
    assert project["deleting"]["readOnly"] and project["delete_requested"]["readOnly"]


def test_every_operation_documents_its_errors(schema_file: dict) -> None:
    """401 and 403 everywhere, 404 where the path names an object, 400 where there is input, 409 on writes
    (and on the reads that declare it)."""
    operations = [
        (method.upper(), path, operation)
        for path, item in schema_file["paths"].items()
        for method, operation in item.items()
        if method in {"get", "post", "put", "patch", "delete"}
    ]
    assert len(operations) > 30
    for method, path, operation in operations:
        codes = set(operation["responses"])
        # The health report is open to anyone (no security requirement): it refuses no one.
        is_open = operation.get("security", [{}]) == [{}]
        assert ({"401", "403"} <= codes) is not is_open, (method, path)
        assert is_open == (path == "/api/v1/health"), (method, path)
        assert ("{" in path) == ("404" in codes), (method, path)
        # 409 on every write; a read has one only where it says when (templates of a local pipeline).
        assert (method != "GET") <= ("409" in codes), (method, path)
        # 400 where there is input to refuse: a body or query parameters (a body-less action such as an
        # invitation's resend has nothing to refuse).
        takes_input = "requestBody" in operation or any(
            p["in"] == "query" for p in operation.get("parameters", [])
        )
        assert takes_input == ("400" in codes), (method, path)
        if method in {"PUT", "PATCH"}:
            assert "400" in codes, (method, path)
        for code in codes & ERRORS:
            assert operation["responses"][code]["description"], (method, path, code)
    error = schema_file["components"]["schemas"]["Error"]
    assert error["required"] == ["detail"]


@pytest.fixture
def org_with_data(cast) -> SimpleNamespace:
    """Organization A with one of everything its endpoints list, and an admin token for alice."""
    org = cast.org_a
    Invitation.objects.for_organization(org).create(
        organization=org, email="dave@example.com", roles=["analyst"], invited_by=cast.alice
    )
    Job.objects.for_organization(org).create(organization=org, kind="etl.local", name="ETL run")
    GroupMapping.objects.for_organization(org).create(organization=org, group="engineers", roles=["operator"])
    AwsAccount.objects.for_organization(org).create(
        organization=org, name="fuzz", role_arn="arn:aws:iam::123456789012:role/Fuzz"
    )
    pipeline_save(project=cast.project_a, spec=local_spec(), author=cast.alice, expected_version=0)
    services.api_token_create(
        organization=org,
        user=cast.alice,
        name="ci",
        read_only=True,
        expires=timezone.now() + timedelta(days=9),
    )
    assert AuditLogEntry.objects.for_organization(org).exists()
    _, raw = services.api_token_create(organization=org, user=cast.alice, name="fuzz", read_only=False)
    objects = discover_objects(org.slug, raw)
    # The analytics collections are nested under the project's app; the walk's helper makes one of each.
    # Its AWS-pipeline project `store` is where the template routes are aimed (a local one has none).
    from tests.test_tenancy_walk import analytics_objects, aws_pipeline_project

    aws_pipeline_project(cast)
    from tests.test_tenancy_walk import alarm_objects

    made = analytics_objects(cast)
    objects["alarms"] = str(alarm_objects(cast)["alarm"])
    for collection, key in [("dashboards", "customdashboard"), ("analyses", "savedanalysis"),
                            ("events", "eventmetadata"), ("attributes", "attributemetadata")]:  # fmt: skip
        objects[collection] = str(made[key])
    return SimpleNamespace(org=org, token=raw, objects=objects)


def discover_objects(org: str, token: str) -> dict[str, str]:
    """The last object of each list endpoint, by collection name (`members` → a membership's id), found
    through the API itself so that an endpoint added later is covered without a change here."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    found = {}
    for collection in [
        "members",
        "invitations",
        "audit-log",
        "tokens",
        "jobs",
        "group-mappings",
        "aws-accounts",
    ]:
        results = client.get(f"/api/v1/organizations/{org}/{collection}/").json()["results"]
        assert results, f"no {collection} to aim the generated requests at"
        found[collection] = str(results[-1]["id"])
    return found


@pytest.fixture
def api_schema(org_with_data) -> Iterator[object]:
    """The schema, served by the real WSGI application inside the test's transaction.

    Like Django's test client, keep the request signals from closing the test's database connection.
    """
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    from portal.wsgi import application

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    with mock_aws():  # the AWS account endpoints (test, look-ups) call AWS: moto answers
        yield schemathesis.openapi.from_wsgi("/api/v1/schema/", application)
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


schema = schemathesis.pytest.from_fixture("api_schema")

# The collection an object parameter belongs to, also for an action on it (`invitations/{uuid}/resend/`).
COLLECTION = re.compile(r"/(?P<collection>[\w-]+)/\{[\w]+\}/(?:[\w-]+/)?$")


def aim_at_real_objects(case: object, data: SimpleNamespace) -> None:
    """Path parameters name organization A, its project `shop` (`store`, on AWS, for the templates), its app
    `web` and the objects found."""
    parameters = case.path_parameters  # type: ignore[attr-defined]
    if not parameters:
        return
    # The first version of the project's pipeline, and an account look-up moto answers (see `api_schema`).
    known = {
        "org": data.org.slug,
        "project": "shop",
        "app": "web",
        "number": 1,
        "kind": "vpcs",
        "sheet": "overview",
        "stack": "Ingestion",
    }
    if "/pipeline/templates/" in case.path:  # type: ignore[attr-defined]
        known["project"] = "store"
    known["account"] = data.objects["aws-accounts"]
    for name in parameters:
        if name in known:
            parameters[name] = known[name]
        else:
            match = COLLECTION.search(case.path)  # type: ignore[attr-defined]
            assert match and match["collection"] in data.objects, f"no object for {case.path}"  # type: ignore[attr-defined]
            parameters[name] = data.objects[match["collection"]]


def _call_and_validate(case, data: SimpleNamespace) -> None:  # type: ignore[no-untyped-def]
    aim_at_real_objects(case, data)
    with transaction.atomic():
        case.call_and_validate(
            headers={"Authorization": f"Bearer {data.token}"},
            checks=[not_a_server_error, response_schema_conformance],
        )
        transaction.set_rollback(True)


# Two halves of the API, so that each is one test of its own (under the per-test timeout, and on both workers
# of the suite): the analytics endpoints, whose query bodies give the most generated cases, and the rest.
ANALYTICS = r"/analytics/"


@schema.include(path_regex=ANALYTICS).parametrize()
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
def test_analytics_api_has_no_server_errors_and_matches_its_schema(case, org_with_data) -> None:
    _call_and_validate(case, org_with_data)


@schema.exclude(path_regex=ANALYTICS).parametrize()
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_has_no_server_errors_and_matches_its_schema(case, org_with_data) -> None:
    _call_and_validate(case, org_with_data)

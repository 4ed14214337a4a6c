"""The OpenAPI schema is valid, and the API keeps its word under generated input (schemathesis)."""

from __future__ import annotations

import pytest
import schemathesis
from django.core.management import call_command
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from portal import services


@pytest.mark.django_db
def test_schema_generates_without_warnings(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
    text = (tmp_path / "schema.yaml").read_text()
    assert "/api/v1/organizations/{org}/projects/{project}/apps/" in text and "bearerAuth" in text


@pytest.fixture
def api_schema(db):
    """The schema, served by the real WSGI application inside the test's transaction.

    Like Django's test client, keep the request signals from closing the test's database connection.
    """
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    from portal.wsgi import application

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield schemathesis.openapi.from_wsgi("/api/v1/schema/", application)
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


schema = schemathesis.pytest.from_fixture("api_schema")

# Real objects behind the path parameters, so generated requests reach the handlers instead of stopping at 404.
PATH_VALUES = {"org": "org-a", "project": "shop", "app": "web"}


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_has_no_server_errors_and_matches_its_schema(case, cast):
    _, raw = services.api_token_create(organization=cast.org_a, user=cast.alice, name="fuzz", read_only=False)
    for name, value in PATH_VALUES.items():
        if case.path_parameters and name in case.path_parameters:
            case.path_parameters[name] = value
    case.call_and_validate(
        headers={"Authorization": f"Bearer {raw}"},
        checks=[not_a_server_error, response_schema_conformance],
    )

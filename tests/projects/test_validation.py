"""Every project and app rule, checked through all three doors: the UI form, the API and Django admin."""

from __future__ import annotations

import pytest

from pipelines.models import Pipeline
from projects.models import App, Project

PROJECTS = "/api/v1/organizations/org-a/projects/"
APPS = "/api/v1/organizations/org-a/projects/shop/apps/"


def project_body(**overrides):
    return {
        "project_id": "web_shop",
        "name": "Web shop",
        "emails": "a@example.com, b@example.com",
        **overrides,
    }


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("project_id", "Shop", "starts with a lowercase letter"),
        ("project_id", "_shop", "starts with a lowercase letter"),
        ("project_id", "1shop", "starts with a lowercase letter"),
        ("project_id", "shop-1", "starts with a lowercase letter"),
        ("project_id", "a" * 128, "no more than 127 characters"),
        ("project_id", "shop", "already exists in this organization"),
        ("emails", "not-an-email", "Not a valid email address: not-an-email"),
        ("emails", "a@example.com,, b@", "Not a valid email address: b@"),
        ("emails", "", "This field may not be blank"),
        ("environment", "Staging", "is not a valid choice"),
        ("description", "x" * 1025, "no more than 1024 characters"),
    ],
)
@pytest.mark.django_db
def test_project_rules_in_the_api(cast, api, field, value, message):
    response = api(cast.alice, cast.org_a).post(PROJECTS, project_body(**{field: value}), format="json")
    assert response.status_code == 400
    assert message in str(response.json()[field]), response.json()


@pytest.mark.django_db
def test_project_rules_in_the_ui_form(cast, login):
    client = login(cast.alice)
    response = client.post("/o/org-a/projects/add/", project_body(project_id="shop", emails="nope"))
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "already exists in this organization" in errors["project_id"][0]
    assert "Not a valid email address: nope" in errors["emails"][0]
    assert b'data-field="project_id"' in response.content  # shown next to the field


@pytest.mark.django_db
def test_project_rules_in_django_admin(cast, staff_client):
    client = staff_client
    response = client.post(
        "/admin/projects/project/add/",
        {
            "organization": cast.org_a.pk,
            **project_body(project_id="shop"),
            "apps-TOTAL_FORMS": 0,
            "apps-INITIAL_FORMS": 0,
        },
    )
    assert response.status_code == 200
    assert "already exists in this organization" in str(response.context["adminform"].form.errors)


@pytest.mark.django_db
def test_same_project_id_in_another_organization_is_fine(cast, api):
    response = api(cast.carol, cast.org_b).post(
        "/api/v1/organizations/org-b/projects/", project_body(), format="json"
    )
    assert response.status_code == 201, response.json()
    assert Project.objects.for_organization(cast.org_b).filter(project_id="web_shop").exists()


@pytest.mark.django_db
def test_project_id_is_immutable(cast, api):
    client = api(cast.alice, cast.org_a)
    response = client.patch(f"{PROJECTS}shop/", {"project_id": "renamed"}, format="json")
    assert response.status_code == 400
    assert "cannot be changed" in response.json()["project_id"][0]
    assert client.patch(f"{PROJECTS}shop/", {"name": "Renamed"}, format="json").status_code == 200


@pytest.mark.django_db
def test_project_id_field_is_disabled_when_editing_in_the_ui(cast, login):
    client = login(cast.alice)
    client.post("/o/org-a/projects/shop/edit/", project_body(project_id="changed", name="New name"))
    project = Project.objects.for_organization(cast.org_a).get(name="New name")
    assert project.project_id == "shop"


@pytest.mark.django_db
def test_html_is_stored_as_text_and_escaped(cast, login):
    client = login(cast.alice)
    client.post("/o/org-a/projects/add/", project_body(name="<script>alert(1)</script>"))
    assert (
        Project.objects.for_organization(cast.org_a).get(project_id="web_shop").name
        == "<script>alert(1)</script>"
    )
    page = client.get("/o/org-a/projects/web_shop/").content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


@pytest.mark.django_db
def test_project_without_a_pipeline_is_deleted_with_its_apps(cast, api):
    assert api(cast.alice, cast.org_a).delete(f"{PROJECTS}shop/").status_code == 204
    assert not App.objects.for_organization(cast.org_a).exists()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("app_id", "1app", "starts with a letter"),
        ("app_id", "my-app", "starts with a letter"),
        ("app_id", "web", "already exists in this project"),
        ("timezone", "Mars/Olympus", "not an IANA time zone"),
        ("platforms", ["Web", "Symbian"], "is not a valid choice"),
        ("android_package", "shop", "looks like com.example.shop"),
        ("ios_bundle_id", "com example", "looks like com.example.shop"),
    ],
)
@pytest.mark.django_db
def test_app_rules_in_the_api(cast, api, field, value, message):
    body = {"app_id": "android_app", "name": "Android", "timezone": "Asia/Shanghai", field: value}
    response = api(cast.alice, cast.org_a).post(APPS, body, format="json")
    assert response.status_code == 400
    assert message in str(response.json()[field]), response.json()


@pytest.mark.django_db
def test_app_is_created_with_valid_fields(cast, api):
    body = {
        "app_id": "Shop_Android",
        "name": "Shop for Android",
        "platforms": ["Android"],
        "android_package": "com.example.shop",
        "timezone": "Europe/Berlin",
    }
    response = api(cast.alice, cast.org_a).post(APPS, body, format="json")
    assert response.status_code == 201, response.json()
    app = App.objects.for_organization(cast.org_a).get(app_id="Shop_Android")
    assert (app.project, app.timezone, app.platforms) == (cast.project_a, "Europe/Berlin", ["Android"])


@pytest.mark.django_db
def test_app_time_zone_is_fixed_once_data_has_arrived(cast, api):
    from django.utils import timezone

    client = api(cast.alice, cast.org_a)
    assert client.patch(f"{APPS}web/", {"timezone": "Asia/Tokyo"}, format="json").status_code == 200
    App.objects.for_organization(cast.org_a).filter(app_id="web").update(data_since=timezone.now())
    response = client.patch(f"{APPS}web/", {"timezone": "Europe/Paris"}, format="json")
    assert response.status_code == 400
    assert "cannot change once data has arrived" in response.json()["timezone"][0]


@pytest.mark.django_db
def test_unknown_project_and_app_are_404(cast, api):
    client = api(cast.alice, cast.org_a)
    assert client.get("/api/v1/organizations/org-a/projects/nope/apps/").status_code == 404
    assert client.get(f"{APPS}nope/").status_code == 404
    assert client.get("/api/v1/organizations/nope/projects/").status_code == 404


@pytest.mark.django_db
def test_app_page_shows_the_integration_guide(cast, login):
    page = login(cast.ann).get("/o/org-a/projects/shop/apps/web/").content.decode()
    assert "@aws/clickstream-web" in page and "appId: &#x27;web&#x27;" in page
    assert "software.aws.solution:clickstream" in page and "ClickstreamAnalytics.initSDK" in page
    assert "curl -X POST" in page and "Create the project's pipeline" in page


@pytest.mark.django_db
def test_integration_guide_uses_the_pipeline_endpoint(cast, login):
    Pipeline.objects.unscoped().create(
        organization=cast.org_a,
        project=cast.project_a,
        ingestion_endpoint="https://collect.example.com/collect",
    )
    page = login(cast.alice).get("/o/org-a/projects/shop/apps/web/").content.decode()
    assert "endpoint: &#x27;https://collect.example.com/collect&#x27;" in page


@pytest.mark.django_db
def test_time_zones_are_offered_with_their_offset(cast, login):
    form = login(cast.alice).get("/o/org-a/projects/shop/apps/add/").context["form"]
    labels = dict(form.fields["timezone"].choices)
    assert labels["Asia/Shanghai"] == "Asia/Shanghai (UTC +08:00)"
    assert labels["UTC"] == "UTC (UTC +00:00)"

from __future__ import annotations

import pytest

from portal.models import AuditLogEntry


def entries(org, **filters):
    return AuditLogEntry.objects.for_organization(org).filter(**filters)


@pytest.mark.django_db
def test_ui_changes_are_logged_with_before_and_after(cast, login):
    client = login(cast.alice)
    client.post("/o/org-a/projects/shop/edit/", {"name": "Shop v2", "emails": "ops@example.com"})
    entry = entries(cast.org_a, action="update", object_type="project").get()
    assert (entry.source, entry.actor, entry.actor_label) == ("ui", cast.alice, "alice@example.com")
    assert entry.changes == {"name": ["Shop", "Shop v2"]}


@pytest.mark.django_db
def test_api_changes_are_logged(cast, api):
    client = api(cast.olivia, cast.org_a)
    client.post(
        "/api/v1/organizations/org-a/projects/",
        {"project_id": "blog", "name": "Blog", "emails": "a@example.com"},
        format="json",
    )
    client.delete("/api/v1/organizations/org-a/projects/blog/")
    created = entries(cast.org_a, action="create", object_repr="blog").get()
    deleted = entries(cast.org_a, action="delete", object_repr="blog").get()
    assert created.source == deleted.source == "api"
    assert created.actor == deleted.actor == cast.olivia
    assert created.changes["name"] == [None, "Blog"]
    assert deleted.changes["name"] == ["Blog", None]


@pytest.mark.django_db
def test_admin_changes_are_logged(cast, staff_client):
    client = staff_client
    response = client.post(
        f"/admin/projects/project/{cast.project_a.pk}/change/",
        {
            "name": "Renamed by support",
            "emails": "ops@example.com",
            "environment": "Prod",
            "apps-TOTAL_FORMS": 1,
            "apps-INITIAL_FORMS": 1,
            "apps-0-id": cast.app_a.pk,
            "apps-0-project": cast.project_a.pk,
            "apps-0-app_id": "web",
            "apps-0-name": "Web",
            "apps-0-timezone": "UTC",
            "apps-0-platforms": "[]",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    entry = entries(cast.org_a, action="update", object_type="project").get()
    assert entry.source == "admin"
    assert entry.changes["name"] == ["Shop", "Renamed by support"]
    assert entry.changes["environment"] == ["", "Prod"]


@pytest.mark.django_db
def test_audit_log_is_scoped_and_filterable(cast, api, login):
    api(cast.carol, cast.org_b).patch(
        "/api/v1/organizations/org-b/projects/shop/", {"name": "B"}, format="json"
    )
    body = api(cast.alice, cast.org_a).get("/api/v1/organizations/org-a/audit-log/?action=update").json()
    assert body["count"] == 0  # org B's change is not in org A's log
    body = api(cast.carol, cast.org_b).get("/api/v1/organizations/org-b/audit-log/?action=update").json()
    assert [r["object_repr"] for r in body["results"]] == ["shop"]
    page = login(cast.alice).get("/o/org-a/audit-log/?action=create&object_type=app").content.decode()
    assert "alice@example.com" not in page or "web" in page


@pytest.mark.django_db
def test_audit_log_in_admin_is_read_only(cast, staff_client):
    client = staff_client
    entry = entries(cast.org_a).first()
    assert client.get("/admin/portal/auditlogentry/").status_code == 200
    assert client.get("/admin/portal/auditlogentry/add/").status_code == 403
    client.post(f"/admin/portal/auditlogentry/{entry.pk}/change/", {"object_repr": "tampered"})
    entry.refresh_from_db()
    assert entry.object_repr != "tampered"
    assert client.post(f"/admin/portal/auditlogentry/{entry.pk}/delete/", {"post": "yes"}).status_code == 403


@pytest.mark.django_db
def test_log_names_related_objects_and_keeps_bookkeeping_out(cast, api):
    api(cast.alice, cast.org_a).post(
        "/api/v1/organizations/org-a/projects/shop/apps/", {"app_id": "ios", "name": "iOS"}, format="json"
    )
    changes = entries(cast.org_a, action="create", object_repr="ios").get().changes
    assert changes["project"] == [None, "shop"]
    assert not {"uuid", "organization", "created", "project_id"} & set(changes)

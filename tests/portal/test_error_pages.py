"""403, 404 and 500 answers: pages in the portal's layout with a way back, `{"detail": …}` under /api/."""

from __future__ import annotations

import pytest
from django.test import Client


def in_layout(response) -> bool:  # type: ignore[no-untyped-def]
    """Our layout: base.html's navbar brand and our stylesheet, not Django's plain or debug page."""
    page = response.content.decode()
    return 'class="navbar-brand"' in page and "css/portal.css" in page and "Traceback" not in page


@pytest.mark.django_db
def test_forbidden_page_is_in_the_layout_with_a_way_back(cast, login):
    response = login(cast.bob).get("/o/org-a/members/")  # a reader: a member without the role
    assert response.status_code == 403
    assert in_layout(response)
    page = response.content.decode()
    assert "Your roles in this organization do not allow this." in page
    assert 'href="/o/org-a/"' in page  # back to the organization bob is a member of


@pytest.mark.django_db
def test_not_found_page_is_in_the_layout_and_hides_the_resolver_detail(cast, login):
    response = login(cast.alice).get("/no/such/page/")
    assert response.status_code == 404
    assert in_layout(response)
    page = response.content.decode()
    assert "There is no page at this address." in page and 'href="/"' in page
    assert "tried" not in page and "urlpatterns" not in page.lower()


@pytest.mark.django_db
def test_outsiders_get_the_same_not_found_page(cast, login):
    response = login(cast.carol).get("/o/org-a/projects/")
    assert response.status_code == 404 and in_layout(response)
    assert "/o/org-a/" not in response.content.decode().replace("<code>/o/org-a/projects/</code>", "")


@pytest.mark.django_db
def test_api_errors_are_json(cast, api):
    client = api(cast.alice, cast.org_a)
    response = client.get("/api/v1/no-such-endpoint/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert set(response.json()) == {"detail"}


@pytest.mark.django_db
@pytest.mark.urls("tests.portal.error_urls")
def test_server_error_page_is_in_the_layout(cast):
    client = Client(raise_request_exception=False)
    client.force_login(cast.alice)
    response = client.get("/boom/")
    assert response.status_code == 500
    assert in_layout(response)
    assert "Something went wrong on our side" in response.content.decode()
    assert "a bug" not in response.content.decode()


@pytest.mark.django_db
@pytest.mark.urls("tests.portal.error_urls")
def test_server_error_under_api_is_json():
    response = Client(raise_request_exception=False).get("/api/v1/boom/")
    assert response.status_code == 500
    assert response.json() == {"detail": "A server error occurred."}


@pytest.mark.django_db
def test_expired_form_is_in_the_layout(cast):
    client = Client(enforce_csrf_checks=True)
    client.force_login(cast.alice)
    response = client.post("/o/org-a/projects/add/", {"name": "x"})
    assert response.status_code == 403
    assert in_layout(response) and "This form has expired" in response.content.decode()


@pytest.mark.django_db
def test_the_server_error_page_does_not_touch_the_database(rf, django_assert_num_queries):
    """The 500 page may be answering a database failure: it renders without the context processors."""
    from portal.views.errors import server_error

    request = rf.get("/o/org-a/projects/")
    with django_assert_num_queries(0):
        response = server_error(request)
    assert response.status_code == 500 and b'class="navbar-brand"' in response.content

"""The portal's chrome: the current page highlighted, a favicon, no placeholder menu items, empty lists
that explain themselves, and sort links that keep the filters."""

from __future__ import annotations

import re

import pytest


def nav_links(page: str) -> dict[str, str]:
    """Navigation label → its classes."""
    return {
        label: classes
        for classes, label in re.findall(r'<a class="(nav-link[^"]*)" href="[^"]*">([^<]+)</a>', page)
    }


@pytest.mark.django_db
def test_the_current_page_is_highlighted(cast, login):
    client = login(cast.alice)
    links = nav_links(client.get("/o/org-a/projects/shop/apps/web/").content.decode())
    assert "active" in links["Projects"].split()
    assert "active" not in links["Audit log"].split()
    links = nav_links(client.get("/o/org-a/audit-log/").content.decode())
    assert "active" in links["Audit log"].split() and "active" not in links["Projects"].split()


@pytest.mark.django_db
def test_favicon_is_linked_and_served(cast, login):
    page = login(cast.alice).get("/o/org-a/").content.decode()
    href = re.search(r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">', page).group(1)
    response = login(cast.alice).get(href)
    assert response.status_code == 200
    assert b"<svg" in b"".join(response.streaming_content if response.streaming else [response.content])


@pytest.mark.django_db
def test_menu_shows_no_placeholders(cast, login):
    page = login(cast.alice).get("/o/org-a/").content.decode()
    assert "nav-link disabled" not in page and "Arrives with" not in page
    assert set(nav_links(page)) >= {"Projects", "Jobs", "Members", "Audit log", "API tokens"}


@pytest.mark.django_db
def test_an_empty_list_says_what_it_is_for_and_how_to_add_the_first(cast, login):
    cast.app_a.delete()
    page = login(cast.alice).get("/o/org-a/projects/shop/apps/").content.decode()
    empty = page[page.index('id="empty-list"') :]
    assert "Register each web site, Android or iOS app" in empty
    assert 'href="/o/org-a/projects/shop/apps/add/"' in empty and "Add the first app" in empty


@pytest.mark.django_db
def test_readers_are_not_offered_the_add_button_on_an_empty_list(cast, login):
    cast.app_a.delete()
    page = login(cast.ann).get("/o/org-a/projects/shop/apps/").content.decode()
    assert "Register each web site" in page and "/apps/add/" not in page


@pytest.mark.django_db
def test_an_empty_filtered_list_says_so(cast, login):
    page = login(cast.alice).get("/o/org-a/projects/?q=nothing-like-this").content.decode()
    assert "Nothing matches these filters." in page and "A project is a product" not in page


@pytest.mark.django_db
def test_sort_links_keep_the_filters_url_encoded(cast, login):
    page = login(cast.alice).get(
        "/o/org-a/projects/", {"q": "sh op&x=1", "environment": "", "per_page": "50"}
    )
    hrefs = re.findall(r'<th><a href="\?([^"]+)"', page.content.decode())
    assert hrefs, "no sort links"
    for href in hrefs:
        assert href.startswith("q=sh+op%26x%3D1&amp;environment=&amp;per_page=50&amp;sort="), href


@pytest.mark.django_db
def test_empty_project_and_organization_pages_explain_themselves(cast, login):
    cast.app_a.delete()
    page = login(cast.alice).get("/o/org-a/projects/shop/").content.decode()
    empty = page[page.index('id="empty-list"') :]
    assert "Register each web site" in empty and 'href="/o/org-a/projects/shop/apps/add/"' in empty
    cast.project_a.delete()
    page = login(cast.ann).get("/o/org-a/").content.decode()
    empty = page[page.index('id="empty-list"') :]
    assert "A project is a product you measure" in empty and "An admin or operator can create one." in empty


@pytest.mark.django_db
def test_the_start_page_of_analytics_roles_has_no_developer_note(cast, login):
    page = login(cast.bob).get("/o/org-a/").content.decode()
    assert "arrives soon" not in page and "can give you a role that sees its projects" in page

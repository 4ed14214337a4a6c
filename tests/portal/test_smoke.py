from __future__ import annotations

import pytest


@pytest.mark.django_db
def test_pages_render_for_admin(cast, login):
    client = login(cast.alice)
    for url in [
        "/",
        "/o/org-a/",
        "/o/org-a/projects/",
        "/o/org-a/projects/shop/",
        "/o/org-a/projects/shop/apps/web/",
        "/o/org-a/members/",
        "/o/org-a/audit-log/",
        "/o/org-a/tokens/",
        "/o/org-a/projects/add/",
        "/o/org-a/projects/shop/apps/add/",
        "/api/v1/organizations/org-a/projects/",
        "/api/v1/schema/",
        "/api/v1/docs/",
    ]:
        response = client.get(url, follow=True)
        assert response.status_code == 200, (url, response.content[:2000])

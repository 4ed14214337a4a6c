"""The SDK integration guide follows the app's platforms: their tabs only, the first one active, the HTTP
example with the platform's value, and the original's amplifyconfiguration.json for Android and iOS."""

from __future__ import annotations

import json
import re

import pytest

from pipelines.models import Pipeline

APP_PAGE = "/o/org-a/projects/shop/apps/web/"


def tabs(page: str) -> list[tuple[str, bool]]:
    """(label, active) of each SDK tab, in order."""
    found = re.findall(r'<button class="nav-link( active)?" id="sdk-tab-\d+"[^>]*>([^<]+)</button>', page)
    return [(label, bool(active)) for active, label in found]


def set_platforms(app, platforms):  # type: ignore[no-untyped-def]
    app.platforms = platforms
    app.save()


@pytest.mark.django_db
def test_only_the_apps_platforms_have_tabs_and_the_first_is_active(cast, login):
    set_platforms(cast.app_a, ["iOS", "Android"])
    page = login(cast.ann).get(APP_PAGE).content.decode()
    assert tabs(page) == [("iOS", True), ("Android", False), ("HTTP API", False)]
    assert "@aws/clickstream-web" not in page  # no Web tab for a mobile app
    assert 'id="sdk-1" role="tabpanel"' in page and 'tab-pane fade show active" id="sdk-1"' in page


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("platform", "label", "needle"),
    [
        ("Flutter", "Flutter", "flutter pub add clickstream_analytics"),
        ("ReactNative", "React Native", "@aws/clickstream-react-native"),
        ("WeChatMP", "WeChat Mini Program", "clickstream-wechat"),
        ("Web", "Web", "@aws/clickstream-web"),
    ],
)
def test_each_sdk_is_set_up_with_the_apps_id_and_endpoint(cast, login, platform, label, needle):
    Pipeline.objects.unscoped().create(
        organization=cast.org_a,
        project=cast.project_a,
        ingestion_endpoint="https://collect.example.com/collect",
    )
    set_platforms(cast.app_a, [platform])
    page = login(cast.ann).get(APP_PAGE).content.decode()
    assert tabs(page)[0] == (label, True)
    first = page[page.index('id="sdk-code-1"') : page.index('id="sdk-2"')]
    assert needle in first
    assert re.search(r"appId: (&quot;|&#x27;)web(&quot;|&#x27;)", first)
    assert "https://collect.example.com/collect" in first


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("platforms", "query_platform"),
    [(["Web"], "Web"), (["iOS"], "iOS"), (["WeChatMP"], "WeChatMP"), (["Flutter"], "Android")],
)
def test_the_http_example_names_the_apps_platform(cast, login, platforms, query_platform):
    set_platforms(cast.app_a, platforms)
    page = login(cast.ann).get(APP_PAGE).content.decode()
    http = page[page.index('id="sdk-code-2"') :]
    assert (
        f"platform={query_platform}&amp;" in http
        and f"&quot;platform&quot;: &quot;{query_platform}&quot;" in http
    )


@pytest.mark.django_db
def test_an_app_without_platforms_shows_every_sdk(cast, login):
    page = login(cast.alice).get(APP_PAGE).content.decode()
    labels = [label for label, _ in tabs(page)]
    assert labels == ["Web", "Android", "iOS", "Flutter", "React Native", "WeChat Mini Program", "HTTP API"]
    assert 'id="guide-all-platforms"' in page and "Choose its platforms" in page


@pytest.mark.django_db
def test_android_and_ios_offer_the_configuration_file(cast, login):
    set_platforms(cast.app_a, ["Android", "Web"])
    page = login(cast.ann).get(APP_PAGE).content.decode()
    android = page[page.index('id="sdk-1"') : page.index('id="sdk-2"')]
    web = page[page.index('id="sdk-2"') : page.index('id="sdk-3"')]
    url = "/o/org-a/projects/shop/apps/web/amplifyconfiguration.json"
    assert f'href="{url}"' in android and url not in web


@pytest.mark.django_db
def test_the_configuration_file_has_the_apps_id_and_endpoint(cast, login):
    Pipeline.objects.unscoped().create(
        organization=cast.org_a,
        project=cast.project_a,
        ingestion_endpoint="https://collect.example.com/collect",
    )
    response = login(cast.ann).get("/o/org-a/projects/shop/apps/web/amplifyconfiguration.json")
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="amplifyconfiguration.json"'
    assert json.loads(response.content) == {
        "UserAgent": "aws-solution/clickstream",
        "Version": "1.0",
        "analytics": {
            "plugins": {
                "awsClickstreamPlugin": {
                    "appId": "web",
                    "endpoint": "https://collect.example.com/collect",
                    "isCompressEvents": True,
                    "autoFlushEventsInterval": 10000,
                    "isTrackAppExceptionEvents": False,
                }
            }
        },
    }


@pytest.mark.django_db
def test_the_configuration_file_is_the_organizations_own(cast, login):
    assert (
        login(cast.carol).get("/o/org-a/projects/shop/apps/web/amplifyconfiguration.json").status_code == 404
    )
    assert login(cast.bob).get("/o/org-a/projects/shop/apps/web/amplifyconfiguration.json").status_code == 403


@pytest.mark.django_db
def test_the_api_serves_the_same_configuration(cast, api, login):
    response = api(cast.ann, cast.org_a).get("/api/v1/organizations/org-a/projects/shop/apps/web/sdk-config/")
    assert response.status_code == 200
    page = login(cast.ann).get("/o/org-a/projects/shop/apps/web/amplifyconfiguration.json")
    assert response.json() == json.loads(page.content)
    assert response.json()["analytics"]["plugins"]["awsClickstreamPlugin"]["endpoint"].startswith("https://<")
    assert (
        api(cast.carol, cast.org_b)
        .get("/api/v1/organizations/org-a/projects/shop/apps/web/sdk-config/")
        .status_code
        == 404
    )


@pytest.mark.django_db
def test_admin_shows_the_configuration(cast, staff_client):
    page = staff_client.get(f"/admin/projects/app/{cast.app_a.pk}/change/").content.decode()
    assert "amplifyconfiguration.json" in page and "&quot;appId&quot;: &quot;web&quot;" in page


@pytest.mark.django_db
def test_platforms_are_shown_by_their_names(cast, login):
    set_platforms(cast.app_a, ["ReactNative", "WeChatMP"])
    client = login(cast.ann)
    for url in (APP_PAGE, "/o/org-a/projects/shop/", "/o/org-a/projects/shop/apps/"):
        page = client.get(url).content.decode()
        assert "React Native, WeChat Mini Program" in page and "ReactNative" not in page.replace(
            'data-platform="ReactNative"', ""
        ), url

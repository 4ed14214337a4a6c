"""The Alarms page, its API and admin: every project's alarms, filtered by project and state, and their
actions turned on or off in CloudWatch by Admins and Operators only (moto models Enable/DisableAlarmActions;
a refusal is driven with botocore's Stubber)."""

from __future__ import annotations

import pytest
from botocore.stub import Stubber
from django.urls import reverse
from moto import mock_aws

from pipelines.models import Alarm
from portal import aws
from provisioning.aws import refresh
from tests.provisioning.aws.monitoring import (
    REGION,
    account_for,
    aws_env,  # noqa: F401  (fixture)
    session_of,
    settled_pipeline,
    stacks_for,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("aws_env")]


def _alarm(pipeline, name: str, state: str = "OK") -> Alarm:  # type: ignore[no-untyped-def]
    return Alarm.objects.unscoped().create(
        organization=pipeline.organization, pipeline=pipeline, region=REGION, state=state,
        name=f"Clickstream|{pipeline.project.project_id} {name}_1a2b3c4d", reason=f"{name} is {state}",
    )  # fmt: skip


def test_the_page_shows_every_project_of_the_organization_and_filters(cast, login):
    account = account_for(cast.org_a)
    web = settled_pipeline(cast.org_a, account, "web")
    app = settled_pipeline(cast.org_a, account, "app")
    _alarm(web, "No Data Loaded", "ALARM")
    _alarm(app, "ECS Cluster CPUUtilization", "OK")
    other = settled_pipeline(cast.org_b, account_for(cast.org_b, "210987654321"), "theirs")
    _alarm(other, "Their Alarm", "ALARM")
    client = login(cast.ann)  # an analyst may look
    url = reverse("provisioning:alarms", kwargs={"org": "org-a"})
    page = client.get(url).content.decode()
    assert "No Data Loaded_1a2b3c4d" in page and "ECS Cluster CPUUtilization_1a2b3c4d" in page
    assert "Their Alarm" not in page
    assert 'data-state="ALARM">In alarm <span class="badge text-bg-warning">1</span>' in page
    assert "alarmsV2:alarm/Clickstream%7Cweb%20No%20Data%20Loaded_1a2b3c4d" in page
    only_alarm = client.get(url, {"state": "ALARM"}).content.decode()
    assert "No Data Loaded" in only_alarm and "ECS Cluster CPUUtilization_" not in only_alarm
    only_app = client.get(url, {"project": "app"}).content.decode()
    assert "ECS Cluster CPUUtilization_" in only_app and "No Data Loaded" not in only_app
    wrong = client.get(url, {"state": "BROKEN"}).content.decode()
    assert "Fix the filters" in wrong and "No Data Loaded" not in wrong
    nav = client.get(reverse("org_home", kwargs={"org": "org-a"})).content.decode()
    assert f'href="{url}"' in nav


def test_the_api_lists_and_filters_within_the_organization(cast, api):
    account = account_for(cast.org_a)
    _alarm(settled_pipeline(cast.org_a, account, "web"), "No Data Loaded", "ALARM")
    _alarm(settled_pipeline(cast.org_b, account_for(cast.org_b, "210987654321"), "theirs"), "Theirs", "ALARM")
    body = (
        api(cast.ann, cast.org_a)
        .get(reverse("api:alarm-list", kwargs={"org": "org-a"}), {"state": "ALARM"})
        .json()
    )
    assert [(r["project_id"], r["short_name"], r["state"]) for r in body["results"]] == [
        ("web", "No Data Loaded_1a2b3c4d", "ALARM")
    ]
    assert body["results"][0]["console_url"].startswith(
        "https://us-east-1.console.aws.amazon.com/cloudwatch/"
    )
    bad = api(cast.ann, cast.org_a).get(
        reverse("api:alarm-list", kwargs={"org": "org-a"}), {"state": "BROKEN"}
    )
    assert bad.status_code == 400 and "state" in bad.json()
    theirs = Alarm.objects.unscoped().get(pipeline__organization=cast.org_b)
    url = reverse("api:alarm-detail", kwargs={"org": "org-a", "uuid": theirs.uuid})
    assert api(cast.alice, cast.org_a).get(url).status_code == 404


def test_operators_toggle_actions_in_cloudwatch_and_analysts_cannot(cast, login, api):
    with mock_aws():
        account = account_for(cast.org_a)
        pipeline = settled_pipeline(cast.org_a, account, "toggle")
        stacks_for(pipeline)
        refresh.account_refresh(account=account, log=print)
        alarm = pipeline.alarms.get()
        cloudwatch = aws.aws_client(session_of(pipeline), "cloudwatch")

        def enabled_in_aws() -> bool:
            return cloudwatch.describe_alarms(AlarmNames=[alarm.name])["MetricAlarms"][0]["ActionsEnabled"]

        assert enabled_in_aws() and alarm.actions_enabled
        kwargs = {"org": "org-a", "pk": alarm.uuid}
        # An analyst sees the alarm, but no button, and may not toggle it (UI or API).
        detail = login(cast.ann).get(alarm.get_absolute_url()).content.decode()
        assert 'id="alarm-console"' in detail and 'id="alarm-disable"' not in detail
        assert login(cast.ann).post(reverse("provisioning:alarm_disable", kwargs=kwargs)).status_code == 403
        api_disable = reverse("api:alarm-disable", kwargs={"org": "org-a", "uuid": alarm.uuid})
        assert api(cast.ann, cast.org_a).post(api_disable).status_code == 403
        assert enabled_in_aws()
        # An operator disables it in the UI and enables it again through the API.
        assert 'id="alarm-disable"' in login(cast.olivia).get(alarm.get_absolute_url()).content.decode()
        response = login(cast.olivia).post(reverse("provisioning:alarm_disable", kwargs=kwargs), follow=True)
        assert (
            "Disabled the actions" in response.content.decode()
            and 'id="alarm-enable"' in response.content.decode()
        )
        alarm.refresh_from_db()
        assert not enabled_in_aws() and not alarm.actions_enabled
        api_enable = reverse("api:alarm-enable", kwargs={"org": "org-a", "uuid": alarm.uuid})
        body = api(cast.olivia, cast.org_a).post(api_enable)
        assert body.status_code == 200 and body.json()["actions_enabled"] is True
        assert enabled_in_aws()
        # A read-only token may not either.
        assert api(cast.alice, cast.org_a, read_only=True).post(api_disable).status_code == 403


def test_a_refusal_by_aws_is_shown_with_its_reason(cast, login, api, monkeypatch):
    alarm = _alarm(settled_pipeline(cast.org_a, account_for(cast.org_a), "denied"), "No Data Loaded")
    cloudwatch = aws.base_session(region=REGION).client("cloudwatch", region_name=REGION)
    monkeypatch.setattr(aws, "aws_session", lambda **kw: None)
    monkeypatch.setattr(aws, "aws_client", lambda session, service, **kw: cloudwatch)
    with Stubber(cloudwatch) as stub:
        message = "User is not authorized to perform: cloudwatch:DisableAlarmActions"
        stub.add_client_error("disable_alarm_actions", "AccessDenied", message, 403)
        stub.add_client_error("disable_alarm_actions", "AccessDenied", message, 403)
        url = reverse("provisioning:alarm_disable", kwargs={"org": "org-a", "pk": alarm.uuid})
        page = login(cast.alice).post(url, follow=True).content.decode()
        assert "CloudWatch refused to disable the actions of No Data Loaded_1a2b3c4d: AccessDenied" in page
        response = api(cast.alice, cast.org_a).post(
            reverse("api:alarm-disable", kwargs={"org": "org-a", "uuid": alarm.uuid})
        )
        assert response.status_code == 502 and "not authorized" in response.json()["detail"]
    alarm.refresh_from_db()
    assert alarm.actions_enabled


def test_an_alarm_of_a_disconnected_account_says_what_to_do(cast, api):
    account = account_for(cast.org_a)
    alarm = _alarm(settled_pipeline(cast.org_a, account, "orphan"), "No Data Loaded")
    account.delete()
    response = api(cast.alice, cast.org_a).post(
        reverse("api:alarm-enable", kwargs={"org": "org-a", "uuid": alarm.uuid})
    )
    assert response.status_code == 502 and "connect it again under AWS accounts" in response.json()["detail"]


def test_admin_shows_alarms_and_subscriptions_read_only(cast, staff_client):
    alarm = _alarm(settled_pipeline(cast.org_a, account_for(cast.org_a), "adm"), "No Data Loaded", "ALARM")
    listing = staff_client.get(reverse("admin:pipelines_alarm_changelist")).content.decode()
    assert "No Data Loaded_1a2b3c4d" in listing
    detail = staff_client.get(reverse("admin:pipelines_alarm_change", args=[alarm.pk])).content.decode()
    assert alarm.console_url.replace("&", "&amp;") in detail and 'name="_save"' not in detail
    assert staff_client.get(reverse("admin:pipelines_alarmsubscription_changelist")).status_code == 200

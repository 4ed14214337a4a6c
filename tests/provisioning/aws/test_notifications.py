"""The project's notification e-mails kept in sync with its alarm topic: new ones subscribed, removed ones
unsubscribed, pending confirmations shown.

moto models Subscribe, Unsubscribe and ListSubscriptionsByTopic, but confirms every e-mail subscription at
once; the pending confirmations are driven with botocore's Stubber and SNS-shaped answers.
"""

from __future__ import annotations

import pytest
from botocore.stub import Stubber
from django.urls import reverse
from moto import mock_aws

from pipelines.models import AlarmSubscription
from portal import aws
from portal.choices import JobStatus
from portal.jobs import job_run
from portal.models import Job
from provisioning.aws import notifications
from provisioning.tasks import NOTIFICATIONS_KIND
from tests.provisioning.aws.monitoring import (
    REGION,
    account_for,
    aws_env,  # noqa: F401  (fixture)
    counting_calls,
    session_of,
    settled_pipeline,
    stacks_for,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("aws_env")]


def _topic_emails(pipeline) -> set[str]:  # type: ignore[no-untyped-def]
    sns = aws.aws_client(session_of(pipeline), "sns")
    return set(notifications.topic_subscriptions(sns, notifications.topic_arn(pipeline)))


def test_changed_emails_reach_the_topic_in_a_job_never_in_the_request(cast, login, monkeypatch,
                                                                      django_capture_on_commit_callbacks):  # fmt: skip
    """Removed addresses are unsubscribed: the original subscribes and never unsubscribes (§4.3, quirk 23)."""
    with mock_aws():
        account = account_for(cast.org_a)
        pipeline = settled_pipeline(cast.org_a, account, "mail", emails="ops@example.com, old@example.com")
        stacks_for(pipeline)
        assert _topic_emails(pipeline) == {"ops@example.com", "old@example.com"}
        project = pipeline.project
        url = reverse("projects:project_edit", kwargs={"org": "org-a", "project": "mail"})
        form = {"name": "Mail", "emails": "ops@example.com, New@Example.com", "environment": ""}
        with (
            counting_calls(monkeypatch) as calls,
            django_capture_on_commit_callbacks(execute=False) as callbacks,
        ):
            assert login(cast.olivia).post(url, form).status_code == 302
        assert not calls  # the request itself called no AWS
        for callback in callbacks:  # the commit: the job is recorded and queued
            callback()
        job = Job.objects.unscoped().get(kind=NOTIFICATIONS_KIND)
        assert job.object_id == str(pipeline.pk)
        if job.status == JobStatus.PENDING:  # the queue runs tasks inline in tests; run it if it has not
            job_run(job.pk)
        job.refresh_from_db()
        assert job.status == JobStatus.SUCCEEDED, job.error
        assert _topic_emails(pipeline) == {"ops@example.com", "new@example.com"}
        rows = dict(
            AlarmSubscription.objects.unscoped().filter(pipeline=pipeline).values_list("email", "state")
        )
        assert rows == {"ops@example.com": "confirmed", "new@example.com": "pending"}
        project.refresh_from_db()
        assert project.email_list == ["ops@example.com", "New@Example.com"]


def test_saving_a_project_without_changing_its_emails_starts_nothing(
    cast, django_capture_on_commit_callbacks
):
    with mock_aws():
        pipeline = settled_pipeline(cast.org_a, account_for(cast.org_a), "same")
        with django_capture_on_commit_callbacks(execute=True):
            pipeline.project.name = "Renamed"
            pipeline.project.save()
            cast.project_a.emails = "someone@example.com"  # a local pipeline's project: no topic to sync
            cast.project_a.save()
    assert not Job.objects.unscoped().filter(kind=NOTIFICATIONS_KIND).exists()


def _listing(topic: str, *subs: tuple[str, str]) -> dict:
    return {"Subscriptions": [{"SubscriptionArn": arn, "Owner": "123456789012", "Protocol": "email",
                               "Endpoint": email, "TopicArn": topic} for email, arn in subs]}  # fmt: skip


def test_pending_confirmations_are_shown_and_never_unsubscribed(cast, login):
    """SNS lists an unconfirmed subscription with the ARN `PendingConfirmation` and cannot unsubscribe it:
    a removed address still pending is shown as such, a new one as waiting (Stubber: moto confirms at once)."""
    with mock_aws():
        account = account_for(cast.org_a)
        pipeline = settled_pipeline(cast.org_a, account, "pend", emails="ops@example.com, new@example.com")
        topic = notifications.topic_arn(pipeline)
    sns = aws.base_session(region=REGION).client("sns", region_name=REGION)
    confirmed = f"{topic}:0d7c1f3e-1111-4000-8000-000000000001"
    gone = f"{topic}:0d7c1f3e-2222-4000-8000-000000000002"
    with Stubber(sns) as stub:
        stub.add_response("list_subscriptions_by_topic", _listing(
            topic, ("ops@example.com", confirmed), ("old@example.com", "PendingConfirmation"), ("gone@example.com", gone),
        ), {"TopicArn": topic})  # fmt: skip
        stub.add_response("subscribe", {"SubscriptionArn": f"{topic}:0d7c1f3e-3333-4000-8000-000000000003"},
                          {"TopicArn": topic, "Protocol": "email", "Endpoint": "new@example.com",
                           "ReturnSubscriptionArn": True})  # fmt: skip
        stub.add_response("unsubscribe", {}, {"SubscriptionArn": gone})
        # No Unsubscribe of old@example.com: the Stubber fails on any call not listed here.
        assert notifications.notifications_sync(pipeline=pipeline, sns=sns, log=print) == 3
        stub.assert_no_pending_responses()
    rows = dict(AlarmSubscription.objects.unscoped().filter(pipeline=pipeline).values_list("email", "state"))
    assert rows == {
        "ops@example.com": "confirmed",
        "new@example.com": "pending",
        "old@example.com": "unsubscribed",
    }
    page = login(cast.ann).get(reverse("provisioning:alarms", kwargs={"org": "org-a"})).content.decode()
    assert 'id="pending-subscriptions"' in page
    assert 'data-email="new@example.com"' in page and 'data-email="old@example.com"' in page
    assert 'data-email="ops@example.com"' not in page
    status = login(cast.ann).get(reverse("provisioning:status", kwargs={"org": "org-a", "project": "pend"}))
    assert "Waiting for the recipient to confirm" in status.content.decode()
    # Confirmed later: the next listing says so, and nothing is pending any more.
    with Stubber(sns) as stub:
        stub.add_response("list_subscriptions_by_topic", _listing(
            topic, ("ops@example.com", confirmed), ("new@example.com", f"{topic}:0d7c1f3e-3333-4000-8000-000000000003"),
        ), {"TopicArn": topic})  # fmt: skip
        notifications.notifications_sync(pipeline=pipeline, sns=sns, log=print)
    assert (
        not AlarmSubscription.objects.unscoped().filter(pipeline=pipeline).exclude(state="confirmed").exists()
    )
    api = login(cast.ann).get(reverse("api:alarmsubscription-list", kwargs={"org": "org-a"})).json()
    assert {r["email"]: r["pending"] for r in api["results"]} == {
        "new@example.com": False,
        "ops@example.com": False,
    }

"""SNS: the project's notification e-mails kept in sync with its pipeline's alarm topic.

New addresses are subscribed (each recipient must confirm by e-mail), removed ones unsubscribed — the
original subscribes and never unsubscribes (`spec/control-plane.md` §4.3). A subscription still waiting for
its confirmation cannot be unsubscribed (SNS has no ARN for it yet): it is shown as such until it lapses.
Runs as a job when the project's addresses change, when the Metrics stack (the topic) is created or updated,
and on every scheduled refresh. The Metrics template subscribes no one itself (its stack would fight this).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.utils import timezone

from pipelines.choices import SubscriptionState
from pipelines.models import AlarmSubscription, Pipeline
from provisioning.aws.common import alarm_topic_name
from provisioning.aws.target import pipeline_account, pipeline_region

PENDING = "PendingConfirmation"  # what SNS lists as the ARN of an unconfirmed subscription


def topic_arn(pipeline: Pipeline) -> str:
    """The Metrics stack's topic, by the fixed name its template gives it (unique to the pipeline)."""
    account = pipeline_account(pipeline)
    name = alarm_topic_name(project_id=pipeline.project.project_id, pipeline_id=pipeline.pipeline_id)
    return f"arn:{account.partition}:sns:{pipeline_region(pipeline)}:{account.account_id}:{name}"


def topic_subscriptions(sns: Any, topic: str) -> dict[str, str]:
    """The topic's e-mail subscriptions: address (lower case) → subscription ARN, or `PendingConfirmation`."""
    found: dict[str, str] = {}
    for page in sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=topic):
        for subscription in page["Subscriptions"]:
            if subscription["Protocol"] == "email":
                found[subscription["Endpoint"].lower()] = subscription["SubscriptionArn"]
    return found


def notifications_sync(*, pipeline: Pipeline, sns: Any, log: Callable[..., Any]) -> int:
    """Subscribe the project's new addresses, unsubscribe removed ones, record each; returns how many."""
    topic = topic_arn(pipeline)
    current = topic_subscriptions(sns, topic)
    wanted = {e.lower(): e for e in pipeline.project.email_list}
    states: dict[str, tuple[str, str]] = {}
    for email in sorted(wanted.keys() - current.keys()):
        arn = sns.subscribe(
            TopicArn=topic, Protocol="email", Endpoint=wanted[email], ReturnSubscriptionArn=True
        )
        states[email] = (SubscriptionState.PENDING, arn.get("SubscriptionArn", ""))
        log(f"subscribed {wanted[email]} to {topic}; it must be confirmed from the e-mail AWS sends")
    for email in sorted(current.keys() - wanted.keys()):
        if current[email] == PENDING:
            states[email] = (SubscriptionState.UNSUBSCRIBED, "")
            continue
        sns.unsubscribe(SubscriptionArn=current[email])
        log(f"unsubscribed {email} from {topic}: it is no longer one of the project's addresses")
    for email in wanted.keys() & current.keys():
        arn = current[email]
        states[email] = (
            (SubscriptionState.PENDING, "") if arn == PENDING else (SubscriptionState.CONFIRMED, arn)
        )
    _record(pipeline, states)
    return len(states)


def _record(pipeline: Pipeline, states: dict[str, tuple[str, str]]) -> None:
    now = timezone.now()
    rows = AlarmSubscription.objects.for_organization(pipeline.organization).filter(pipeline=pipeline)
    with transaction.atomic():
        rows.exclude(email__in=list(states)).delete()
        for email, (state, arn) in states.items():
            rows.update_or_create(
                organization=pipeline.organization, pipeline=pipeline, email=email,
                defaults={"state": state, "arn": arn if arn != PENDING else "", "refreshed": now},
            )  # fmt: skip

from __future__ import annotations

from django.db import models


class Provider(models.TextChoices):
    AWS = "aws", "AWS (CloudFormation in your account)"
    LOCAL = "local", "Local (this machine)"


class AlarmState(models.TextChoices):
    """CloudWatch's alarm states (`StateValue`), with the badge the original gives each (§4.2)."""

    OK = "OK", "OK"
    ALARM = "ALARM", "In alarm"
    INSUFFICIENT_DATA = "INSUFFICIENT_DATA", "Insufficient data"

    @property
    def badge(self) -> str:
        return {"OK": "success", "ALARM": "warning"}.get(self.value, "secondary")


class SubscriptionState(models.TextChoices):
    """An e-mail address on a project's alarm topic, as SNS last reported it."""

    CONFIRMED = "confirmed", "Confirmed"
    PENDING = "pending", "Waiting for the recipient to confirm"
    UNSUBSCRIBED = "unsubscribed", "Removed from the project, still pending (it lapses unconfirmed)"
